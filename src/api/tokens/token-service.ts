import type { Clock, TimerHandle } from '../../core/clock.js';
import { kalemError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { TenantStore } from '../../tenancy/ports.js';
import type { TokenRecord, TokenRepository } from './ports.js';
import { isScope, OPERATOR_ONLY_SCOPES, type Scope } from './scopes.js';
import { hashToken, looksLikeToken, newTokenSecret } from './token-secret.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_EXPIRY_DAYS = 3650;
/** Last-use times are written at most this often (one UPDATE batch), never per request. */
const LAST_USED_FLUSH_MS = 10_000;

export interface CreateTokenInput {
  name: string;
  /** An account id or name; absent for an operator token. */
  account?: string;
  scopes: readonly string[];
  /** "90d", "12h", "30m", or "never"; default 90 days. */
  expires?: string;
}

/** Who is making an API request, as established from its bearer token. */
export interface Principal {
  readonly tokenId: string;
  readonly tokenName: string;
  readonly accountId: string | null;
  readonly accountName: string | null;
  readonly scopes: ReadonlySet<Scope>;
}

export type AuthFailure = 'malformed' | 'unknown' | 'expired' | 'revoked';

/**
 * API tokens: created and revoked by an operator with the CLI, checked by the API on every
 * request. Create and revoke write their audit rows in the same transaction. Revocation is read
 * from the database on each request, so it takes effect on the next one.
 */
export class TokenService {
  private readonly pendingUse = new Map<string, string>();
  private flushTimer: TimerHandle | undefined;

  constructor(
    private readonly store: TenantStore,
    private readonly tokens: TokenRepository,
    private readonly clock: Clock,
    private readonly actor: string,
  ) {}

  /** Returns the token (shown once, never stored) and its record. */
  create(input: CreateTokenInput): { token: string; record: TokenRecord } {
    if (!NAME_RE.test(input.name)) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `token names are 1-64 letters, digits, "_", "." or "-", starting with a letter or digit (got "${input.name}")`);
    }
    const scopes = checkScopes(input.scopes, input.account !== undefined);
    const now = this.clock.now();
    const expiresAt = parseExpiry(input.expires ?? '90d', now);
    const token = newTokenSecret();
    const id = newId('tok');
    const record = this.store.transaction(() => {
      let accountId: string | null = null;
      if (input.account !== undefined) {
        const a = this.store.accounts.get(input.account) ?? this.store.accounts.findByName(input.account);
        if (!a) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', input.account);
        accountId = a.id;
      }
      if (this.tokens.findActive(input.name)) throw kalemError('KALEM_ERR_DUPLICATE', `an active token named "${input.name}" already exists`);
      const createdAt = new Date(now).toISOString();
      this.tokens.insert({ id, name: input.name, accountId, scopes, hash: hashToken(token), createdAt, expiresAt });
      this.store.audit.append({
        at: createdAt,
        actor: this.actor,
        accountId,
        action: 'token.create',
        target: id,
        details: { name: input.name, scopes, expiresAt, operator: accountId === null },
      });
      return this.tokens.findActive(id)!;
    });
    return { token, record };
  }

  list(includeRevoked = false): TokenRecord[] {
    return this.tokens.list({ includeRevoked });
  }

  revoke(ref: string): TokenRecord {
    return this.store.transaction(() => {
      const t = this.tokens.findActive(ref);
      if (!t) throw kalemError('KALEM_ERR_UNKNOWN_TOKEN', ref);
      const at = new Date(this.clock.now()).toISOString();
      this.tokens.revoke(t.id, at);
      this.store.audit.append({ at, actor: this.actor, accountId: t.accountId, action: 'token.revoke', target: t.id, details: { name: t.name } });
      return { ...t, revokedAt: at };
    });
  }

  /**
   * Checks a presented bearer token: one indexed read, no write. The last-use time is kept in
   * memory and written in batches (see flushLastUsed), so a request never waits on a write lock.
   */
  authenticate(presented: string): Principal | AuthFailure {
    if (!looksLikeToken(presented)) return 'malformed';
    const t = this.tokens.findByHash(hashToken(presented));
    if (!t) return 'unknown';
    if (t.revokedAt !== null) return 'revoked';
    const now = this.clock.now();
    if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) return 'expired';
    this.pendingUse.set(t.id, new Date(now).toISOString());
    this.flushTimer ??= this.clock.setTimer(LAST_USED_FLUSH_MS, () => {
      this.flushTimer = undefined;
      this.flushLastUsed();
    });
    return { tokenId: t.id, tokenName: t.name, accountId: t.accountId, accountName: t.accountName, scopes: new Set(t.scopes) };
  }

  /**
   * Writes pending last-use times in one statement batch. The repository refuses to wait for a
   * lock; if the database is busy the times stay pending for the next flush.
   */
  flushLastUsed(): void {
    if (this.pendingUse.size === 0) return;
    const uses = [...this.pendingUse].map(([id, at]) => ({ id, at }));
    try {
      this.tokens.touch(uses);
      for (const u of uses) if (this.pendingUse.get(u.id) === u.at) this.pendingUse.delete(u.id);
    } catch {
      this.flushTimer ??= this.clock.setTimer(LAST_USED_FLUSH_MS, () => {
        this.flushTimer = undefined;
        this.flushLastUsed();
      });
    }
  }

  /** Final flush and timer cancel (daemon stop). */
  close(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.flushLastUsed();
  }
}

function checkScopes(raw: readonly string[], forAccount: boolean): Scope[] {
  const scopes = [...new Set(raw.map((s) => s.trim()).filter((s) => s !== ''))];
  if (scopes.length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'a token needs at least one scope (--scope numbers:read,…)');
  for (const s of scopes) {
    if (!isScope(s)) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `unknown scope "${s}"; the scopes are listed by \`kalem token scopes\``);
    if (forAccount && OPERATOR_ONLY_SCOPES.has(s)) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `scope ${s} is for operator tokens only (--operator)`);
    }
  }
  return (scopes as Scope[]).sort();
}

/** "90d" / "12h" / "30m" / "never" → ISO expiry time (or null). */
export function parseExpiry(text: string, nowMs: number): string | null {
  if (text === 'never') return null;
  const m = /^([0-9]{1,5})(d|h|m)$/.exec(text);
  const n = m ? Number(m[1]) : 0;
  const unitMs = m?.[2] === 'd' ? 86_400_000 : m?.[2] === 'h' ? 3_600_000 : 60_000;
  if (!m || n < 1 || n * unitMs > MAX_EXPIRY_DAYS * 86_400_000) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `expiry is a number of days, hours or minutes (90d, 12h, 30m; at most ${MAX_EXPIRY_DAYS}d) or "never" (got "${text}")`);
  }
  return new Date(nowMs + n * unitMs).toISOString();
}

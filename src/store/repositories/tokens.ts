import type { Db } from '../database.js';
import type { NewToken, TokenRecord, TokenRepository } from '../../api/tokens/ports.js';
import type { Scope } from '../../api/tokens/scopes.js';

interface TokenRow {
  id: string;
  name: string;
  account_id: string | null;
  account_name: string | null;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const SELECT = `SELECT t.id, t.name, t.account_id, a.name AS account_name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used_at
  FROM api_tokens t LEFT JOIN accounts a ON a.id = t.account_id`;

function toRecord(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    accountId: r.account_id,
    accountName: r.account_name,
    scopes: JSON.parse(r.scopes) as Scope[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
  };
}

/** API tokens over SQLite. The token's hash is written once and never read back out. */
export class SqliteTokenRepository implements TokenRepository {
  constructor(private readonly db: Db) {}

  insert(t: NewToken): void {
    this.db
      .prepare('INSERT INTO api_tokens (id, name, account_id, scopes, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(t.id, t.name, t.accountId, JSON.stringify(t.scopes), Buffer.from(t.hash), t.createdAt, t.expiresAt);
  }

  findByHash(hash: Uint8Array): TokenRecord | undefined {
    const r = this.db.prepare(`${SELECT} WHERE t.token_hash = ?`).get(Buffer.from(hash)) as TokenRow | undefined;
    return r && toRecord(r);
  }

  findActive(ref: string): TokenRecord | undefined {
    const r = this.db.prepare(`${SELECT} WHERE t.revoked_at IS NULL AND (t.id = ? OR t.name = ?)`).get(ref, ref) as TokenRow | undefined;
    return r && toRecord(r);
  }

  list(filter: { includeRevoked: boolean }): TokenRecord[] {
    const where = filter.includeRevoked ? '' : ' WHERE t.revoked_at IS NULL';
    return (this.db.prepare(`${SELECT}${where} ORDER BY t.created_at, t.id`).all() as TokenRow[]).map(toRecord);
  }

  revoke(id: string, at: string): boolean {
    return this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes === 1;
  }

  /**
   * One transaction for the whole batch, with the busy timeout set to 0 for its duration: if
   * another writer holds the lock, this throws at once (SQLITE_BUSY) instead of stalling the
   * event loop for up to the configured busy timeout. Nothing else runs on this connection
   * between the two pragma calls (better-sqlite3 is synchronous).
   */
  touch(uses: ReadonlyArray<{ id: string; at: string }>): void {
    if (uses.length === 0) return;
    const previous = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      const stmt = this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
      this.db.transaction(() => {
        for (const u of uses) stmt.run(u.at, u.id, u.at);
      }).immediate();
    } finally {
      this.db.pragma(`busy_timeout = ${Math.trunc(previous)}`);
    }
  }
}

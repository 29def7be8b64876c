import type { IncomingCallInfo, DigestResponse } from '../sip/sip-engine.js';
import { cidrContains, parseCidr, type Cidr } from '../tenancy/cidr.js';
import { routableE164 } from '../tenancy/e164.js';
import type { Account, Agent, Trunk } from '../tenancy/model.js';
import type { TenantStore } from '../tenancy/ports.js';
import type { CallRegistry } from './call-registry.js';

/** What admission needs from digest authentication (sip/digest-auth.ts implements it). */
export interface DigestVerifier {
  challenge(realm: string, stale?: boolean): string[];
  verify(input: {
    method: string;
    requestUri: string;
    credentials: DigestResponse;
    password: Uint8Array;
    realm: string;
  }): 'ok' | 'stale' | 'invalid' | 'replay';
}

export interface AdmissionLimits {
  maxCalls: number;
  retryAfterS: number;
  realm: string;
}

export type Admission =
  | { readonly kind: 'accept'; readonly account: Account; readonly agent: Agent; readonly trunk: Trunk; readonly e164: string }
  | {
      readonly kind: 'reject';
      readonly status: number;
      readonly reason: string;
      /** Why, as one of a closed set (a metric label). */
      readonly cause: RejectCause;
      /**
       * The account the refused call concerns, for per-tenant counts: the trunk's account once a
       * trunk is identified, else the dialled number's owner; null when neither is known.
       */
      readonly accountId: string | null;
      /** Why, for the log (never sent to the caller). */
      readonly why: string;
      readonly headers?: Readonly<Record<string, string | readonly string[]>>;
    };

/** Why a call was refused: a closed set, so it can label a metric. */
export const REJECT_CAUSES = [
  'draining',
  'untrusted_source',
  'digest_failed',
  'credentials_required',
  'no_route',
  'account_disabled',
  'daemon_full',
  'media_unavailable',
  'account_limit',
  'trunk_limit',
  'store_failed',
  'admission_error',
] as const;
export type RejectCause = (typeof REJECT_CAUSES)[number];

/**
 * Who may call, and which tenant answers (issue 3, "Who may call"). In order:
 *  1. a draining daemon answers 503 to everything;
 *  2. the trunk: by digest credentials when the INVITE carries them, else by source address
 *     against the trunks' CIDRs; a source only digest trunks could match is challenged (401);
 *     anything else is 403;
 *  3. the dialled number → account and agent; unknown → 404. A number of another account than
 *     the trunk's is also 404: one tenant's trunk learns nothing about another tenant's numbers;
 *  4. a disabled account → 403;
 *  5. limits: daemon full, or rtpengine known to be down → 503; account or trunk at its concurrent-call limit → 486 Busy Here
 *     (a commercial limit: carriers must not fail over to another node to get round it). Both
 *     with Retry-After.
 */
export class AdmissionControl {
  private readonly cidrCache = new Map<string, Cidr>();

  constructor(
    private readonly store: TenantStore,
    private readonly registry: CallRegistry,
    private readonly digest: DigestVerifier,
    private readonly openTrunkPassword: (accountId: string, trunkId: string) => Uint8Array | undefined,
    private readonly wipe: (b: Uint8Array) => void,
    private readonly limits: AdmissionLimits,
    /** False while the media plane cannot take calls (a managed rtpengine restarting): 503. */
    private readonly mediaAvailable: () => boolean = () => true,
    /** Told the source address of every INVITE whose digest credentials verified (the rate limiter exempts it). */
    private readonly onAuthenticated: (source: string) => void = () => undefined,
  ) {}

  decide(info: IncomingCallInfo, accepting: boolean): Admission {
    const retry = { 'Retry-After': String(this.limits.retryAfterS) };
    if (!accepting) return reject(503, 'Service Unavailable', 'draining', null, 'draining', retry);

    const trunks = this.store.trunks.listForRouting();
    const e164 = info.calledUser === null ? null : routableE164(info.calledUser);
    const route = e164 === null ? undefined : this.store.numbers.resolve(e164);
    const identified = this.identifyTrunk(info, trunks, route?.accountId);
    if (identified.kind !== 'ok') return { ...identified.admission, accountId: route?.accountId ?? null } as Admission;
    const trunk = identified.trunk;
    if (!e164 || !route || trunk.accountId !== route.accountId) {
      return reject(404, 'Not Found', 'no_route', trunk.accountId, `no route for "${info.calledUser ?? ''}" on trunk ${trunk.id}`);
    }

    const account = this.store.accounts.get(route.accountId);
    const agent = this.store.agents.get(route.accountId, route.agentId);
    if (!account || !agent) return reject(404, 'Not Found', 'no_route', trunk.accountId, 'number without account or agent');
    const own = account.id;
    if (account.status !== 'active') return reject(403, 'Forbidden', 'account_disabled', own, `account ${account.id} is disabled`);

    if (this.registry.size >= this.limits.maxCalls) return reject(503, 'Service Unavailable', 'daemon_full', own, 'daemon at max_calls', retry);
    if (!this.mediaAvailable()) return reject(503, 'Service Unavailable', 'media_unavailable', own, 'rtpengine unavailable', retry);
    if (account.maxConcurrentCalls !== null && this.registry.accountCalls(account.id) >= account.maxConcurrentCalls) {
      return reject(486, 'Busy Here', 'account_limit', own, `account ${account.id} at its call limit`, retry);
    }
    if (trunk.maxConcurrentCalls !== null && this.registry.trunkCalls(trunk.id) >= trunk.maxConcurrentCalls) {
      return reject(486, 'Busy Here', 'trunk_limit', own, `trunk ${trunk.id} at its call limit`, retry);
    }
    return { kind: 'accept', account, agent, trunk, e164 };
  }

  /**
   * Finds the trunk a request came in on. Without credentials, an address trunk of the dialled
   * number's account wins; if only a digest trunk of that account could accept the source, the
   * caller is challenged. The dialled number's owner is only used to choose among candidates
   * the source already qualifies for, so an untrusted source learns nothing about numbers.
   */
  private identifyTrunk(
    info: IncomingCallInfo,
    trunks: Trunk[],
    routeAccountId: string | undefined,
  ): { kind: 'ok'; trunk: Trunk } | { kind: 'no'; admission: Admission } {
    const src = info.source.address;
    const fromSource = (t: Trunk): boolean => t.cidrs.some((c) => cidrContains(this.cidr(c), src));

    if (info.digest) {
      const t = trunks.find((x) => x.digestUsername !== null && x.digestUsername === info.digest!.username);
      if (!t || (t.cidrs.length > 0 && !fromSource(t))) {
        return { kind: 'no', admission: reject(403, 'Forbidden', 'digest_failed', null, `unknown digest user or wrong source ${src}`) };
      }
      const result = this.verifyDigest(info, t);
      if (result === 'ok') {
        this.onAuthenticated(src);
        return { kind: 'ok', trunk: t };
      }
      if (result === 'stale') return { kind: 'no', admission: this.challenge(true) };
      return { kind: 'no', admission: reject(403, 'Forbidden', 'digest_failed', null, `digest ${result} for trunk ${t.id}`) };
    }

    const byAddress = trunks.filter((t) => t.digestUsername === null && fromSource(t));
    const byDigest = trunks.filter((t) => t.digestUsername !== null && (t.cidrs.length === 0 || fromSource(t)));
    const ofRoute = byAddress.find((t) => t.accountId === routeAccountId);
    if (ofRoute) return { kind: 'ok', trunk: ofRoute };
    if (byDigest.some((t) => t.accountId === routeAccountId)) return { kind: 'no', admission: this.challenge(false) };
    if (byAddress[0]) return { kind: 'ok', trunk: byAddress[0] };
    if (byDigest.length > 0) return { kind: 'no', admission: this.challenge(false) };
    return { kind: 'no', admission: reject(403, 'Forbidden', 'untrusted_source', null, `untrusted source ${src}`) };
  }

  private verifyDigest(info: IncomingCallInfo, trunk: Trunk): 'ok' | 'stale' | 'invalid' | 'replay' {
    const password = this.openTrunkPassword(trunk.accountId, trunk.id);
    if (!password) return 'invalid';
    try {
      return this.digest.verify({
        method: 'INVITE',
        requestUri: info.requestUri,
        credentials: info.digest!,
        password,
        realm: this.limits.realm,
      });
    } finally {
      this.wipe(password);
    }
  }

  private challenge(stale: boolean): Admission {
    // Several WWW-Authenticate values (SHA-256 first, then MD5): the engine writes one line each.
    const values = this.digest.challenge(this.limits.realm, stale);
    return reject(401, 'Unauthorized', 'credentials_required', null, stale ? 'stale nonce' : 'credentials required', {
      'WWW-Authenticate': values,
    });
  }

  private cidr(text: string): Cidr {
    let c = this.cidrCache.get(text);
    if (!c) {
      c = parseCidr(text);
      if (this.cidrCache.size > 10_000) this.cidrCache.clear();
      this.cidrCache.set(text, c);
    }
    return c;
  }
}

function reject(
  status: number,
  reason: string,
  cause: RejectCause,
  accountId: string | null,
  why: string,
  headers?: Record<string, string | readonly string[]>,
): Admission {
  const base = { kind: 'reject', status, reason, cause, accountId, why } as const;
  return headers ? { ...base, headers } : base;
}

/**
 * Digest authentication, server side (RFC 2617, RFC 7616, RFC 3261 §22.4, RFC 8760), for trunks
 * that authenticate with a username and password instead of (or as well as) a source address.
 * Engine-neutral: it takes the already parsed credentials of the SipEngine port and returns
 * header values as plain strings.
 *
 * Nonces are stateless: base64url(issued-at ‖ 12 random bytes ‖ HMAC-SHA256(secret, issued-at ‖
 * random ‖ realm)[0..16]). The secret is random per authenticator (so per process), so a nonce
 * proves we issued it and when, without a table of issued nonces that a flood of unauthenticated
 * INVITEs could grow. The issue time is read from the clock's monotonic time: a wall-clock step
 * neither expires nor revives nonces.
 *
 * Verdicts, and what the caller should answer:
 *   ok       the request is authenticated.
 *   stale    the password was right but the nonce is expired, or not one of ours (issued before a
 *            restart, or its replay state was evicted): challenge again with stale=true and the
 *            client retries without asking its user (RFC 7616 §3.3).
 *   invalid  wrong password, wrong realm, a uri that is not the Request-URI, an unsupported
 *            algorithm or qop, malformed values: 403 (or a fresh challenge, stale=false).
 *   replay   a (nonce, nc) already used, or an nc not above the last one seen: a fresh challenge
 *            (stale=false); a real client recovers, a replayed INVITE goes nowhere.
 *
 * Call verify once per new server transaction: the transaction layer absorbs retransmissions, and
 * a retransmission verified twice would look like a replay.
 *
 * Replay protection needs state, kept small: per nonce that authenticated at least once, the
 * highest nc seen, dropped when the nonce expires, with a hard cap. When the cap forces out a
 * nonce that is still live, every unknown nonce issued no later than it is answered `stale`
 * from then on (we can no longer tell whether it was used), so eviction never opens a replay.
 *
 * Timing: the response and the nonce MAC are compared in constant time. Looking up a trunk by
 * username is the caller's business; to avoid telling valid usernames apart by timing it can call
 * verify with a throwaway password for unknown users.
 */

import { createHash, createHmac, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { DigestResponse } from './sip-engine.js';

export type DigestVerdict = 'ok' | 'stale' | 'invalid' | 'replay';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export interface DigestAuthenticatorOptions {
  readonly clock: Clock;
  /** How long a nonce stays valid (config `sip.nonce_ttl_ms`). */
  readonly nonceTtlMs: number;
  /** Most (nonce, nc) records kept for replay detection. Default 50 000 (a few MB at most). */
  readonly maxTrackedNonces?: number;
  /**
   * Challenged algorithms, in the order offered (config `sip.digest_algorithms`). Default
   * SHA-256 then MD5. Clients that only read the first challenge (SIPp, some older carrier
   * gear) need MD5 first. Responses with an algorithm not listed here are refused.
   */
  readonly algorithms?: ReadonlyArray<'SHA-256' | 'MD5'>;
}

export interface DigestVerifyInput {
  readonly method: string;
  readonly requestUri: string;
  readonly credentials: DigestResponse;
  /** The trunk's password. Only read; the caller owns it and wipes it afterwards. */
  readonly password: Uint8Array;
  /** The realm we challenged with; credentials for any other realm are refused. */
  readonly realm: string;
}

const TIME_BYTES = 8;
const RANDOM_BYTES = 12;
const MAC_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
/** Expired records dropped per verify call: amortised O(1), never a long pause. */
const SWEEP_PER_CALL = 32;

const HASH_OF: Readonly<Record<string, { name: string; algorithm: DigestAlgorithm; hexLength: number }>> = {
  'md5': { name: 'md5', algorithm: 'MD5', hexLength: 32 },
  'md5-sess': { name: 'md5', algorithm: 'MD5-sess', hexLength: 32 },
  'sha-256': { name: 'sha256', algorithm: 'SHA-256', hexLength: 64 },
  'sha-256-sess': { name: 'sha256', algorithm: 'SHA-256-sess', hexLength: 64 },
};

export interface DigestComputeInput {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly realm: string;
  readonly password: Uint8Array;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  /** `auth`, or null for the RFC 2069 form without qop. */
  readonly qop: 'auth' | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
}

/**
 * The request-digest of RFC 7616 §3.4.1 (RFC 2617 §3.2.2.1 for MD5), in lower-case hex:
 *   A1 = username:realm:password        (-sess: H(username:realm:password):nonce:cnonce)
 *   A2 = method:uri                      (qop=auth; auth-int is not supported)
 *   response = H(H(A1):nonce:nc:cnonce:qop:H(A2))   or H(H(A1):nonce:H(A2)) without qop
 */
export function computeDigestResponse(input: DigestComputeInput): string {
  const spec = HASH_OF[input.algorithm.toLowerCase()];
  if (spec === undefined) throw new TypeError(`unsupported digest algorithm ${input.algorithm}`);
  const h = (): Hash => createHash(spec.name);
  // The password goes straight into the hash: no copy of it is made here.
  let ha1 = h().update(`${input.username}:${input.realm}:`).update(input.password).digest('hex');
  if (spec.algorithm.endsWith('-sess')) {
    if (input.cnonce === null) throw new TypeError('a -sess algorithm needs a cnonce');
    ha1 = h().update(`${ha1}:${input.nonce}:${input.cnonce}`).digest('hex');
  }
  const ha2 = h().update(`${input.method}:${input.uri}`).digest('hex');
  if (input.qop === null) return h().update(`${ha1}:${input.nonce}:${ha2}`).digest('hex');
  if (input.nc === null || input.cnonce === null) throw new TypeError('qop=auth needs nc and cnonce');
  return h().update(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`).digest('hex');
}

/** A quoted-string per RFC 3261 §25.1; control characters are refused, not escaped. */
function quoted(value: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) throw new TypeError(`${what} must not contain control characters`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

interface NonceRecord {
  readonly issuedAt: number;
  /** Highest nc accepted; Infinity once a nonce without qop has been used (single use). */
  lastNc: number;
}

export class DigestAuthenticator {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly maxTracked: number;
  private readonly secret: Buffer = randomBytes(32);
  /** Nonces that authenticated at least once, in first-use order. */
  private readonly used = new Map<string, NonceRecord>();
  /** Unknown nonces issued at or before this time may have been used: treat them as stale. */
  private forgottenUpTo = -Infinity;
  private readonly algorithms: ReadonlyArray<'SHA-256' | 'MD5'>;

  constructor(options: DigestAuthenticatorOptions) {
    this.algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
    if (this.algorithms.length === 0) throw new TypeError('at least one digest algorithm is needed');
    if (!Number.isInteger(options.nonceTtlMs) || options.nonceTtlMs < 1) throw new TypeError('nonceTtlMs must be a positive integer');
    const cap = options.maxTrackedNonces ?? 50_000;
    if (!Number.isInteger(cap) || cap < 1) throw new TypeError('maxTrackedNonces must be a positive integer');
    this.clock = options.clock;
    this.ttlMs = options.nonceTtlMs;
    this.maxTracked = cap;
  }

  /** Nonces currently remembered for replay detection. */
  get trackedNonces(): number {
    return this.used.size;
  }

  /**
   * WWW-Authenticate (401) or Proxy-Authenticate (407) values: SHA-256 first, then MD5 for older
   * clients (RFC 7616 §3.7, RFC 8760 §2.4), both with qop="auth" and the same fresh nonce.
   */
  challenge(realm: string, stale = false): string[] {
    if (typeof realm !== 'string' || realm.length === 0) throw new TypeError('realm must be a non-empty string');
    const nonce = this.issueNonce(realm);
    const tail = `nonce="${nonce}", qop="auth"${stale ? ', stale=TRUE' : ''}`;
    const r = quoted(realm, 'realm');
    return this.algorithms.map((a) => `Digest realm=${r}, ${tail}, algorithm=${a}`);
  }

  verify(input: DigestVerifyInput): DigestVerdict {
    const { credentials: c, password, realm } = input;
    if (!(password instanceof Uint8Array)) throw new TypeError('password must be a Uint8Array');
    if (typeof realm !== 'string' || realm.length === 0) throw new TypeError('realm must be a non-empty string');
    const now = this.clock.monotonic();
    this.sweep(now);

    if (c.realm !== realm) return 'invalid';
    const spec = HASH_OF[(c.algorithm ?? 'MD5').toLowerCase()];
    if (spec === undefined) return 'invalid';
    // Only what we offered: a client must not pick a weaker algorithm than the ones challenged.
    if (!this.algorithms.includes(spec.algorithm.startsWith('SHA-256') ? 'SHA-256' : 'MD5')) return 'invalid';
    // RFC 2617 §3.2.2.5 / RFC 7616 §3.4.6: the digest must be over this request's URI.
    if (c.uri !== input.requestUri) return 'invalid';
    let qop: 'auth' | null = null;
    let nc = 0;
    if (c.qop !== null) {
      if (c.qop.toLowerCase() !== 'auth') return 'invalid'; // auth-int is never offered
      if (c.nc === null || c.cnonce === null || c.cnonce.length === 0) return 'invalid';
      if (!/^[0-9a-fA-F]{8}$/.test(c.nc)) return 'invalid';
      nc = parseInt(c.nc, 16);
      if (nc === 0) return 'invalid';
      qop = 'auth';
    } else if (spec.algorithm.endsWith('-sess')) {
      return 'invalid';
    }
    if (c.response.length !== spec.hexLength || !/^[0-9a-fA-F]+$/.test(c.response)) return 'invalid';

    const expected = computeDigestResponse({
      algorithm: spec.algorithm,
      username: c.username,
      realm: c.realm,
      password,
      method: input.method,
      uri: c.uri,
      nonce: c.nonce,
      qop,
      nc: c.nc,
      cnonce: c.cnonce,
    });
    if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(c.response.toLowerCase(), 'hex'))) return 'invalid';

    // The password is right. Now: is the nonce ours, fresh, and this nc new?
    const issuedAt = this.openNonce(c.nonce, realm);
    if (issuedAt === null) return 'stale';
    if (now - issuedAt >= this.ttlMs || issuedAt > now) return 'stale';
    const record = this.used.get(c.nonce);
    if (record === undefined) {
      if (issuedAt <= this.forgottenUpTo) return 'stale';
      this.remember(c.nonce, { issuedAt, lastNc: qop === null ? Infinity : nc });
      return 'ok';
    }
    if (qop === null || nc <= record.lastNc) return 'replay';
    record.lastNc = nc;
    return 'ok';
  }

  private mac(body: Buffer, realm: string): Buffer {
    return createHmac('sha256', this.secret).update(body).update(realm, 'utf8').digest().subarray(0, MAC_BYTES);
  }

  private issueNonce(realm: string): string {
    const body = Buffer.alloc(TIME_BYTES + RANDOM_BYTES);
    body.writeBigUInt64BE(BigInt(Math.floor(this.clock.monotonic())), 0);
    randomBytes(RANDOM_BYTES).copy(body, TIME_BYTES);
    return Buffer.concat([body, this.mac(body, realm)]).toString('base64url');
  }

  /** The issue time of a nonce we issued for this realm, else null. */
  private openNonce(nonce: string, realm: string): number | null {
    if (nonce.length !== Math.ceil((NONCE_BYTES * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return null;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES) return null;
    const body = raw.subarray(0, TIME_BYTES + RANDOM_BYTES);
    if (!timingSafeEqual(this.mac(body, realm), raw.subarray(TIME_BYTES + RANDOM_BYTES))) return null;
    return Number(body.readBigUInt64BE(0));
  }

  private remember(nonce: string, record: NonceRecord): void {
    while (this.used.size >= this.maxTracked) {
      const oldest = this.used.entries().next().value;
      if (oldest === undefined) break;
      this.used.delete(oldest[0]);
      this.forgottenUpTo = Math.max(this.forgottenUpTo, oldest[1].issuedAt);
    }
    this.used.set(nonce, record);
  }

  /** Drops records of expired nonces from the front (first-use order is close to issue order). */
  private sweep(now: number): void {
    let n = 0;
    for (const [nonce, record] of this.used) {
      if (n++ >= SWEEP_PER_CALL || now - record.issuedAt < this.ttlMs) break;
      this.used.delete(nonce);
    }
  }
}

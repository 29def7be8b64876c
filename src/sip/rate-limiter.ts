/**
 * Per-source request-rate limit in the spirit of Kamailio's pike module: a source that sends more
 * than `requests` requests within `windowMs` is ignored for `blockMs`. Engine-neutral: both
 * engines call `check(address)` for every request before anything is sent back, and drop the
 * request unless the verdict is `allow`.
 *
 * Counting is a fixed window per source, opened by that source's first request. It is exact
 * within a window and allows at most 2×requests across a window boundary, which is what a pike-
 * style flood guard needs; it is not a traffic shaper.
 *
 * A source is an IPv4 address, or an IPv6 /64 by default (one IPv6 host owns a whole /64 and
 * could otherwise rotate addresses to dodge the limit). IPv4-mapped IPv6 counts as IPv4.
 *
 * Memory is bounded and every call is O(1) amortised. Counted sources live in a Map kept in
 * least-recently-seen order (a hit moves its entry to the end); blocked sources in a second Map
 * kept in order of block end. Each call drops a few ended blocks and idle sources (window over,
 * so forgetting them loses nothing) from the fronts. When `maxSources` (both maps together) is
 * reached, a new source evicts the least recently seen counted source; blocked ones go only
 * when nothing else is left. So a flood of spoofed one-shot sources larger than the cap churns
 * among itself and cannot lift a block.
 */

import ipaddr from 'ipaddr.js';
import type { Clock } from '../core/clock.js';

export interface RateLimiterOptions {
  readonly clock: Clock;
  /** Requests allowed per window (config `sip.rate_limit_requests`). */
  readonly requests: number;
  /** Window length (config `sip.rate_limit_window_ms`). */
  readonly windowMs: number;
  /** How long a source over the limit is ignored (config `sip.rate_limit_block_ms`). */
  readonly blockMs: number;
  /** Most sources tracked at once. Default 100 000 (roughly 10 MB). */
  readonly maxSources?: number;
  /** IPv6 sources are grouped by this prefix length. Default 64; 128 counts each address. */
  readonly ipv6PrefixLength?: number;
}

/**
 * `allow`: pass it on. `block`: this request put the source over the limit (drop it; worth one
 * log line). `blocked`: the source is being ignored (drop it silently).
 */
export type RateVerdict = 'allow' | 'block' | 'blocked';

export interface RateLimiterStats {
  /** Sources currently tracked. */
  readonly tracked: number;
  /** Sources evicted because the cap was reached (not counting idle expiry). */
  readonly evictedAtCap: number;
  /** Times a source went over the limit. */
  readonly blocks: number;
}

interface SourceState {
  windowStart: number;
  count: number;
  lastSeen: number;
}

/** Idle entries dropped per call: enough to keep up, never a long pause. */
const SWEEP_PER_CALL = 8;

export class RateLimiter {
  private readonly clock: Clock;
  private readonly requests: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly maxSources: number;
  private readonly v6Prefix: number;
  /** Sources being counted, least recently seen first. */
  private readonly sources = new Map<string, SourceState>();
  /**
   * Blocked sources → end of their block. Every block lasts blockMs on a monotonic clock, so
   * insertion order is expiry order and the front is always the next to expire.
   */
  private readonly blocked = new Map<string, number>();
  private allowList: ((address: string) => boolean) | null = null;
  private evictedAtCap = 0;
  private blocks = 0;

  constructor(options: RateLimiterOptions) {
    const posInt = (v: number, what: string, min: number): number => {
      if (!Number.isInteger(v) || v < min) throw new TypeError(`${what} must be an integer ≥ ${min}`);
      return v;
    };
    this.clock = options.clock;
    this.requests = posInt(options.requests, 'requests', 1);
    this.windowMs = posInt(options.windowMs, 'windowMs', 1);
    this.blockMs = posInt(options.blockMs, 'blockMs', 0);
    this.maxSources = posInt(options.maxSources ?? 100_000, 'maxSources', 1);
    const prefix = posInt(options.ipv6PrefixLength ?? 64, 'ipv6PrefixLength', 1);
    if (prefix > 128) throw new TypeError('ipv6PrefixLength must be at most 128');
    this.v6Prefix = prefix;
  }

  /**
   * Sources for which the predicate returns true are never limited nor tracked (e.g. the trunk
   * CIDRs of all accounts). The predicate gets the address as the transport saw it. null clears.
   */
  setAllowList(predicate: ((address: string) => boolean) | null): void {
    this.allowList = predicate;
  }

  /** Counts one request from `address` and says what to do with it. */
  check(address: string): RateVerdict {
    if (typeof address !== 'string' || address.length === 0) throw new TypeError('address must be a non-empty string');
    if (this.allowList !== null && this.allowList(address)) return 'allow';
    const now = this.clock.monotonic();
    this.sweep(now);
    const key = this.keyOf(address);
    const until = this.blocked.get(key);
    if (until !== undefined) {
      if (now < until) return 'blocked';
      this.blocked.delete(key); // block over: counted afresh below
    }
    let s = this.sources.get(key);
    if (s !== undefined) {
      this.sources.delete(key); // re-inserted below: the Map stays in least-recently-seen order
      if (now - s.windowStart >= this.windowMs) {
        s.windowStart = now;
        s.count = 0;
      }
    } else {
      if (this.sources.size + this.blocked.size >= this.maxSources) this.evictOne();
      s = { windowStart: now, count: 0, lastSeen: now };
    }
    s.lastSeen = now;
    s.count++;
    if (s.count <= this.requests) {
      this.sources.set(key, s);
      return 'allow';
    }
    this.blocks++;
    this.blocked.set(key, now + this.blockMs);
    return 'block';
  }

  /** Whether requests from `address` are being ignored right now (does not count a request). */
  isBlocked(address: string): boolean {
    const until = this.blocked.get(this.keyOf(address));
    return until !== undefined && this.clock.monotonic() < until;
  }

  stats(): RateLimiterStats {
    return { tracked: this.sources.size + this.blocked.size, evictedAtCap: this.evictedAtCap, blocks: this.blocks };
  }

  /** The bucket a source address counts against. */
  keyOf(address: string): string {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.process(address); // IPv4-mapped IPv6 → IPv4
    } catch {
      return address; // not an IP literal (should not happen for a socket address): count it as is
    }
    if (ip.kind() === 'ipv4') return ip.toString();
    const v6 = ip as ipaddr.IPv6;
    if (this.v6Prefix === 128) return v6.toNormalizedString();
    const bytes = v6.toByteArray();
    const full = Math.floor(this.v6Prefix / 8);
    const rest = this.v6Prefix % 8;
    for (let i = full; i < 16; i++) {
      bytes[i] = i === full && rest > 0 ? bytes[i]! & (0xff << (8 - rest)) & 0xff : 0;
    }
    return `${(ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toNormalizedString()}/${this.v6Prefix}`;
  }

  /**
   * Makes room for one source: the least recently seen counted source, else (everything tracked
   * is blocked) the block that ends soonest.
   */
  private evictOne(): void {
    const map: Map<string, unknown> = this.sources.size > 0 ? this.sources : this.blocked;
    const oldest = map.keys().next();
    if (oldest.done === true) return;
    map.delete(oldest.value);
    this.evictedAtCap++;
  }

  /** Drops ended blocks and idle sources (window over: forgetting them loses nothing). */
  private sweep(now: number): void {
    let n = 0;
    for (const [key, until] of this.blocked) {
      if (n++ >= SWEEP_PER_CALL || now < until) break;
      this.blocked.delete(key);
    }
    n = 0;
    for (const [key, s] of this.sources) {
      if (n++ >= SWEEP_PER_CALL || now - s.lastSeen < this.windowMs) break;
      this.sources.delete(key);
    }
  }
}

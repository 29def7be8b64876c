import ipaddr from 'ipaddr.js';
import type { Clock } from '../core/clock.js';

/**
 * Source addresses that passed digest authentication recently. A digest-only trunk has no CIDR
 * to exempt it from the per-source rate limit, so once its INVITE verifies, its address is
 * treated like a trunk address for `ttlMs` (renewed by every verified INVITE): its calls, ACKs
 * and BYEs are not throttled as a stranger's would be.
 *
 * Only a verified digest response puts an address here; a 401 challenge or a failed attempt
 * does not. Bounded: past `maxEntries` the least recently authenticated address is forgotten.
 */
export class RecentAuthentications {
  /** Address → time its authentication expires, least recently authenticated first. */
  private readonly until = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 15 * 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  remember(address: string): void {
    const key = keyOf(address);
    this.until.delete(key);
    this.until.set(key, this.clock.monotonic() + this.ttlMs);
    if (this.until.size > this.maxEntries) this.until.delete(this.until.keys().next().value!);
  }

  has(address: string): boolean {
    const key = keyOf(address);
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (this.clock.monotonic() < until) return true;
    this.until.delete(key);
    return false;
  }

  get size(): number {
    return this.until.size;
  }
}

/** IPv4-mapped IPv6 and IPv4 are one source. */
function keyOf(address: string): string {
  try {
    return ipaddr.process(address).toString();
  } catch {
    return address;
  }
}

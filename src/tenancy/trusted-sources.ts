import type { Clock } from '../core/clock.js';
import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import type { TrunkRepository } from './ports.js';

/**
 * "Is this source address one of our carriers?" for the per-source rate limiter: trunk traffic
 * is never rate-limited (a busy carrier sends hundreds of INVITEs a second). Answered from the
 * trunks' CIDRs, re-read at most every `ttlMs` so a packet flood never turns into a query flood.
 */
export class TrustedSources {
  private cidrs: Cidr[] = [];
  private loadedAt = -Infinity;

  constructor(
    private readonly trunks: TrunkRepository,
    private readonly clock: Clock,
    private readonly ttlMs = 5000,
  ) {}

  has(address: string): boolean {
    const now = this.clock.monotonic();
    if (now - this.loadedAt > this.ttlMs) {
      this.cidrs = this.trunks.listForRouting().flatMap((t) => t.cidrs.map((c) => parseCidr(c)));
      this.loadedAt = now;
    }
    return this.cidrs.some((c) => cidrContains(c, address));
  }
}

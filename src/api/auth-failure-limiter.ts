import type { Clock } from '../core/clock.js';

/**
 * Counts failed API authentications per source address. A source with `maxFailures` failures
 * inside one window is refused (429, without looking at its token) until the window ends. A
 * valid token never counts; 256-bit tokens cannot be guessed, so this guards the daemon's CPU and
 * logs against floods of bad credentials rather than against guessing.
 *
 * Memory is bounded: at `maxSources` the oldest window is dropped (Map keeps insertion order).
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxSources = 10_000,
  ) {}

  /** Milliseconds until the source may try again, or 0 when it is not blocked. */
  blockedFor(source: string): number {
    const w = this.windows.get(source);
    if (!w) return 0;
    const left = w.start + this.windowMs - this.clock.monotonic();
    if (left <= 0) {
      this.windows.delete(source);
      return 0;
    }
    return w.failures >= this.maxFailures ? left : 0;
  }

  failed(source: string): void {
    const now = this.clock.monotonic();
    let w = this.windows.get(source);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.delete(source);
      if (this.windows.size >= this.maxSources) this.windows.delete(this.windows.keys().next().value!);
      w = { start: now, failures: 0 };
      this.windows.set(source, w);
    }
    w.failures++;
  }
}

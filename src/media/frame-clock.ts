/**
 * One shared 20 ms tick for every call in the process.
 *
 * Why one clock and not a timer per call: a per-call `setInterval(20)` drifts (each firing is
 * late by the event loop's delay and the next one counts from there), and a thousand calls
 * would wake the event loop a thousand separate times every 20 ms. Here tick n is due at
 * start + n × frameMs on the monotonic clock; the timer is re-armed for the next due time, so
 * lateness never accumulates. Each tick calls every registered listener in one pass: pacers
 * send their due frames, reorder buffers give up overdue gaps. Listeners learn how many frame periods
 * elapsed since their last call (normally 1; more after an event-loop stall), so they can
 * catch up rather than slip.
 */
import type { Clock, TimerHandle } from '../core/clock.js';

/** Called on each tick with the monotonic time and the number of frame periods elapsed. */
export type FrameListener = (nowMs: number, framesElapsed: number) => void;

export interface FrameClockOptions {
  readonly frameMs?: number;
  /** Receives a listener's exception; without it the first one is rethrown after the tick. */
  readonly onError?: (err: unknown) => void;
}

interface Registration {
  readonly fn: FrameListener;
  lastIndex: number;
}

export class FrameClock {
  readonly frameMs: number;
  private readonly listeners = new Set<Registration>();
  private readonly onError: ((err: unknown) => void) | undefined;
  private startMs: number | null = null;
  private timer: TimerHandle | null = null;
  private nextIndex = 0;
  private tickCount = 0;

  constructor(
    private readonly clock: Clock,
    options: FrameClockOptions = {},
  ) {
    this.frameMs = options.frameMs ?? 20;
    if (!(this.frameMs > 0)) throw new TypeError(`frameMs must be positive, got ${this.frameMs}`);
    this.onError = options.onError;
  }

  /**
   * Registers a listener; the clock runs while it has listeners. Returns the function that
   * removes it. The first call comes on the next tick (see `nextTickAt`).
   */
  add(fn: FrameListener): () => void {
    if (this.startMs === null) {
      this.startMs = this.clock.monotonic();
      this.nextIndex = 1;
    }
    const reg: Registration = { fn, lastIndex: this.nextIndex - 1 };
    this.listeners.add(reg);
    if (this.timer === null) this.arm();
    return () => {
      this.listeners.delete(reg);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Monotonic time of the next tick: a pacer starting now aligns its frame 0 to it. */
  nextTickAt(): number {
    if (this.startMs === null) return this.clock.monotonic() + this.frameMs;
    return this.startMs + this.nextIndex * this.frameMs;
  }

  /** Timer firings so far (one per frame period while running; fewer after stalls). */
  get ticks(): number {
    return this.tickCount;
  }

  get size(): number {
    return this.listeners.size;
  }

  /** Stops ticking and forgets every listener. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.startMs = null;
  }

  private arm(): void {
    const due = this.nextTickAt();
    this.timer = this.clock.setTimer(due - this.clock.monotonic(), () => this.tick());
  }

  private tick(): void {
    this.timer = null;
    const start = this.startMs;
    if (start === null) return;
    const now = this.clock.monotonic();
    const index = Math.floor((now - start) / this.frameMs);
    this.tickCount++;
    let firstError: { err: unknown } | null = null;
    for (const reg of [...this.listeners]) {
      const elapsed = index - reg.lastIndex;
      if (elapsed <= 0) continue;
      reg.lastIndex = index;
      try {
        reg.fn(now, elapsed);
      } catch (err) {
        if (this.onError) this.onError(err);
        else firstError ??= { err };
      }
    }
    this.nextIndex = index + 1;
    if (this.listeners.size > 0 && this.startMs !== null) this.arm();
    if (firstError) throw firstError.err;
  }
}

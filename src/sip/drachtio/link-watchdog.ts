import type { Clock, TimerHandle } from '../../core/clock.js';

/**
 * Proves the link to drachtio-server alive, because a TCP connection that is up says nothing:
 * once drachtio-server's read buffer for us has overrun (see request-screen.ts) it still sends us
 * every new INVITE and never carries anything we send. Every `intervalMs` the engine sends a probe
 * through that very read path (a ping on drachtio's application protocol, see pingServer in
 * srf-connection.ts; drachtio-server refuses SIP requests addressed to itself, "can not send
 * request to myself", so a SIP loop-back is not possible). A probe with no answer by the next
 * tick means the link is deaf.
 *
 * While the engine has no authenticated connection, the watchdog checks that too: a connection
 * that was opened but not authenticated by the next tick (drachtio-server stopped, or its read
 * buffer for us wedged before we could authenticate) is dropped so drachtio-srf opens a new one.
 *
 * Pure timing and bookkeeping; what a probe and a drop are is the engine's business.
 */
export interface LinkWatchdogOptions {
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Sends one probe; calls `answered` when its final response arrives. */
  readonly probe: (answered: () => void) => void;
  /** Whether the engine has an authenticated connection right now. */
  readonly connected: () => boolean;
  /** An id of the connection being opened (not yet authenticated), if any. */
  readonly pendingConnection: () => object | undefined;
  /** The link is deaf (or a connection hangs before authenticating): drop it. */
  readonly onDead: (why: string) => void;
  /** A probe came back: the link is alive. */
  readonly onAlive?: (roundTripMs: number) => void;
}

export class LinkWatchdog {
  private timer: TimerHandle | null = null;
  private outstanding: { sentAt: number; id: number } | null = null;
  private seq = 0;
  private lastPending: object | undefined;
  private stopped = false;

  constructor(private readonly opts: LinkWatchdogOptions) {
    if (!Number.isInteger(opts.intervalMs) || opts.intervalMs < 1) throw new TypeError('LinkWatchdog: intervalMs must be a positive integer');
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.outstanding = null;
  }

  /** Forget a probe in flight (the connection it went out on is gone). */
  reset(): void {
    this.outstanding = null;
    this.lastPending = undefined;
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimer(this.opts.intervalMs, () => {
      this.timer = null;
      if (this.stopped) return;
      this.tick();
      if (!this.stopped) this.schedule();
    });
  }

  private tick(): void {
    if (!this.opts.connected()) {
      this.outstanding = null;
      const pending = this.opts.pendingConnection();
      if (pending !== undefined && pending === this.lastPending) {
        this.lastPending = undefined;
        this.opts.onDead(`a connection to drachtio-server was not authenticated within ${this.opts.intervalMs} ms`);
        return;
      }
      this.lastPending = pending;
      return;
    }
    this.lastPending = undefined;
    if (this.outstanding) {
      const waited = Math.round(this.opts.clock.monotonic() - this.outstanding.sentAt);
      this.outstanding = null;
      this.opts.onDead(`no answer to the link probe within ${waited} ms`);
      return;
    }
    const probe = { sentAt: this.opts.clock.monotonic(), id: ++this.seq };
    this.outstanding = probe;
    this.opts.probe(() => {
      if (this.outstanding !== probe) return; // late answer to a probe already given up on
      this.outstanding = null;
      this.opts.onAlive?.(this.opts.clock.monotonic() - probe.sentAt);
    });
  }
}

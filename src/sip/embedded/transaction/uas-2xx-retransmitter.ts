/**
 * The UAS core's 2xx retransmission (RFC 3261 §13.3.1.4): the INVITE server transaction sends a
 * 2xx once and leaves (RFC 6026), so the core itself repeats it — first after T1, then doubling
 * up to T2 — until the ACK arrives. With no ACK after 64*T1 it gives up and reports "no ACK", so
 * the UA confirms and immediately ends the session with a BYE (§13.3.1.4).
 *
 * It retransmits on every transport, reliable ones included: the 2xx crosses proxies end to end
 * and a hop further on may be UDP.
 */
import type { Clock, TimerHandle } from '../../../core/clock.js';
import { nextRetransmitInterval, type SipTimers } from '../timers.js';

export interface Uas2xxRetransmitterOptions {
  clock: Clock;
  timers: Pick<SipTimers, 'T1' | 'T2' | 'twoXxGiveUp'>;
  /** Sends the 2xx again (typically `inviteServerTransaction.resend2xx()`). */
  retransmit: () => void;
  /** No ACK within 64*T1: the UA should send BYE. Called at most once. */
  onNoAck: () => void;
}

export type Uas2xxState = 'idle' | 'waiting' | 'acked' | 'gave-up' | 'stopped';

export class Uas2xxRetransmitter {
  private _state: Uas2xxState = 'idle';
  private interval: number;
  private retransmitTimer: TimerHandle | undefined;
  private giveUpTimer: TimerHandle | undefined;
  private count = 0;

  constructor(private readonly options: Uas2xxRetransmitterOptions) {
    if (typeof options.retransmit !== 'function' || typeof options.onNoAck !== 'function') {
      throw new TypeError('Uas2xxRetransmitter needs retransmit and onNoAck functions');
    }
    this.interval = options.timers.T1;
  }

  get state(): Uas2xxState {
    return this._state;
  }

  /** Retransmissions sent so far (not counting the original 2xx). */
  get retransmissions(): number {
    return this.count;
  }

  /** Call right after the 2xx went out for the first time. */
  start(): void {
    if (this._state !== 'idle') return;
    this._state = 'waiting';
    this.arm();
    this.giveUpTimer = this.options.clock.setTimer(this.options.timers.twoXxGiveUp, () => {
      this.giveUpTimer = undefined;
      if (this._state !== 'waiting') return;
      this.clear('gave-up');
      this.options.onNoAck();
    });
  }

  /** The ACK for this 2xx arrived: stop retransmitting. */
  ackReceived(): void {
    if (this._state === 'waiting' || this._state === 'idle') this.clear('acked');
  }

  /** Stop without an ACK (e.g. the call was torn down). */
  stop(): void {
    if (this._state === 'waiting' || this._state === 'idle') this.clear('stopped');
  }

  private arm(): void {
    this.retransmitTimer = this.options.clock.setTimer(this.interval, () => {
      this.retransmitTimer = undefined;
      if (this._state !== 'waiting') return;
      this.count++;
      this.options.retransmit();
      this.interval = nextRetransmitInterval(this.interval, this.options.timers.T2);
      if (this._state === 'waiting') this.arm();
    });
  }

  private clear(state: Uas2xxState): void {
    this._state = state;
    this.retransmitTimer?.cancel();
    this.giveUpTimer?.cancel();
    this.retransmitTimer = this.giveUpTimer = undefined;
  }
}

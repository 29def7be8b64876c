/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2): the BYE, NOTIFY, REFER, OPTIONS we send.
 *
 *   Trying ── Timer E (UDP): resend, E = min(2E, T2)
 *     │ 1xx → Proceeding ── Timer E: resend, E = T2
 *     │ 2xx-6xx (from either) → Completed ── responses absorbed; Timer K (T4 on UDP, 0 reliable)
 *     │ Timer F (64*T1, from either) → Terminated, TU hears "timeout"
 *     │ transport error → Terminated, TU hears "transport-error" (§17.1.4)
 *
 * The TU gets the outcome as a promise that always resolves (never rejects) with a
 * discriminated union, so nothing can be an unhandled rejection; provisional responses go to an
 * optional callback.
 */
import type { Clock, TimerHandle } from '../../../core/clock.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import type { SendTarget } from '../transport/types.js';
import { nextRetransmitInterval, type SipTimers } from '../timers.js';
import type { ClientTransactionState, TransactionTransport } from './types.js';

export type ClientOutcome =
  | { kind: 'response'; response: SipResponse }
  | { kind: 'timeout' }
  | { kind: 'transport-error'; error: Error };

export interface NonInviteClientTransactionOptions {
  id: string;
  /** The request, its top Via (with our branch) already in place. */
  request: SipRequest;
  target: SendTarget;
  transport: TransactionTransport;
  clock: Clock;
  timers: SipTimers;
  onProvisional?: (response: SipResponse) => void;
  /** Called once when the transaction reaches Terminated (the layer forgets it). */
  terminated: (tx: NonInviteClientTransaction) => void;
}

export class NonInviteClientTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly target: SendTarget;
  /** The outcome: the final response, or why there is none. Resolves exactly once. */
  readonly outcome: Promise<ClientOutcome>;
  private settle!: (o: ClientOutcome) => void;
  private settled = false;
  private _state: ClientTransactionState = 'trying';
  private timerE: TimerHandle | undefined;
  private timerF: TimerHandle | undefined;
  private timerK: TimerHandle | undefined;
  private eInterval: number;
  private readonly reliable: boolean;
  private readonly opts: NonInviteClientTransactionOptions;
  private readonly onSendError = (err: Error): void => this.fail({ kind: 'transport-error', error: err });

  constructor(options: NonInviteClientTransactionOptions) {
    this.opts = options;
    this.id = options.id;
    this.request = options.request;
    this.target = options.target;
    this.eInterval = options.timers.E;
    this.reliable = options.transport.isReliable(options.target.transport);
    this.outcome = new Promise((resolve) => (this.settle = resolve));
  }

  get state(): ClientTransactionState {
    return this._state;
  }

  /** Sends the request and starts Timers E and F. Called once by the layer after registering. */
  start(): void {
    this.send();
    if (this._state === 'terminated') return;
    if (!this.reliable) this.armE();
    this.timerF = this.opts.clock.setTimer(this.opts.timers.F, () => {
      this.timerF = undefined;
      this.fail({ kind: 'timeout' });
    });
  }

  /** A response whose branch and CSeq method matched this transaction. */
  receive(response: SipResponse): void {
    if (this._state !== 'trying' && this._state !== 'proceeding') return; // Completed absorbs
    if (response.status < 200) {
      this._state = 'proceeding';
      this.opts.onProvisional?.(response);
      return;
    }
    this._state = 'completed';
    this.timerE?.cancel();
    this.timerF?.cancel();
    this.timerE = this.timerF = undefined;
    this.resolve({ kind: 'response', response });
    const K = this.opts.timers.K;
    if (K === 0) this.terminate();
    else this.timerK = this.opts.clock.setTimer(K, () => this.terminate());
  }

  /** Ends the transaction at once; a TU still waiting hears "transport-error" (layer shutdown). */
  terminate(): void {
    if (this._state === 'terminated') return;
    this._state = 'terminated';
    this.timerE?.cancel();
    this.timerF?.cancel();
    this.timerK?.cancel();
    this.timerE = this.timerF = this.timerK = undefined;
    this.resolve({ kind: 'transport-error', error: new Error(`transaction ${this.id} ended before a final response`) });
    this.opts.terminated(this);
  }

  private send(): void {
    this.opts.transport.sendRequest(this.request, this.target).catch(this.onSendError);
  }

  private armE(): void {
    this.timerE = this.opts.clock.setTimer(this.eInterval, () => {
      if (this._state !== 'trying' && this._state !== 'proceeding') return;
      this.send();
      // §17.1.2.2: in Proceeding the interval is T2; in Trying it doubles up to T2.
      this.eInterval =
        this._state === 'proceeding' ? this.opts.timers.T2 : nextRetransmitInterval(this.eInterval, this.opts.timers.T2);
      this.armE();
    });
  }

  private fail(outcome: ClientOutcome): void {
    if (this._state === 'terminated' || this._state === 'completed') return;
    this.resolve(outcome);
    this.terminate();
  }

  private resolve(outcome: ClientOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(outcome);
  }
}

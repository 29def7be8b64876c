/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2): BYE, OPTIONS, INFO, NOTIFY, REFER, CANCEL …
 *
 *   Trying ── 1xx from TU: send ──▶ Proceeding (retransmissions get the last provisional)
 *     │ (retransmissions absorbed)       │
 *     └──── final from TU: send ─────────┴──▶ Completed (retransmissions get the final again)
 *                                                │ Timer J (64*T1 on UDP, 0 on TCP/TLS)
 *                                                ▼
 *                                           Terminated
 *
 * One addition to the RFC: a TU that never answers would leave the transaction in Trying
 * forever. After 64*T1 (Timer F: the client has given up by then) the transaction ends and the
 * TU hears "timeout" — a leak guard, not a protocol event.
 */
import type { Clock, TimerHandle } from '../../../core/clock.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import type { ReceivedSource } from '../transport/types.js';
import type { SipTimers } from '../timers.js';
import type { ServerTransactionHooks } from './invite-server-transaction.js';
import {
  InvalidStateError,
  type ServerTransactionLike,
  type ServerTransactionState,
  type TransactionTransport,
} from './types.js';

export interface NonInviteServerTransactionOptions {
  id: string;
  request: SipRequest;
  source: ReceivedSource;
  transport: TransactionTransport;
  clock: Clock;
  timers: SipTimers;
  hooks: ServerTransactionHooks;
}

export class NonInviteServerTransaction implements ServerTransactionLike {
  readonly id: string;
  readonly request: SipRequest;
  readonly source: ReceivedSource;
  private _state: ServerTransactionState = 'trying';
  private lastResponse: SipResponse | undefined;
  private timer: TimerHandle | undefined;
  private readonly transport: TransactionTransport;
  private readonly clock: Clock;
  private readonly timers: SipTimers;
  private readonly hooks: ServerTransactionHooks;
  private readonly onSendError = (err: Error): void => this.transportError(err);

  constructor(options: NonInviteServerTransactionOptions) {
    this.id = options.id;
    this.request = options.request;
    this.source = options.source;
    this.transport = options.transport;
    this.clock = options.clock;
    this.timers = options.timers;
    this.hooks = options.hooks;
    this.timer = this.clock.setTimer(this.timers.F, () => this.onUnanswered());
  }

  get state(): ServerTransactionState {
    return this._state;
  }

  respond(response: SipResponse): void {
    if (this._state !== 'trying' && this._state !== 'proceeding') {
      throw new InvalidStateError(`${this.request.method} transaction ${this.id} is ${this._state}; cannot send ${response.status}`);
    }
    this.lastResponse = response;
    if (response.status < 200) {
      this._state = 'proceeding';
      this.send(response);
      return;
    }
    this._state = 'completed';
    this.timer?.cancel();
    this.timer = undefined;
    this.send(response);
    if (this.timers.J === 0) this.terminate();
    else this.timer = this.clock.setTimer(this.timers.J, () => this.terminate());
  }

  /** A retransmission of the request (§17.2.2). */
  receive(_request: SipRequest): void {
    if ((this._state === 'proceeding' || this._state === 'completed') && this.lastResponse !== undefined) {
      this.send(this.lastResponse);
    }
  }

  /** Ends the transaction at once, without telling the TU. */
  terminate(): void {
    if (this._state === 'terminated') return;
    this._state = 'terminated';
    this.timer?.cancel();
    this.timer = undefined;
    this.hooks.terminated(this);
  }

  private send(response: SipResponse): void {
    this.transport.sendResponse(response, this.source).catch(this.onSendError);
  }

  private onUnanswered(): void {
    this.timer = undefined;
    if (this._state !== 'trying' && this._state !== 'proceeding') return;
    this.terminate();
    this.hooks.failed(this, 'timeout');
  }

  private transportError(err: Error): void {
    if (this._state === 'terminated') return;
    this.terminate();
    this.hooks.failed(this, 'transport-error', err);
  }
}

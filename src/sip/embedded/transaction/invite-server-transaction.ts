/**
 * INVITE server transaction (RFC 3261 §17.2.1, with RFC 6026's Accepted state).
 *
 *            INVITE → send 100 Trying at once
 *   Proceeding ──1xx from TU: send──┐ (a retransmitted INVITE gets the last provisional again)
 *       │ 2xx from TU: send, Timer L              │ 3xx-6xx from TU: send, Timer G (UDP), Timer H
 *       ▼                                         ▼
 *   Accepted (RFC 6026 §8.7)                  Completed ── Timer G: resend, G = min(2G, T2)
 *     2xx from TU: send (the UAS core's           │  retransmitted INVITE: resend final
 *     retransmissions, uas-2xx-retransmitter)     │  Timer H: tell TU "no-ack", terminate
 *     INVITE retransmission: absorbed             │ ACK
 *     ACK: handed to the TU                       ▼
 *       │ Timer L                             Confirmed ── ACKs absorbed; Timer I (T4 / 0)
 *       ▼                                         ▼
 *   Terminated ◀──────────────────────────────────┘
 *
 * A transport error while sending terminates the transaction and tells the TU (§17.2.4).
 */
import type { Clock, TimerHandle } from '../../../core/clock.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import type { ReceivedSource } from '../transport/types.js';
import { nextRetransmitInterval, type SipTimers } from '../timers.js';
import { makeResponse } from './make-response.js';
import {
  InvalidStateError,
  type ServerTransactionLike,
  type ServerTransactionState,
  type TransactionFailure,
  type TransactionTransport,
} from './types.js';

export interface ServerTransactionHooks {
  /** Called once when the transaction reaches Terminated (the layer forgets it). */
  terminated(tx: ServerTransactionLike): void;
  /** Timer H, transport error. */
  failed(tx: ServerTransactionLike, reason: TransactionFailure, error?: Error): void;
}

export interface InviteServerTransactionOptions {
  id: string;
  request: SipRequest;
  source: ReceivedSource;
  transport: TransactionTransport;
  clock: Clock;
  timers: SipTimers;
  hooks: ServerTransactionHooks;
}

/** What `receive` did with a request that matched this transaction. */
export type InviteServerReceipt = 'absorbed' | 'ack-to-tu';

export class InviteServerTransaction implements ServerTransactionLike {
  readonly id: string;
  readonly request: SipRequest;
  readonly source: ReceivedSource;
  private _state: ServerTransactionState = 'proceeding';
  private lastProvisional: SipResponse | undefined;
  private finalResponse: SipResponse | undefined;
  private timerG: TimerHandle | undefined;
  private timerH: TimerHandle | undefined;
  private timerI: TimerHandle | undefined;
  private timerL: TimerHandle | undefined;
  private gInterval: number;
  private readonly transport: TransactionTransport;
  private readonly clock: Clock;
  private readonly timers: SipTimers;
  private readonly hooks: ServerTransactionHooks;
  private readonly onSendError = (err: Error): void => this.transportError(err);

  constructor(options: InviteServerTransactionOptions) {
    this.id = options.id;
    this.request = options.request;
    this.source = options.source;
    this.transport = options.transport;
    this.clock = options.clock;
    this.timers = options.timers;
    this.hooks = options.hooks;
    this.gInterval = this.timers.G;
  }

  get state(): ServerTransactionState {
    return this._state;
  }

  /** The final response sent, if any (the 2xx the UAS core retransmits, or the error response). */
  get final(): SipResponse | undefined {
    return this.finalResponse;
  }

  /**
   * Sends 100 Trying (§17.2.1: "MUST generate a 100 (Trying)" unless the TU answers within
   * 200 ms; we always send it at once, before the TU has looked at the request, so a slow lookup
   * never makes the carrier retransmit).
   */
  sendTrying(): void {
    if (this._state !== 'proceeding' || this.lastProvisional !== undefined) return;
    this.respond(makeResponse(this.request, 100));
  }

  respond(response: SipResponse): void {
    const status = response.status;
    switch (this._state) {
      case 'proceeding':
        if (status < 200) {
          this.lastProvisional = response;
          this.send(response);
        } else if (status < 300) {
          this.finalResponse = response;
          this._state = 'accepted';
          this.send(response);
          // RFC 6026 §8.7: Timer L keeps the transaction to absorb INVITE retransmissions.
          this.timerL = this.clock.setTimer(this.timers.L, () => this.terminate());
        } else {
          this.finalResponse = response;
          this._state = 'completed';
          this.send(response);
          if (!this.transport.isReliable(this.source.transport)) this.armG();
          this.timerH = this.clock.setTimer(this.timers.H, () => this.onTimerH());
        }
        return;
      case 'accepted':
        // RFC 6026 §8.7: further 2xx from the TU (its retransmissions) go out; nothing else may.
        if (status >= 200 && status < 300) {
          this.send(response);
          return;
        }
        throw new InvalidStateError(`INVITE transaction ${this.id} already accepted; cannot send ${status}`);
      default:
        throw new InvalidStateError(`INVITE transaction ${this.id} is ${this._state}; cannot send ${status}`);
    }
  }

  /**
   * Sends the 2xx again (the UAS core's retransmissions until ACK, RFC 3261 §13.3.1.4; see
   * Uas2xxRetransmitter). Works after Timer L has ended the transaction too: by then the
   * retransmissions are the core's business alone. Does nothing if no 2xx was sent.
   */
  resend2xx(): void {
    const r = this.finalResponse;
    if (r === undefined || r.status < 200 || r.status >= 300) return;
    this.transport.sendResponse(r, this.source).catch(() => undefined);
  }

  /** A request that matched this transaction: a retransmitted INVITE, or an ACK. */
  receive(request: SipRequest): InviteServerReceipt {
    if (request.method === 'ACK') {
      switch (this._state) {
        case 'completed':
          this._state = 'confirmed';
          this.timerG?.cancel();
          this.timerG = undefined;
          this.timerH?.cancel();
          this.timerH = undefined;
          if (this.timers.I === 0) this.terminate();
          else this.timerI = this.clock.setTimer(this.timers.I, () => this.terminate());
          return 'absorbed';
        case 'accepted':
          return 'ack-to-tu'; // RFC 6026 §8.7: the ACK for a 2xx belongs to the TU
        default:
          return 'absorbed';
      }
    }
    // A retransmitted INVITE.
    if (this._state === 'proceeding' && this.lastProvisional !== undefined) this.send(this.lastProvisional);
    else if (this._state === 'completed' && this.finalResponse !== undefined) this.send(this.finalResponse);
    return 'absorbed';
  }

  /** Ends the transaction at once, without telling the TU (used when the layer shuts down). */
  terminate(): void {
    if (this._state === 'terminated') return;
    this._state = 'terminated';
    this.timerG?.cancel();
    this.timerH?.cancel();
    this.timerI?.cancel();
    this.timerL?.cancel();
    this.timerG = this.timerH = this.timerI = this.timerL = undefined;
    this.hooks.terminated(this);
  }

  private send(response: SipResponse): void {
    this.transport.sendResponse(response, this.source).catch(this.onSendError);
  }

  private armG(): void {
    this.timerG = this.clock.setTimer(this.gInterval, () => {
      if (this._state !== 'completed' || this.finalResponse === undefined) return;
      this.send(this.finalResponse);
      this.gInterval = nextRetransmitInterval(this.gInterval, this.timers.T2);
      this.armG();
    });
  }

  private onTimerH(): void {
    this.timerH = undefined;
    if (this._state !== 'completed') return;
    this.terminate();
    this.hooks.failed(this, 'no-ack');
  }

  private transportError(err: Error): void {
    if (this._state === 'terminated') return;
    this.terminate();
    this.hooks.failed(this, 'transport-error', err);
  }
}

/**
 * One incoming call on the embedded engine: the IncomingCall port over an INVITE server
 * transaction and, once answered, a dialog. States:
 *
 *   offered ──progress──▶ offered ──answer──▶ answered ──ACK──▶ confirmed ──BYE (either side)──▶ ended
 *      │ reject / CANCEL                        │ no ACK in 64*T1 → BYE                     ▲
 *      └────────────────────────────────────────┴───────────────────────────────────────────┘
 *
 * `ended` is emitted exactly once, whichever way the call ends.
 */
import type { Clock } from '../../../core/clock.js';
import { TypedEmitter } from '../../../core/typed-emitter.js';
import type {
  CallEndReason,
  IncomingCall,
  IncomingCallEvents,
  IncomingCallInfo,
  ReferProgress,
  RejectOptions,
  ReinviteHandler,
} from '../../sip-engine.js';
import { parseNameAddr, tagOf } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import { makeResponse } from '../transaction/make-response.js';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.js';
import { Uas2xxRetransmitter } from '../transaction/uas-2xx-retransmitter.js';
import type { SipTimers } from '../timers.js';
import { Dialog, newTag } from './dialog.js';

export type CallState = 'offered' | 'answered' | 'confirmed' | 'ended';

/** What a call needs from the UA core that owns it. */
export interface CallHost {
  clock: Clock;
  timers: SipTimers;
  /** Adds Contact, Allow, Supported, Server to a response we build. */
  decorate(response: SipResponse): void;
  /** Sends an in-dialog request in a client transaction; resolves with the final status (or 408/503-ish codes for timeout/transport errors). */
  sendInDialog(dialog: Dialog, request: SipRequest): Promise<{ status: number; reason: string }>;
  registerDialog(call: EmbeddedCall): void;
  /** A tagged 1xx went out: in-dialog requests (a caller's BYE) can now match the early dialog. */
  registerEarly(call: EmbeddedCall): void;
  forget(call: EmbeddedCall): void;
}

export class EmbeddedCall extends TypedEmitter<IncomingCallEvents> implements IncomingCall {
  private _state: CallState = 'offered';
  readonly localTag = newTag();
  /** The Contact of our 200 OK (in-dialog requests we send carry it too). */
  private localContact: string | undefined;
  private dialog: Dialog | undefined;
  private retransmitter: Uas2xxRetransmitter | undefined;
  private lastLocalSdp: string | null = null;
  private reinviteHandler: ReinviteHandler | undefined;
  private pendingRefer: { resolve: (p: ReferProgress) => void } | undefined;
  /** hangup() before the ACK: §15 forbids a BYE until the 2xx is acknowledged (or given up). */
  private byeAfterAck: { resolve: () => void; promise: Promise<void> } | undefined;

  constructor(
    readonly info: IncomingCallInfo,
    readonly invite: SipRequest,
    private readonly tx: InviteServerTransaction,
    private readonly host: CallHost,
  ) {
    super();
  }

  get state(): CallState {
    return this._state;
  }

  get inviteTransaction(): InviteServerTransaction {
    return this.tx;
  }

  get dialogKey(): string | undefined {
    return this.dialog?.key;
  }

  /** The key in-dialog requests carry before the dialog is confirmed (our tag, the caller's tag). */
  get earlyKey(): string {
    return Dialog.keyOf(this.info.callId, this.localTag, tagOf(parseNameAddr(this.invite.headers.get('from') ?? '')) ?? '');
  }

  progress(status: 180 | 183, sdp?: string): void {
    this.requireState('offered', 'progress');
    const r = makeResponse(this.invite, status, { toTag: this.localTag });
    this.host.decorate(r);
    if (sdp !== undefined) setSdp(r, sdp);
    this.tx.respond(r);
    this.host.registerEarly(this);
  }

  async answer(sdp: string): Promise<void> {
    this.requireState('offered', 'answer');
    this._state = 'answered';
    this.dialog = new Dialog(this.invite, this.tx.source, this.localTag);
    this.host.registerDialog(this);
    const ok = makeResponse(this.invite, 200, { toTag: this.localTag });
    this.host.decorate(ok);
    this.localContact = ok.headers.get('contact');
    setSdp(ok, sdp);
    this.lastLocalSdp = sdp;
    this.tx.respond(ok);
    this.retransmitter = new Uas2xxRetransmitter({
      clock: this.host.clock,
      timers: this.host.timers,
      retransmit: () => this.tx.resend2xx(),
      // §13.3.1.4: no ACK — confirm and end the session at once with BYE.
      onNoAck: () => void this.sendBye('no-ack').then(() => this.byeAfterAck?.resolve()),
    });
    this.retransmitter.start();
  }

  reject(status: number, options: RejectOptions = {}): void {
    this.requireState('offered', 'reject');
    if (status < 300 || status > 699) throw new TypeError(`reject needs a 3xx-6xx status, got ${status}`);
    const r = makeResponse(this.invite, status, { toTag: this.localTag, ...(options.reason ? { reason: options.reason } : {}) });
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      for (const v of typeof value === 'string' ? [value] : value) r.headers.append(name, v);
    }
    if (status === 405 || status === 501) this.host.decorate(r);
    this.tx.respond(r);
    this.end('rejected');
  }

  async hangup(): Promise<void> {
    if (this._state === 'ended') return;
    if (this._state === 'offered') {
      // Not answered yet: the gateway gives up on the call (480), there is no dialog to BYE.
      this.reject(480, { reason: 'Temporarily Unavailable' });
      return;
    }
    if (this._state === 'answered') {
      // The BYE goes out as soon as the ACK arrives, or when we give up waiting for it (64*T1).
      if (!this.byeAfterAck) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.byeAfterAck = { resolve, promise };
      }
      return this.byeAfterAck.promise;
    }
    await this.sendBye('local-bye');
  }

  setReinviteHandler(handler: ReinviteHandler): void {
    this.reinviteHandler = handler;
  }

  async refer(target: string): Promise<ReferProgress> {
    if (this._state !== 'confirmed' && this._state !== 'answered') throw new TypeError(`cannot REFER a call in state ${this._state}`);
    const dialog = this.dialog!;
    const req = dialog.createRequest('REFER', {
      headers: [
        ['refer-to', `<${target}>`],
        ['referred-by', `<${parseNameAddr(dialog.localUriHeader).uri}>`],
        // REFER is a target refresh request (RFC 3515 §2.4.1): it must carry our Contact, where
        // the transferee sends its NOTIFYs.
        ...(this.localContact === undefined ? [] : [['contact', this.localContact] as [string, string]]),
      ],
    });
    const progress = new Promise<ReferProgress>((resolve) => (this.pendingRefer = { resolve }));
    const r = await this.host.sendInDialog(dialog, req);
    if (r.status >= 300) {
      this.pendingRefer = undefined;
      return { status: r.status, reason: r.reason };
    }
    return progress;
  }

  // ── from the UA core ────────────────────────────────────────────────────────

  /** The ACK for our 2xx. */
  onAck(): void {
    if (this._state !== 'answered') return;
    this.retransmitter?.ackReceived();
    this._state = 'confirmed';
    if (this.byeAfterAck) {
      const waiting = this.byeAfterAck;
      void this.sendBye('local-bye').then(() => waiting.resolve());
      return;
    }
    this.emit('confirmed');
  }

  /** CANCEL for the INVITE (the core has answered the CANCEL 200). */
  onCancel(): void {
    if (this._state !== 'offered') return;
    const r = makeResponse(this.invite, 487, { toTag: this.localTag });
    this.tx.respond(r);
    this.emit('cancel');
    this.end('cancelled');
  }

  /**
   * A BYE from the caller (answered 200 by the core). In the early dialog (before our 2xx) the
   * INVITE is answered 487 (§15.1.2).
   */
  onRemoteBye(): void {
    if (this._state === 'ended') return;
    if (this._state === 'offered') this.tx.respond(makeResponse(this.invite, 487, { toTag: this.localTag }));
    this.retransmitter?.stop();
    this.end('remote-bye');
  }

  /** A re-INVITE: our SDP for the 200, or null to refuse it (488). May be async. */
  answerReinvite(offerSdp: string | null): string | null | Promise<string | null> {
    const answer = this.reinviteHandler ? this.reinviteHandler(offerSdp) : this.lastLocalSdp;
    const remember = (a: string | null): string | null => {
      if (a !== null) this.lastLocalSdp = a;
      return a;
    };
    return answer instanceof Promise ? answer.then(remember) : remember(answer);
  }

  onInfo(contentType: string | null, body: string): void {
    this.emit('info', contentType, body);
  }

  /** NOTIFY with a message/sipfrag body about our REFER. */
  onReferNotify(sipfrag: string, subscriptionTerminated: boolean): void {
    const m = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/m.exec(sipfrag);
    if (!m || !this.pendingRefer) return;
    const status = Number(m[1]);
    if (status >= 200 || subscriptionTerminated) {
      this.pendingRefer.resolve({ status, reason: (m[2] ?? '').trim() });
      this.pendingRefer = undefined;
    }
  }

  /** The transport or the engine gave up on this call. */
  abort(reason: CallEndReason): void {
    this.retransmitter?.stop();
    this.end(reason);
  }

  dialogRef(): Dialog | undefined {
    return this.dialog;
  }

  private async sendBye(reason: CallEndReason): Promise<void> {
    if (this._state === 'ended' || !this.dialog) return;
    this.retransmitter?.stop();
    const dialog = this.dialog;
    // Mark ended first: a BYE crossing ours, or a late ACK, must not resurrect the call.
    this.end(reason);
    await this.host.sendInDialog(dialog, dialog.createRequest('BYE'));
  }

  private end(reason: CallEndReason): void {
    if (this._state === 'ended') return;
    this._state = 'ended';
    this.byeAfterAck?.resolve();
    this.pendingRefer?.resolve({ status: 487, reason: 'call ended' });
    this.pendingRefer = undefined;
    this.host.forget(this);
    this.emit('ended', reason);
  }

  private requireState(state: CallState, action: string): void {
    if (this._state !== state) throw new TypeError(`cannot ${action} a call in state ${this._state}`);
  }
}

export function setSdp(msg: { headers: SipResponse['headers']; body: Buffer }, sdp: string): void {
  msg.headers.set('content-type', 'application/sdp');
  msg.body = Buffer.from(sdp, 'utf8');
}

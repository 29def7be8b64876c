/**
 * The UAS core (RFC 3261 §8.2, §12, §13.3, §15): the transaction user. It turns new INVITEs into
 * EmbeddedCalls for the engine, routes in-dialog requests (ACK, BYE, re-INVITE, INFO, NOTIFY) to
 * their call, answers CANCEL, OPTIONS and everything we do not do (405/501/420/483/481), and sends
 * our in-dialog requests through client transactions. It never touches a socket.
 */
import type { Clock } from '../../../core/clock.js';
import type { Logger } from '../../../core/logger.js';
import { parseCSeq, parseNameAddr, tagOf } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import { makeResponse } from '../transaction/make-response.js';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.js';
import type { NonInviteServerTransaction } from '../transaction/non-invite-server-transaction.js';
import type { ServerTransaction, TransactionLayer, TransactionUser } from '../transaction/transaction-layer.js';
import type { TransactionFailure } from '../transaction/types.js';
import { Uas2xxRetransmitter } from '../transaction/uas-2xx-retransmitter.js';
import type { TimerTables } from '../timers.js';
import type { ReceivedSource } from '../transport/types.js';
import { callInfoFrom } from './call-info.js';
import { Dialog } from './dialog.js';
import { EmbeddedCall, setSdp, type CallHost } from './embedded-call.js';

/** Methods we accept (Allow), and methods we know but refuse (405); anything else is 501. */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'NOTIFY'] as const;
const KNOWN_METHODS = new Set([...ALLOWED_METHODS, 'REGISTER', 'SUBSCRIBE', 'PUBLISH', 'MESSAGE', 'REFER', 'UPDATE', 'PRACK']);

export interface UserAgentCoreOptions {
  clock: Clock;
  timers: TimerTables;
  log: Logger;
  serverName: string;
  retryAfterS: number;
  /** Contact URI for responses to a request that arrived on `source` (where in-dialog requests must come). */
  /**
   * Contact URI for responses to a request that arrived on `source`. `sips` is true only when
   * the request's Request-URI was a sips: URI (RFC 3261 §12.1.1); a sip: request over TLS gets
   * `sip:…;transport=tls`, which every client can route to (some cannot route to sips:).
   */
  contactFor(source: ReceivedSource, sips: boolean): string;
  isAccepting(): boolean;
  onCall(call: EmbeddedCall): void;
}

export class UserAgentCore implements TransactionUser {
  private txLayer!: TransactionLayer;
  private readonly dialogs = new Map<string, EmbeddedCall>();
  /** Calls not yet answered, by their INVITE transaction (for CANCEL). */
  private readonly offered = new WeakMap<InviteServerTransaction, EmbeddedCall>();
  private readonly live = new Set<EmbeddedCall>();
  /** 2xx retransmission for re-INVITEs, by dialog key, until the ACK with their CSeq. */
  private readonly reinvite2xx = new Map<string, { seq: number; retransmitter: Uas2xxRetransmitter }>();
  /** Early dialogs (a tagged 1xx went out, no 2xx yet), by dialog key. */
  private readonly early = new Map<string, EmbeddedCall>();
  /** INVITEs being handled, by Call-ID + From tag + CSeq, to spot merged requests (§8.2.2.2). */
  private readonly pendingInvites = new Map<string, EmbeddedCall>();

  constructor(private readonly opts: UserAgentCoreOptions) {}

  attach(txLayer: TransactionLayer): void {
    this.txLayer = txLayer;
  }

  /** Calls in any state but ended. */
  calls(): EmbeddedCall[] {
    return [...this.live];
  }

  // ── TransactionUser ─────────────────────────────────────────────────────────

  onRequest(request: SipRequest, tx: ServerTransaction): void {
    const method = request.method;
    const mf = request.headers.get('max-forwards');
    if (mf !== undefined && Number(mf.trim()) === 0 && method !== 'OPTIONS') return this.reply(tx, 483);
    if (!/^(sips?|tel):/i.test(request.uri)) return this.reply(tx, 416, [], 'Unsupported URI Scheme'); // §8.2.2.1
    const require = request.headers.getAll('require').flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
    if (require.length > 0 && method !== 'ACK' && method !== 'CANCEL') {
      return this.reply(tx, 420, [['unsupported', require.join(', ')]]);
    }
    const toTag = tagOf(parseNameAddr(request.headers.get('to') ?? ''));
    switch (method) {
      case 'INVITE':
        return toTag === undefined ? this.newInvite(request, tx as InviteServerTransaction) : this.reInvite(request, tx as InviteServerTransaction);
      case 'BYE':
        return this.inDialog(request, tx, (call) => {
          this.reply(tx, 200);
          call.onRemoteBye();
        });
      case 'INFO':
        return this.inDialog(request, tx, (call) => {
          this.reply(tx, 200);
          call.onInfo(request.headers.get('content-type') ?? null, request.body.toString('utf8'));
        });
      case 'NOTIFY':
        return this.inDialog(request, tx, (call) => {
          this.reply(tx, 200);
          const event = (request.headers.get('event') ?? '').split(';')[0]!.trim().toLowerCase();
          if (event === 'refer') {
            const state = (request.headers.get('subscription-state') ?? '').toLowerCase();
            call.onReferNotify(request.body.toString('utf8'), state.startsWith('terminated'));
          }
        });
      case 'OPTIONS':
        // With a To tag it probes a dialog (§12.2.2): 200 while it lives, even when draining.
        if (toTag !== undefined) return this.inDialog(request, tx, () => this.options(request, tx, true));
        return this.options(request, tx);
      default:
        return this.reply(tx, KNOWN_METHODS.has(method) ? 405 : 501);
    }
  }

  onAck(ack: SipRequest, _source: ReceivedSource): void {
    const call = this.dialogOf(ack);
    if (!call || call.dialogKey === undefined) return;
    const key = call.dialogKey;
    const seq = parseCSeq(ack.headers.get('cseq') ?? '').seq;
    const re = this.reinvite2xx.get(key);
    if (re && re.seq === seq) {
      re.retransmitter.ackReceived();
      this.reinvite2xx.delete(key);
      return;
    }
    call.onAck();
  }

  onCancel(_cancel: SipRequest, cancelTx: NonInviteServerTransaction, invite: InviteServerTransaction | undefined): void {
    const call = invite && this.offered.get(invite);
    if (!invite) return this.reply(cancelTx, 481);
    this.reply(cancelTx, 200);
    call?.onCancel();
  }

  onServerFailure(tx: ServerTransaction, reason: TransactionFailure): void {
    if (reason !== 'transport-error') return;
    const call = this.offered.get(tx as InviteServerTransaction);
    call?.abort('transport-error');
  }

  // ── our requests ───────────────────────────────────────────────────────────

  async sendInDialog(dialog: Dialog, request: SipRequest): Promise<{ status: number; reason: string }> {
    try {
      const tx = this.txLayer.sendRequest(request, dialog.target());
      const outcome = await tx.outcome;
      if (outcome.kind === 'response') return { status: outcome.response.status, reason: outcome.response.reason };
      return outcome.kind === 'timeout' ? { status: 408, reason: 'Request Timeout' } : { status: 503, reason: 'transport error' };
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, method: request.method }, 'could not send in-dialog request');
      return { status: 503, reason: 'not sent' };
    }
  }

  // ── internals ──────────────────────────────────────────────────────────────

  private newInvite(request: SipRequest, tx: InviteServerTransaction): void {
    const accept = request.headers.getAll('accept').join(',');
    if (accept.trim() !== '' && !/(^|,)\s*(application\/sdp|application\/\*|\*\/\*)\s*(;|,|$)/i.test(accept)) {
      return this.reply(tx, 406, [['accept', 'application/sdp']]);
    }
    const fromTag = tagOf(parseNameAddr(request.headers.get('from') ?? '')) ?? '';
    const mergeKey = `${request.headers.get('call-id') ?? ''}\u0000${fromTag}\u0000${parseCSeq(request.headers.get('cseq') ?? '').seq}`;
    if (this.pendingInvites.has(mergeKey)) return this.reply(tx, 482, [], 'Loop Detected');
    const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (request.body.length > 0 && type !== 'application/sdp') {
      return this.reply(tx, 415, [['accept', 'application/sdp']]);
    }
    let call: EmbeddedCall;
    try {
      call = new EmbeddedCall(callInfoFrom(request, tx.source), request, tx, this.hostFor(tx.source, request.uri));
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'unusable INVITE');
      return this.reply(tx, 400, [], 'Bad Request');
    }
    this.offered.set(tx, call);
    this.live.add(call);
    this.pendingInvites.set(mergeKey, call);
    call.once('ended', () => this.pendingInvites.delete(mergeKey));
    try {
      this.opts.onCall(call);
    } catch (err) {
      this.opts.log.error({ err: (err as Error).message, callId: call.info.callId }, 'call handler failed: ending the call');
      if (call.state === 'offered') call.reject(500);
      else void call.hangup();
    }
  }

  private reInvite(request: SipRequest, tx: InviteServerTransaction): void {
    this.inDialog(request, tx, (call) => {
      // A re-INVITE before our 2xx (early dialog): the first INVITE is still pending (§14.2).
      if (call.dialogKey === undefined) return this.reply(tx, 491);
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const offer = request.body.length > 0 && type === 'application/sdp' ? request.body.toString('utf8') : null;
      const respond = (answer: string | null): void => {
        if (call.state === 'ended' || tx.state !== 'proceeding') return;
        if (answer === null) return this.reply(tx, 488);
        const ok = makeResponse(request, 200);
        this.decorate(ok, tx.source, request.uri);
        setSdp(ok, answer);
        tx.respond(ok);
        const key = call.dialogKey!;
        this.reinvite2xx.get(key)?.retransmitter.stop();
        const r = new Uas2xxRetransmitter({
          clock: this.opts.clock,
          timers: this.timersFor(tx.source),
          retransmit: () => tx.resend2xx(),
          onNoAck: () => {
            this.reinvite2xx.delete(key);
            void call.hangup();
          },
        });
        this.reinvite2xx.set(key, { seq: parseCSeq(request.headers.get('cseq') ?? '').seq, retransmitter: r });
        r.start();
      };
      const answer = call.answerReinvite(offer);
      if (!(answer instanceof Promise)) return respond(answer);
      answer.then(respond, (err: Error) => {
        this.opts.log.error({ err: err.message, callId: call.info.callId }, 're-INVITE handler failed: ending the call');
        if (tx.state === 'proceeding') this.reply(tx, 500);
        void call.hangup();
      });
    });
  }

  private inDialog(request: SipRequest, tx: ServerTransaction, fn: (call: EmbeddedCall) => void): void {
    const call = this.dialogOf(request);
    if (!call) return this.reply(tx, 481);
    const cseq = parseCSeq(request.headers.get('cseq') ?? '');
    const dialog = call.dialogRef();
    if (dialog && !dialog.acceptRemoteCSeq(cseq.seq)) return this.reply(tx, 500, [['retry-after', '1']], 'Out of order CSeq');
    try {
      fn(call);
    } catch (err) {
      // A fault in one call's handling ends that call, never the engine.
      this.opts.log.error({ err: (err as Error).message, method: request.method, callId: call.info.callId }, 'in-dialog request failed: ending the call');
      if (tx.state === 'trying' || tx.state === 'proceeding') this.reply(tx, 500);
      void call.hangup();
    }
  }

  private options(request: SipRequest, tx: ServerTransaction, inDialog = false): void {
    if (!inDialog && !this.opts.isAccepting()) {
      return this.reply(tx, 503, [['retry-after', String(this.opts.retryAfterS)]]);
    }
    const r = makeResponse(request, 200, { toTag: 'o' + Math.random().toString(36).slice(2, 10) });
    this.decorate(r, tx.source, request.uri);
    r.headers.append('accept', 'application/sdp');
    tx.respond(r);
  }

  /** Whether a request belongs to a dialog (early or confirmed) of ours: Call-ID and both tags match. */
  knowsDialog(request: SipRequest): boolean {
    try {
      return this.dialogOf(request) !== undefined;
    } catch {
      return false; // a From/To the UA could not parse: not ours
    }
  }

  private dialogOf(request: SipRequest): EmbeddedCall | undefined {
    const callId = request.headers.get('call-id') ?? '';
    const localTag = tagOf(parseNameAddr(request.headers.get('to') ?? ''));
    const remoteTag = tagOf(parseNameAddr(request.headers.get('from') ?? '')) ?? '';
    if (localTag === undefined) return undefined;
    const key = Dialog.keyOf(callId, localTag, remoteTag);
    return this.dialogs.get(key) ?? this.early.get(key);
  }

  private reply(tx: ServerTransaction, status: number, headers: Array<[string, string]> = [], reason?: string): void {
    const r = makeResponse(tx.request, status, {
      toTag: 't' + Math.random().toString(36).slice(2, 10),
      ...(reason ? { reason } : {}),
    });
    for (const [n, v] of headers) r.headers.append(n, v);
    if (status === 405 || status === 501 || status === 200) this.decorate(r, tx.source, tx.request.uri);
    try {
      tx.respond(r);
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message, status }, 'response not sent');
    }
  }

  private decorate(r: SipResponse, source: ReceivedSource, requestUri: string): void {
    const sips = requestUri.slice(0, 5).toLowerCase() === 'sips:';
    if (!r.headers.has('contact') && r.status < 300) r.headers.append('contact', this.opts.contactFor(source, sips));
    r.headers.append('allow', ALLOWED_METHODS.join(', '));
    r.headers.append('server', this.opts.serverName);
  }

  private timersFor(source: ReceivedSource) {
    return source.transport === 'udp' ? this.opts.timers.unreliable : this.opts.timers.reliable;
  }

  /** What one call needs from the core, bound to the transport its INVITE came in on. */
  private hostFor(source: ReceivedSource, requestUri: string): CallHost {
    return {
      clock: this.opts.clock,
      timers: this.timersFor(source),
      decorate: (r) => this.decorate(r, source, requestUri),
      sendInDialog: (dialog, request) => this.sendInDialog(dialog, request),
      registerDialog: (call) => {
        this.early.delete(call.earlyKey);
        this.dialogs.set(call.dialogKey!, call);
        // The INVITE transaction lives on for Timer L (32 s); it must not keep the call alive.
        this.offered.delete(call.inviteTransaction);
      },
      registerEarly: (call) => this.early.set(call.earlyKey, call),
      forget: (call) => {
        this.live.delete(call);
        this.early.delete(call.earlyKey);
        this.offered.delete(call.inviteTransaction);
        const key = call.dialogKey;
        if (key !== undefined) {
          this.dialogs.delete(key);
          this.reinvite2xx.get(key)?.retransmitter.stop();
          this.reinvite2xx.delete(key);
        }
      },
    };
  }
}

import type { Socket } from 'node:net';
import type Srf from 'drachtio-srf';
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type {
  CallEndReason,
  IncomingCall,
  IncomingCallEvents,
  IncomingCallInfo,
  ReferProgress,
  RejectOptions,
  ReinviteHandler,
} from '../sip-engine.js';
import { buildCallInfo } from './call-info.js';
import type { ListeningAddress } from './hostports.js';
import { parseSipfragStatus } from './sipfrag.js';
import { CARRIAGE_ANSWER, carriageProblem, type CarriageProblem } from './request-screen.js';
import { sendBareResponse } from './srf-connection.js';

/**
 * One incoming call on the drachtio engine: the SipEngine port's IncomingCall mapped onto
 * drachtio-srf's request/response pair (before answer) and its UAS Dialog (after).
 *
 * drachtio-server does the transaction work (100 Trying, 2xx retransmission until ACK, 487 on
 * CANCEL, ACK for non-2xx); this class only decides what to answer and turns drachtio-srf's
 * callbacks into the port's events. `ended` is emitted exactly once, whatever ends the call.
 *
 * States: offered → (answering →) answered → ended; offered → ended (reject, CANCEL, stop).
 */

type CallState = 'offered' | 'answering' | 'answered' | 'ended';

export interface DrachtioCallDeps {
  readonly srf: Srf;
  readonly clock: Clock;
  /** drachtio-server's SIP listeners, for `info.localAddress` when the server does not say. */
  readonly listeners: ReadonlyArray<ListeningAddress>;
  /** Child logger carrying the Call-ID. */
  readonly logger: Logger;
  /** Upper bound for hangup(): drachtio-server reports a timed-out BYE (408) after Timer F. */
  readonly byeTimeoutMs: number;
  /** Upper bound for answer(): drachtio-server confirms a sent 200 OK in milliseconds, unless the link is deaf. */
  readonly answerTimeoutMs: number;
  /** How long refer() waits for a final NOTIFY before resolving with 408. */
  readonly referTimeoutMs: number;
  /** Called once, right after `ended` is emitted. */
  readonly onEnded: (call: DrachtioCall) => void;
  /** An in-dialog request drachtio-server could not carry an answer to was refused (counted by the engine). */
  readonly onUncarriable?: (problem: CarriageProblem) => void;
}

const SDP = 'application/sdp';

export class DrachtioCall extends TypedEmitter<IncomingCallEvents> implements IncomingCall {
  readonly info: IncomingCallInfo;
  private state: CallState = 'offered';
  private dialog: Srf.Dialog | null = null;
  private answering: Promise<void> | null = null;
  private reinviteHandler: ReinviteHandler | null = null;
  /** What we last put in a 200 OK: the default answer to a re-INVITE (port contract). */
  private lastLocalSdp: string | null = null;
  private referWaiter: ((progress: ReferProgress) => void) | null = null;
  private readonly log: Logger;

  constructor(
    private readonly req: Srf.SrfRequest,
    private readonly res: Srf.SrfResponse,
    private readonly deps: DrachtioCallDeps,
  ) {
    super();
    this.info = buildCallInfo(req, deps.listeners);
    this.log = deps.logger;
    // Registered before createUAS registers its own, so the port's `cancel` comes first.
    req.on('cancel', () => this.onCancel());
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  progress(status: 180 | 183, sdp?: string): void {
    if (status !== 180 && status !== 183) throw new TypeError(`progress(): status must be 180 or 183, not ${String(status)}`);
    this.requireState('offered', 'progress()');
    const opts: Srf.SendOptions = sdp ? { body: sdp, headers: { 'Content-Type': SDP } } : {};
    this.res.send(status, opts);
  }

  answer(sdp: string): Promise<void> {
    if (typeof sdp !== 'string' || sdp.trim() === '') throw new TypeError('answer(): sdp must be a non-empty string');
    this.requireState('offered', 'answer()');
    this.state = 'answering';
    this.lastLocalSdp = sdp;
    this.answering = new Promise<void>((resolve, reject) => {
      // A deaf drachtio-server never confirms: the call must not wait for it forever.
      const deadline = this.deps.clock.setTimer(this.deps.answerTimeoutMs, () => {
        if (this.state !== 'answering') return;
        this.log.warn({ answerTimeoutMs: this.deps.answerTimeoutMs }, 'drachtio-server did not confirm the 200 OK in time');
        this.finish('transport-error');
        reject(new Error(`drachtio-server did not confirm the 200 OK within ${this.deps.answerTimeoutMs} ms`));
      });
      this.deps.srf.createUAS(this.req, this.res, { localSdp: sdp, headers: { 'Content-Type': SDP } }, (err, dialog) => {
        deadline.cancel();
        if (err || !dialog) {
          if (this.endReason === 'cancelled' || (err as { status?: number } | null)?.status === 487) {
            // The caller's CANCEL crossed our 200 OK: an ordinary end, not a failure.
            this.log.info('CANCEL crossed the 200 OK; the call is cancelled');
            this.finish('cancelled');
            resolve();
            return;
          }
          if (this.state === 'ended') {
            reject(new TypeError(`answer(): the call ended before the 200 OK went out (${this.endReason ?? 'ended'})`));
            return;
          }
          const error = err instanceof Error ? err : new Error(`drachtio-server did not send the 200 OK: ${String(err)}`);
          this.log.warn({ err: error.message }, 'answer failed');
          this.finish('transport-error');
          reject(error);
          return;
        }
        if (this.state === 'ended') {
          // Stopped, orphaned or timed out while the 200 OK was on its way: do not leave the dialog up.
          this.sendBye(dialog).then(resolve, resolve);
          return;
        }
        this.attachDialog(dialog);
        this.state = 'answered';
        resolve();
      });
    });
    return this.answering;
  }

  reject(status: number, options: RejectOptions = {}): void {
    if (!Number.isInteger(status) || status < 300 || status > 699) {
      throw new TypeError(`reject(): status must be an integer from 300 to 699, not ${String(status)}`);
    }
    this.requireState('offered', 'reject()');
    const opts: Srf.SendOptions = { headers: headerLines(options.headers ?? {}) };
    try {
      if (options.reason) this.res.send(status, options.reason, opts);
      else this.res.send(status, opts);
    } catch (err) {
      // drachtio-srf refuses status codes it has no reason phrase for.
      throw new TypeError(`reject(): drachtio-srf refused status ${status}: ${(err as Error).message}`);
    }
    this.finish('rejected');
  }

  async hangup(): Promise<void> {
    if (this.state === 'ended') return;
    if (this.state === 'offered') throw new TypeError('hangup(): the call is not answered; use reject()');
    if (this.state === 'answering') {
      await this.answering?.catch(() => undefined);
      if ((this.state as CallState) !== 'answered') return;
    }
    await this.terminate('local-bye');
  }

  setReinviteHandler(handler: ReinviteHandler): void {
    if (typeof handler !== 'function') throw new TypeError('setReinviteHandler(): handler must be a function');
    this.reinviteHandler = handler;
  }

  refer(target: string): Promise<ReferProgress> {
    if (typeof target !== 'string' || target.trim() === '') throw new TypeError('refer(): target must be a SIP URI');
    this.requireState('answered', 'refer()');
    if (this.referWaiter) throw new TypeError('refer(): a transfer is already in progress on this call');
    const dialog = this.dialog;
    // The far end's BYE has arrived and is about to end the call (see attachDialog).
    if (!dialog) return Promise.resolve({ status: 487, reason: 'the call ended before the transfer started' });
    const referTo = target.includes('<') ? target : `<${target.trim()}>`;
    return new Promise<ReferProgress>((resolve) => {
      let timer: TimerHandle | null = null;
      const settle = (p: ReferProgress): void => {
        if (this.referWaiter !== settle) return;
        this.referWaiter = null;
        timer?.cancel();
        resolve(p);
      };
      this.referWaiter = settle;
      timer = this.deps.clock.setTimer(this.deps.referTimeoutMs, () =>
        settle({ status: 408, reason: 'no final NOTIFY for the REFER in time' }),
      );
      dialog.request(
        { method: 'REFER', headers: { 'Refer-To': referTo, 'Referred-By': `<${this.info.toUri}>` } },
        (err, res) => {
          if (err || !res) {
            settle({ status: 503, reason: `REFER not sent: ${err instanceof Error ? err.message : String(err)}` });
            return;
          }
          // 202 Accepted (or 200): progress follows in NOTIFYs. Anything else is the final word.
          if (res.status >= 300) settle({ status: res.status, reason: res.reason });
        },
      );
    });
  }

  // ---- engine-facing ----

  /** Ends the call because the engine stops: 503 before answer, BYE after. */
  async shutdown(): Promise<void> {
    if (this.state === 'offered') {
      try {
        this.res.send(503, { headers: { 'Retry-After': '30' } });
      } catch {
        // connection already gone: nothing to send on
      }
      this.finish('engine-stopped');
      return;
    }
    if (this.state === 'answering') {
      // The 200 OK is in flight; answer()'s callback sends the BYE once it is out.
      this.finish('engine-stopped');
      await this.answering?.catch(() => undefined);
      return;
    }
    if (this.state === 'answered') await this.terminate('engine-stopped');
  }

  /** drachtio-server stayed away too long: the call's signalling is gone, nothing can be sent. */
  orphan(): void {
    if (this.dialog) {
      this.deps.srf.removeDialog(this.dialog);
      this.dialog.removeAllListeners();
    }
    this.finish('transport-error');
  }

  /** After a reconnect: send this call's requests and responses on the new connection. */
  rebind(socket: Socket): void {
    this.req.socket = socket;
    this.res.socket = socket;
  }

  // ---- internals ----

  private endReason: CallEndReason | null = null;

  private requireState(want: CallState, what: string): void {
    if (this.state !== want) throw new TypeError(`${what} is not valid on a call that is ${this.state}`);
  }

  private finish(reason: CallEndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.endReason = reason;
    this.referWaiter?.({ status: 487, reason: 'the call ended before the transfer reported a final status' });
    this.log.info({ reason }, 'call ended');
    this.emit('ended', reason);
    this.deps.onEnded(this);
  }

  private terminate(reason: CallEndReason): Promise<void> {
    const dialog = this.dialog;
    this.finish(reason);
    return dialog ? this.sendBye(dialog) : Promise.resolve();
  }

  private sendBye(dialog: Srf.Dialog): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.deps.clock.setTimer(this.deps.byeTimeoutMs, () => {
        this.log.warn('no answer to our BYE in time');
        resolve();
      });
      try {
        dialog.destroy({}, (err) => {
          timer.cancel();
          if (err) this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'BYE failed');
          resolve();
        });
      } catch (err) {
        timer.cancel();
        this.log.warn({ err: (err as Error).message }, 'BYE failed');
        resolve();
      }
    });
  }

  private onCancel(): void {
    if (this.state !== 'offered' && this.state !== 'answering') return;
    // drachtio-server (sofia-sip) has already answered the CANCEL with 200 and the INVITE with 487.
    this.emit('cancel');
    this.finish('cancelled');
  }

  private attachDialog(dialog: Srf.Dialog): void {
    this.dialog = dialog;
    let confirmed = false;
    // drachtio-srf handles every message of one TCP chunk synchronously, so under load the ACK
    // and even the BYE can arrive in the same turn as the 200 OK's confirmation, before answer()'s
    // caller has resumed. Both are passed on a turn later, so the caller sees the answer first
    // (as on the embedded engine, where each arrives in its own datagram event).
    dialog.on('ack', () => {
      setImmediate(() => {
        // Only the ACK for the initial 200 OK confirms; re-INVITE ACKs arrive here too.
        if (confirmed || this.state === 'ended') return;
        confirmed = true;
        this.emit('confirmed');
      });
    });
    dialog.on('destroy', (req: Srf.SrfRequest | undefined, reason?: string) => {
      const why = req?.source === 'application' ? reasonForServerBye(reason) : 'remote-bye';
      // The dialog is gone at once: a hangup() in the meantime must not send a BYE on it.
      if (this.dialog === dialog) this.dialog = null;
      setImmediate(() => this.finish(why));
    });
    dialog.on('modify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      if (!this.refusedUncarriable(req, res)) void this.onReinvite(req, res);
    });
    dialog.on('info', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      if (this.refusedUncarriable(req, res)) return;
      res.send(200);
      if (this.state !== 'ended') this.emit('info', req.get('Content-Type') ?? null, req.body ?? '');
    });
    dialog.on('notify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      if (this.refusedUncarriable(req, res)) return;
      res.send(200);
      this.onNotify(req);
    });
    // Transfers the far end asks of us are not offered by the gateway.
    dialog.on('refer', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      if (!this.refusedUncarriable(req, res)) res.send(501);
    });
  }

  /**
   * An in-dialog request whose answer drachtio-server could not carry (request-screen.ts) gets a
   * bare final response copying nothing of it; the call goes on. True when refused.
   */
  private refusedUncarriable(req: Srf.SrfRequest, res: Srf.SrfResponse): boolean {
    const problem = carriageProblem(req.raw ?? '');
    if (!problem) return false;
    const { status, reason } = CARRIAGE_ANSWER[problem];
    try {
      sendBareResponse(this.deps.srf, res, status, reason, undefined);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'bare answer not sent');
    }
    this.log.warn({ problem, method: req.method }, 'refused an in-dialog request drachtio-server could not carry an answer to');
    this.deps.onUncarriable?.(problem);
    return true;
  }

  private async onReinvite(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> {
    const offer = req.body && req.body.trim() !== '' ? req.body : null;
    let answer: string | null;
    try {
      answer = await (this.reinviteHandler ? this.reinviteHandler(offer) : this.lastLocalSdp);
    } catch (err) {
      // A fault in one call's handling ends that call, as on the embedded engine.
      this.log.error({ err: (err as Error).message, method: 'INVITE' }, 'in-dialog request failed: ending the call');
      res.send(500);
      void this.hangup().catch(() => undefined);
      return;
    }
    if (answer === null) {
      res.send(488);
      return;
    }
    this.lastLocalSdp = answer;
    if (this.dialog) this.dialog.local.sdp = answer;
    res.send(200, { body: answer, headers: { 'Content-Type': SDP } });
  }

  private onNotify(req: Srf.SrfRequest): void {
    if (!this.referWaiter) return;
    const event = (req.get('Event') ?? '').toLowerCase();
    if (!event.startsWith('refer')) return;
    const frag = parseSipfragStatus(req.body ?? '');
    if (frag && frag.status >= 200) {
      this.referWaiter(frag);
      return;
    }
    if (/terminated/i.test(req.get('Subscription-State') ?? '')) {
      this.referWaiter({ status: 487, reason: 'the transfer subscription ended without a final status' });
    }
  }
}

/**
 * The port lets a header have several values, one line each (two digest challenges). drachtio-srf
 * keeps one string per header name and drachtio-server reads the headers line by line, so extra
 * lines are written into the value. Values holding CR or LF are refused: they would let a caller
 * of reject() inject arbitrary headers.
 */
export function headerLines(headers: Readonly<Record<string, string | readonly string[]>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[A-Za-z0-9!%*_+`'~.-]+$/.test(name)) throw new TypeError(`reject(): invalid header name ${JSON.stringify(name)}`);
    const values = typeof value === 'string' ? [value] : [...value];
    if (values.length === 0) continue;
    for (const v of values) {
      if (/[\r\n]/.test(v)) throw new TypeError(`reject(): header ${name} holds a line break`);
    }
    out[name] = values.join(`\r\n${name}: `);
  }
  return out;
}

/**
 * drachtio-server itself sends BYE in a few cases and tells the application with a Reason header
 * (sip-dialog-controller.cpp): `ACK timeout` (our 200 OK was never acknowledged), `Session timer
 * expired` (the far end stopped refreshing), `CANCEL after 200 OK` / `ACK-BYE due to cancel race`
 * (the caller gave up as we answered).
 */
export function reasonForServerBye(reason: string | undefined): CallEndReason {
  const r = (reason ?? '').toLowerCase();
  if (r.includes('ack timeout')) return 'no-ack';
  if (r.includes('cancel')) return 'remote-bye';
  return 'transport-error';
}

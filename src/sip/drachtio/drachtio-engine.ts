import Srf from 'drachtio-srf';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { kalemError, type KalemError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { SipEngine, SipEngineEvents, SipSource, SipTransport } from '../sip-engine.js';
import { transportOf } from './call-info.js';
import { DrachtioCall } from './drachtio-call.js';
import { parseHostports, type ListeningAddress } from './hostports.js';
import { LinkWatchdog } from './link-watchdog.js';
import { RawHeaders } from './raw-headers.js';
import { admissionRefusal } from './request-checks.js';
import { CARRIAGE_ANSWER, carriageProblem, type CarriageProblem } from './request-screen.js';
import { readDrachtioSecret } from './secret-file.js';
import { abandonConnection, currentSocket, dropConnection, pingServer, sendBareResponse } from './srf-connection.js';

/**
 * The drachtio SipEngine: drachtio-srf connected to a drachtio-server that owns the SIP
 * listeners (UDP/TCP/TLS, see config/drachtio.conf.xml), the transactions and the dialogs. This
 * engine decides what to answer; drachtio-server does the RFC 3261 work.
 *
 * Connection life: start() reads the secret file, connects and authenticates; it fails with a
 * coded error (never showing the secret) when drachtio-server is unreachable or refuses the
 * secret. If the connection drops later, drachtio-srf reconnects on its own; the engine emits a
 * `warning` once per outage. drachtio-server binds each dialog to the connection that created
 * it, so while disconnected no in-dialog request reaches us; calls in progress are given
 * `reconnectGraceMs` for the server to come back (media does not flow through drachtio-server
 * and keeps going), after which they end with 'transport-error'. If it comes back in time, live
 * dialogs are re-pointed at the new connection so hangup() and refer() still work.
 *
 * Never wedged, never silent (drachtio-server's limits, see request-screen.ts):
 *  - every out-of-dialog request (INVITE, OPTIONS) goes through the same request gate as on the
 *    embedded engine (scanner filter, per-source rate limit: src/app/sip-policy.ts); a dropped
 *    one gets a bare 403 rather than silence, because drachtio-server keeps a request it handed
 *    to an application until that application answers (it has no timeout for it) and has already
 *    sent 100 Trying for an INVITE anyway;
 *  - a request drachtio-server could not carry an answer to (header not UTF-8, or too large to
 *    echo) gets a bare final response that copies nothing of it, is counted (`uncarriable`
 *    event → metric) and never becomes a call;
 *  - Max-Forwards 0 → 483 and any Require → 420, as the embedded engine answers;
 *  - a link watchdog (link-watchdog.ts) proves the connection alive end to end and drops it
 *    when it is deaf; reconnect back-off is capped; health() reports the live connection;
 *  - answer() and stop() have deadlines, so a deaf drachtio-server cannot hold SIGTERM.
 */

/**
 * Decides, before anything is answered, whether an out-of-dialog request is processed: the same
 * request gate as the embedded engine's (src/app/sip-policy.ts). Only out-of-dialog requests
 * reach it here (drachtio-server routes in-dialog ones to their dialog), so `hints.inDialog` is
 * always false.
 */
export type DrachtioRequestGate = (request: GateRequest, source: SipSource, hints?: { readonly inDialog?: boolean }) => 'pass' | 'drop';

/** What the gate sees of a request: method, Request-URI and its headers. */
export interface GateRequest {
  readonly method: string | null;
  readonly uri: string;
  readonly headers: {
    /** First value of a header, case-insensitive name, compact forms expanded. */
    get(name: string): string | undefined;
    /** [lower-case long name, value] per header line, in message order. */
    entries(): ReadonlyArray<readonly [name: string, value: string]>;
  };
}

export interface DrachtioEngineOptions {
  /** drachtio-server admin address (`sip.drachtio_host`). */
  readonly host: string;
  /** drachtio-server admin port (`sip.drachtio_port`). */
  readonly port: number;
  /** `sip.drachtio_secret_file`: read at start(), never logged. */
  readonly secretFile: string | null;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** How long start() waits for drachtio-server to accept us. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** How long calls survive a lost connection to drachtio-server. Default 10 s. */
  readonly reconnectGraceMs?: number;
  /** Upper bound on waiting for a BYE's answer (drachtio-server gives up after Timer F, 32 s). */
  readonly byeTimeoutMs?: number;
  /** How long refer() waits for a final NOTIFY. Default 60 s. */
  readonly referTimeoutMs?: number;
  /** How long answer() waits for drachtio-server to confirm the 200 OK went out. Default 8 s. */
  readonly answerTimeoutMs?: number;
  /** How long stop() waits for its BYEs to be answered before it closes anyway. Default 5 s. */
  readonly stopTimeoutMs?: number;
  /** Link probe (ping) period (`sip.drachtio_watchdog_ms`); 0 turns the watchdog off. Default 10 s. */
  readonly watchdogIntervalMs?: number;
  /** Cap on drachtio-srf's reconnect back-off. Default 2 s. */
  readonly reconnectMaxDelayMs?: number;
  /** The request gate (scanners, rate limit), shared with the embedded engine. */
  readonly gate?: DrachtioRequestGate;
}

/** The `[sip]` keys this engine reads. */
export interface DrachtioSipConfig {
  readonly drachtio_host: string;
  readonly drachtio_port: number;
  readonly drachtio_secret_file: string | null;
  readonly drachtio_watchdog_ms?: number;
}

export function drachtioOptionsFromConfig(sip: DrachtioSipConfig, logger: Logger): DrachtioEngineOptions {
  return {
    host: sip.drachtio_host,
    port: sip.drachtio_port,
    secretFile: sip.drachtio_secret_file,
    logger,
    ...(sip.drachtio_watchdog_ms !== undefined ? { watchdogIntervalMs: sip.drachtio_watchdog_ms } : {}),
  };
}

/** At most one log line per this period for each kind of refused request (a flood must not flood the log). */
const REFUSAL_LOG_PERIOD_MS = 10_000;

/** What we answer OPTIONS with: the methods a carrier may send us. */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY';

type EngineState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export class DrachtioEngine extends TypedEmitter<SipEngineEvents> implements SipEngine {
  readonly name = 'drachtio' as const;

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly where: string;
  private state: EngineState = 'idle';
  private srf: Srf | null = null;
  private accepting = true;
  private connected = false;
  private hostports: ListeningAddress[] = [];
  private readonly calls = new Set<DrachtioCall>();
  private outageTimer: TimerHandle | null = null;
  private pendingStart: { resolve: () => void; reject: (err: KalemError) => void; timer: TimerHandle } | null = null;
  private stopping: Promise<void> | null = null;
  private watchdog: LinkWatchdog | null = null;
  /** When the link was last proven (monotonic ms), and since when it has been down. */
  private lastProvenAt: number | null = null;
  private downSince: number | null = null;
  private downWhy = '';
  private readonly refusals = new Map<string, { count: number; loggedAt: number }>();

  constructor(private readonly opts: DrachtioEngineOptions) {
    super();
    if (typeof opts.host !== 'string' || opts.host === '') throw new TypeError('DrachtioEngine: host is required');
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new TypeError(`DrachtioEngine: port must be 1..65535, not ${String(opts.port)}`);
    }
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ component: 'sip', engine: 'drachtio' });
    this.where = `${opts.host}:${opts.port}`;
  }

  start(): Promise<void> {
    if (this.state !== 'idle') return Promise.reject(new TypeError(`start() is not valid on an engine that is ${this.state}`));
    this.state = 'starting';
    let secret: string;
    try {
      secret = readDrachtioSecret(this.opts.secretFile);
    } catch (err) {
      this.state = 'stopped';
      return Promise.reject(err);
    }

    const srf = new Srf();
    this.srf = srf;
    // Without an 'error' listener a refused (re)connect would throw from an EventEmitter.
    srf.on('error', (err: Error) => this.log.debug({ err: err.message }, 'drachtio-server connection error'));
    srf.on('connect', (err: Error | null, hostport?: string, version?: string) => this.onConnect(err, hostport, version));
    srf.on('close', () => this.onConnectionLost());
    srf.on('reconnecting', (r: { delay?: number; attempt?: number } | undefined) =>
      this.log.debug({ drachtio: this.where, delayMs: r?.delay, attempt: r?.attempt }, 'reconnecting to drachtio-server'),
    );
    srf.invite((req, res) => this.onInvite(req, res));
    srf.options((req, res) => this.onOptions(req, res));

    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.opts.connectTimeoutMs ?? 10_000;
      const timer = this.clock.setTimer(timeoutMs, () =>
        this.failStart(
          kalemError(
            'KALEM_ERR_CONFIG_INVALID',
            `drachtio-server at ${this.where} did not accept a connection within ${timeoutMs} ms; ` +
              'check sip.drachtio_host / sip.drachtio_port and that drachtio-server is running',
          ),
        ),
      );
      this.pendingStart = { resolve, reject, timer };
      this.log.info({ drachtio: this.where }, 'connecting to drachtio-server');
      srf.connect({ host: this.opts.host, port: this.opts.port, secret, reconnect: { retryMaxDelay: this.opts.reconnectMaxDelayMs ?? 2000 } });
    });
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = this.doStop();
    return this.stopping;
  }

  /**
   * Draining takes this gateway out of drachtio-server's rotation: new INVITEs (and OPTIONS) go
   * to the other gateways attached to it, and when there is none drachtio-server answers 503
   * itself. In-dialog requests of calls in progress still reach us (drachtio-server routes them
   * by dialog). drachtio-server's `remove_route` drops every route of the connection whatever
   * verb it names (client-controller.cpp), so one `invite` removal takes OPTIONS too, and routing
   * `invite` again re-sends both (drachtio-srf re-sends every verb it still holds).
   */
  setAccepting(accepting: boolean): void {
    if (accepting === this.accepting) return;
    this.accepting = accepting;
    if (!this.srf || this.state !== 'running') return;
    try {
      if (accepting) this.srf.reregisterForMessages('invite');
      else this.srf.unregisterForMessages('invite');
      this.log.info({ accepting }, accepting ? 'taking new calls from drachtio-server again' : 'draining: drachtio-server sends new calls to other gateways');
    } catch (err) {
      this.log.warn({ err: (err as Error).message, accepting }, 'could not change the routes at drachtio-server');
    }
  }

  reloadTls(): Promise<void> {
    this.log.info(
      'SIP TLS is terminated by drachtio-server: renew the files its drachtio.conf.xml names ' +
        '(<tls> key-file, cert-file, chain-file) and restart drachtio-server; nothing to reload here',
    );
    return Promise.resolve();
  }

  listening(): ReadonlyArray<{ transport: SipTransport; address: string; port: number }> {
    return this.hostports.map((h) => ({ ...h }));
  }

  /**
   * The live state of the link (for /healthz): connected and, with the watchdog on, proven by a
   * probe within the last two periods. Not the listener list drachtio-server gave at connect time.
   */
  health(): { ok: boolean; detail: string } {
    const now = this.clock.monotonic();
    if (this.state !== 'running') return { ok: false, detail: `drachtio engine is ${this.state}` };
    if (!this.connected) {
      const since = this.downSince === null ? '' : ` for ${Math.round((now - this.downSince) / 1000)} s`;
      return { ok: false, detail: `not connected to drachtio-server at ${this.where}${since} (${this.downWhy || 'reconnecting'})` };
    }
    const listeners = this.hostports.map((x) => `${x.transport} ${x.address}:${x.port}`).join(', ');
    const interval = this.opts.watchdogIntervalMs ?? 10_000;
    if (interval > 0) {
      if (this.lastProvenAt === null) return { ok: true, detail: `connected to drachtio-server at ${this.where} (${listeners}); link probe pending` };
      const age = now - this.lastProvenAt;
      if (age > 2 * interval + 1000) return { ok: false, detail: `connected to drachtio-server at ${this.where}, but no link probe answered for ${Math.round(age / 1000)} s` };
      return { ok: true, detail: `connected to drachtio-server at ${this.where} (${listeners}); link proven ${Math.round(age)} ms ago` };
    }
    return { ok: true, detail: `connected to drachtio-server at ${this.where} (${listeners})` };
  }

  /** Calls the engine currently tracks (offered, answering or answered). */
  activeCalls(): number {
    return this.calls.size;
  }

  // ---- connection ----

  private onConnect(err: Error | null, hostport: string | undefined, version: string | undefined): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    if (err) {
      const refused = kalemError(
        'KALEM_ERR_CONFIG_INVALID',
        `drachtio-server at ${this.where} refused the secret from sip.drachtio_secret_file ${this.opts.secretFile ?? ''}; ` +
          'it must equal drachtio-server\'s own secret (DRACHTIO_SECRET / <secret> in drachtio.conf.xml)',
      );
      if (this.state === 'starting') {
        this.failStart(refused);
      } else {
        // Someone changed drachtio-server's secret under us: retrying cannot help.
        abandonConnection(this.srf!);
        this.emit('warning', refused.message);
      }
      return;
    }
    this.connected = true;
    this.downSince = null;
    this.downWhy = '';
    this.lastProvenAt = null;
    this.watchdog?.reset();
    this.hostports = parseHostports(hostport);
    if (this.state === 'starting' && this.pendingStart) {
      const p = this.pendingStart;
      this.pendingStart = null;
      p.timer.cancel();
      this.state = 'running';
      this.log.info({ drachtio: this.where, version, listening: this.hostports }, 'connected to drachtio-server');
      this.startWatchdog();
      p.resolve();
      return;
    }
    // A reconnect within the grace period: calls survive on the new connection.
    this.outageTimer?.cancel();
    this.outageTimer = null;
    const socket = this.srf ? currentSocket(this.srf) : undefined;
    if (socket) for (const call of this.calls) call.rebind(socket);
    this.log.info({ drachtio: this.where, calls: this.calls.size }, 'reconnected to drachtio-server');
    this.emit('warning', `reconnected to drachtio-server at ${this.where}`);
  }

  private onConnectionLost(): void {
    if (this.state !== 'running' || !this.connected) return;
    this.connected = false;
    this.downSince = this.clock.monotonic();
    if (this.downWhy === '') this.downWhy = 'connection closed; reconnecting';
    const graceMs = this.opts.reconnectGraceMs ?? 10_000;
    this.log.warn({ drachtio: this.where, calls: this.calls.size }, 'lost the connection to drachtio-server');
    this.emit(
      'warning',
      `lost the connection to drachtio-server at ${this.where}; reconnecting ` +
        `(calls in progress end after ${graceMs} ms without it)`,
    );
    this.outageTimer = this.clock.setTimer(graceMs, () => {
      this.outageTimer = null;
      if (this.connected || this.calls.size === 0) return;
      this.emit('warning', `drachtio-server at ${this.where} is still away; ending ${this.calls.size} call(s)`);
      for (const call of [...this.calls]) call.orphan();
    });
  }

  private startWatchdog(): void {
    const intervalMs = this.opts.watchdogIntervalMs ?? 10_000;
    if (intervalMs <= 0 || this.watchdog) return;
    this.watchdog = new LinkWatchdog({
      clock: this.clock,
      intervalMs,
      connected: () => this.connected,
      pendingConnection: () => (this.connected || !this.srf ? undefined : currentSocket(this.srf)),
      probe: (answered) => this.sendProbe(answered),
      onAlive: () => {
        this.lastProvenAt = this.clock.monotonic();
      },
      onDead: (why) => this.onLinkDead(why),
    });
    this.watchdog.start();
  }

  /** One ping on drachtio's application protocol over the live connection (see pingServer). */
  private sendProbe(answered: () => void): void {
    const srf = this.srf;
    const socket = srf ? currentSocket(srf) : undefined;
    if (!srf || !socket) return; // nothing to probe with: the next tick reports it
    if (!pingServer(srf, socket, answered)) this.log.debug('link probe not sent');
  }

  private onLinkDead(why: string): void {
    if (this.state !== 'running' || !this.srf) return;
    this.downWhy = why;
    this.lastProvenAt = null;
    this.log.error({ drachtio: this.where, calls: this.calls.size }, `drachtio-server link is dead: ${why}; dropping the connection and reconnecting`);
    this.emit('warning', `drachtio-server at ${this.where}: ${why}; reconnecting`);
    // The link counts as lost from now on, not from when the socket's close event arrives.
    this.onConnectionLost();
    dropConnection(this.srf);
  }

  private failStart(err: KalemError): void {
    const p = this.pendingStart;
    if (!p) return;
    this.pendingStart = null;
    p.timer.cancel();
    this.state = 'stopped';
    if (this.srf) abandonConnection(this.srf);
    this.log.error({ drachtio: this.where }, err.message);
    p.reject(err);
  }

  private async doStop(): Promise<void> {
    if (this.state === 'starting') {
      this.failStart(kalemError('KALEM_ERR_CONFIG_INVALID', 'the drachtio engine was stopped while connecting'));
    }
    this.state = 'stopping';
    this.accepting = false;
    this.outageTimer?.cancel();
    this.outageTimer = null;
    this.watchdog?.stop();
    // BYEs through a deaf drachtio-server are never answered: SIGTERM must still finish.
    const deadlineMs = this.opts.stopTimeoutMs ?? 5000;
    let timer: TimerHandle | null = null;
    const deadline = new Promise<'late'>((resolve) => (timer = this.clock.setTimer(deadlineMs, () => resolve('late'))));
    const outcome = await Promise.race([Promise.all([...this.calls].map((c) => c.shutdown())).then(() => 'done' as const), deadline]);
    (timer as TimerHandle | null)?.cancel();
    if (outcome === 'late') this.log.warn({ calls: this.calls.size, deadlineMs }, 'stopping without answers to every BYE');
    if (this.srf) abandonConnection(this.srf);
    this.connected = false;
    this.state = 'stopped';
  }

  // ---- requests ----

  private onInvite(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    const headers = RawHeaders.parse(req.raw ?? '');
    if (this.screen(req, res, headers)) return;
    if (this.state !== 'running') {
      res.send(503, { headers: { 'Retry-After': '30' } });
      return;
    }
    if (!req.isNewInvite) {
      // A re-INVITE for a dialog we do not know (drachtio-srf routes known ones to their Dialog).
      res.send(481);
      return;
    }
    const refusal = admissionRefusal('INVITE', headers);
    if (refusal) {
      res.send(refusal.status, { headers: { ...refusal.headers } });
      return;
    }
    const callId = req.get('Call-ID') ?? '';
    const call = new DrachtioCall(req, res, {
      srf: this.srf!,
      clock: this.clock,
      listeners: this.hostports,
      logger: this.log.child({ callId }),
      byeTimeoutMs: this.opts.byeTimeoutMs ?? 34_000,
      answerTimeoutMs: this.opts.answerTimeoutMs ?? 8000,
      referTimeoutMs: this.opts.referTimeoutMs ?? 60_000,
      onEnded: (c) => this.calls.delete(c),
      onUncarriable: (problem) => this.emit('uncarriable', problem),
    });
    this.calls.add(call);
    if (this.listenerCount('call') === 0) {
      this.log.warn({ callId }, 'INVITE with nobody listening for calls; answering 503');
      call.reject(503, { headers: { 'Retry-After': '30' } });
      return;
    }
    try {
      this.emit('call', call);
    } catch (err) {
      this.log.error({ callId, err: (err as Error).message }, "a 'call' listener threw");
      if (!call.ended) {
        try {
          call.reject(500);
        } catch {
          // already answered or rejected by the listener before it threw
        }
      }
    }
  }

  private onOptions(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    const headers = RawHeaders.parse(req.raw ?? '');
    if (this.screen(req, res, headers)) return;
    const ok = this.accepting && this.state === 'running';
    res.send(ok ? 200 : 503, { headers: { Allow: ALLOW, Accept: 'application/sdp' } });
  }

  /**
   * The checks before anything else answers an out-of-dialog request: the request gate, then
   * what drachtio-server cannot carry. True when the request has been answered here.
   */
  private screen(req: Srf.SrfRequest, res: Srf.SrfResponse, headers: RawHeaders): boolean {
    const source: SipSource = { address: req.source_address, port: Number(req.source_port), transport: transportOf(req.protocol) };
    const callId = req.get('Call-ID');
    const gate = this.opts.gate;
    const request: GateRequest = { method: req.method, uri: req.uri, headers: { get: (n) => headers.first(n), entries: () => headers.entries() } };
    if (gate && gate(request, source, { inDialog: false }) === 'drop') {
      this.answerBare(req, res, 403, 'Forbidden', callId);
      return true;
    }
    const problem = carriageProblem(req.raw ?? '', headers);
    if (problem) {
      const { status, reason } = CARRIAGE_ANSWER[problem];
      this.answerBare(req, res, status, reason, callId);
      this.noteRefusal(problem, req.method, source);
      return true;
    }
    return false;
  }

  private answerBare(req: Srf.SrfRequest, res: Srf.SrfResponse, status: number, reason: string, callId: string | undefined): void {
    try {
      sendBareResponse(this.srf!, res, status, reason, req.method === 'INVITE' ? callId : undefined);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'bare answer not sent');
    }
  }

  /** Counts a request drachtio-server could not carry an answer to; logs at most once per period per kind. */
  private noteRefusal(problem: CarriageProblem, method: string, source: SipSource): void {
    this.emit('uncarriable', problem);
    const now = this.clock.monotonic();
    const r = this.refusals.get(problem) ?? { count: 0, loggedAt: -Infinity };
    r.count++;
    this.refusals.set(problem, r);
    if (now - r.loggedAt < REFUSAL_LOG_PERIOD_MS) return;
    r.loggedAt = now;
    this.log.warn(
      { problem, method, source: source.address, transport: source.transport, refusedSoFar: r.count },
      problem === 'not-utf8'
        ? 'refused a request whose headers are not UTF-8: drachtio-srf would mangle them and drachtio-server could not carry them back'
        : 'refused a request whose headers are too large to echo through drachtio-server',
    );
  }
}

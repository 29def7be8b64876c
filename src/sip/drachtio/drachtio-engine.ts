import Srf from 'drachtio-srf';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { kalemError, type KalemError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { SipEngine, SipEngineEvents, SipTransport } from '../sip-engine.js';
import { DrachtioCall } from './drachtio-call.js';
import { parseHostports, type ListeningAddress } from './hostports.js';
import { readDrachtioSecret } from './secret-file.js';
import { abandonConnection, currentSocket } from './srf-connection.js';

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
 */

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
}

/** The `[sip]` keys this engine reads. */
export interface DrachtioSipConfig {
  readonly drachtio_host: string;
  readonly drachtio_port: number;
  readonly drachtio_secret_file: string | null;
}

export function drachtioOptionsFromConfig(sip: DrachtioSipConfig, logger: Logger): DrachtioEngineOptions {
  return {
    host: sip.drachtio_host,
    port: sip.drachtio_port,
    secretFile: sip.drachtio_secret_file,
    logger,
  };
}

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
      srf.connect({ host: this.opts.host, port: this.opts.port, secret });
    });
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = this.doStop();
    return this.stopping;
  }

  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
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
    this.hostports = parseHostports(hostport);
    if (this.state === 'starting' && this.pendingStart) {
      const p = this.pendingStart;
      this.pendingStart = null;
      p.timer.cancel();
      this.state = 'running';
      this.log.info({ drachtio: this.where, version, listening: this.hostports }, 'connected to drachtio-server');
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
    await Promise.all([...this.calls].map((c) => c.shutdown()));
    if (this.srf) abandonConnection(this.srf);
    this.connected = false;
    this.state = 'stopped';
  }

  // ---- requests ----

  private onInvite(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    if (this.state !== 'running') {
      res.send(503, { headers: { 'Retry-After': '30' } });
      return;
    }
    if (!req.isNewInvite) {
      // A re-INVITE for a dialog we do not know (drachtio-srf routes known ones to their Dialog).
      res.send(481);
      return;
    }
    const callId = req.get('Call-ID') ?? '';
    const call = new DrachtioCall(req, res, {
      srf: this.srf!,
      clock: this.clock,
      listeners: this.hostports,
      logger: this.log.child({ callId }),
      byeTimeoutMs: this.opts.byeTimeoutMs ?? 34_000,
      referTimeoutMs: this.opts.referTimeoutMs ?? 60_000,
      onEnded: (c) => this.calls.delete(c),
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

  private onOptions(_req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    const ok = this.accepting && this.state === 'running';
    res.send(ok ? 200 : 503, { headers: { Allow: ALLOW, Accept: 'application/sdp' } });
  }
}

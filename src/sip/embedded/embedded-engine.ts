/**
 * The embedded SIP engine: RFC 3261 layers wired together behind the SipEngine port.
 *
 *   transports (UDP/TCP/TLS) → TransportLayer (parse, RFC 3581; malformed: gate, then 400s) →
 *   gate (scanners, rate limit) → TransactionLayer (100 Trying, retransmissions, timers) →
 *   UserAgentCore (dialogs, calls) → `call` events for the controller.
 *
 * The gate sits before every answer on purpose: a scanner or a flooding source must not even
 * get a 100 Trying, or a 400 for a malformed request, back.
 */
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { SipEngine, SipEngineEvents, SipTransport } from '../sip-engine.js';
import { serializeMessage } from './message/index.js';
import type { SipMessage } from './message/types.js';
import { timerTables } from './timers.js';
import { TransactionLayer } from './transaction/transaction-layer.js';
import { TcpTransport } from './transport/tcp-transport.js';
import { TlsTransport } from './transport/tls-transport.js';
import { TransportLayer } from './transport/transport-layer.js';
import type { ReceivedSource, StreamLimits, Transport } from './transport/types.js';
import { UdpTransport } from './transport/udp-transport.js';
import { UserAgentCore } from './ua/user-agent-core.js';

import type { RequestGate } from '../request-gate.js';
import { redactSipText } from '../trace-redaction.js';
export type { RequestGate } from '../request-gate.js';

export interface EmbeddedEngineOptions {
  listenAddress: string;
  publicAddress: string | null;
  udpPort: number;
  tcpPort: number;
  tlsPort: number;
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  maxMessageBytes: number;
  maxHeaders: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  connectionIdleTimeoutMs: number;
  t1Ms: number;
  retryAfterS: number;
  sipTrace: boolean;
  clock: Clock;
  log: Logger;
  gate?: RequestGate;
  /** Trunk addresses: TCP/TLS connection caps and accept rates do not apply to them. */
  isTrustedSource?: (address: string) => boolean;
  /** Accept rate and TLS handshake limits (defaults: DEFAULT_STREAM_LIMITS). */
  acceptLimits?: Partial<Pick<StreamLimits, 'maxAcceptsPerIp' | 'acceptWindowMs' | 'acceptBlockMs' | 'handshakeTimeoutMs'>>;
}

/** How long stop() waits for answers to its BYEs before closing the transports. */
const STOP_GRACE_MS = 2000;


export class EmbeddedSipEngine extends TypedEmitter<SipEngineEvents> implements SipEngine {
  readonly name = 'embedded' as const;
  private readonly transports: Transport[] = [];
  private tls: TlsTransport | undefined;
  private transportLayer: TransportLayer | undefined;
  private txLayer: TransactionLayer | undefined;
  private core: UserAgentCore | undefined;
  private accepting = true;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: EmbeddedEngineOptions) {
    super();
  }

  async start(): Promise<void> {
    const o = this.opts;
    const limits = {
      maxConnections: o.maxConnections,
      maxConnectionsPerIp: o.maxConnectionsPerIp,
      idleTimeoutMs: o.connectionIdleTimeoutMs,
      maxMessageBytes: o.maxMessageBytes,
      ...o.acceptLimits,
    };
    if (o.udpPort >= 0) this.transports.push(new UdpTransport({ host: o.listenAddress, port: o.udpPort, maxMessageBytes: o.maxMessageBytes }));
    const trusted = o.isTrustedSource ? { isTrustedSource: o.isTrustedSource } : {};
    if (o.tcpPort >= 0) this.transports.push(new TcpTransport({ host: o.listenAddress, port: o.tcpPort, limits, clock: o.clock, ...trusted }));
    if (o.tlsPort >= 0 && o.tlsCertFile && o.tlsKeyFile) {
      const [cert, key] = await Promise.all([readFile(o.tlsCertFile), readFile(o.tlsKeyFile)]);
      this.tls = new TlsTransport({ host: o.listenAddress, port: o.tlsPort, limits, clock: o.clock, cert, key, ...trusted });
      this.transports.push(this.tls);
    }
    if (this.transports.length === 0) throw new Error('no SIP transport enabled: set sip.udp_port, sip.tcp_port or TLS files');

    let core: UserAgentCore | undefined;
    const gate = o.gate;
    const transportLayer = new TransportLayer({
      transports: this.transports,
      ...(gate ? { gate: (req: Parameters<RequestGate>[0], source: ReceivedSource) => gate(req, source) } : {}),
      parseLimits: { maxMessageBytes: o.maxMessageBytes, maxHeaders: o.maxHeaders },
      ...(o.publicAddress ? { advertisedHost: o.publicAddress } : {}),
    });
    const timers = timerTables({ T1: o.t1Ms });
    core = new UserAgentCore({
      clock: o.clock,
      timers,
      log: o.log,
      serverName: 'kalem-gateway',
      retryAfterS: o.retryAfterS,
      contactFor: (source, sips) => this.contactFor(source, sips),
      isAccepting: () => this.accepting,
      onCall: (call) => this.emit('call', call),
    });
    const txLayer = new TransactionLayer({ transport: transportLayer, clock: o.clock, tu: core, timers });
    core.attach(txLayer);
    transportLayer.on('request', (req, source) => {
      if (o.sipTrace) this.trace('in', req, source);
      if (gate && gate(req, source, { inDialog: core!.knowsDialog(req) }) === 'drop') return;
      try {
        txLayer.receiveRequest(req, source);
      } catch (err) {
        // One bad request must never take the engine down; log and carry on.
        o.log.error({ err: (err as Error).message, method: req.method }, 'request handling failed');
      }
    });
    transportLayer.on('response', (res, source) => {
      if (o.sipTrace) this.trace('in', res, source);
      txLayer.receiveResponse(res, source);
    });
    transportLayer.on('warning', (w) => this.emit('warning', `${w.code}: ${w.message}`));
    this.transportLayer = transportLayer;
    this.txLayer = txLayer;
    this.core = core;
    await transportLayer.start();
  }

  listening(): ReadonlyArray<{ transport: SipTransport; address: string; port: number }> {
    return this.transports.flatMap((t) => {
      const a = t.address();
      return a ? [{ transport: t.protocol, address: a.host, port: a.port }] : [];
    });
  }

  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
  }

  async reloadTls(): Promise<void> {
    if (!this.tls || !this.opts.tlsCertFile || !this.opts.tlsKeyFile) return;
    const [cert, key] = await Promise.all([readFile(this.opts.tlsCertFile), readFile(this.opts.tlsKeyFile)]);
    this.tls.setCredentials(cert, key);
  }

  /** Live calls (for drain and tests). */
  activeCalls(): number {
    return this.core?.calls().length ?? 0;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.accepting = false;
      const calls = this.core?.calls() ?? [];
      const byes = Promise.all(
        calls.map(async (c) => {
          try {
            if (c.state === 'offered') c.reject(503, { headers: { 'Retry-After': String(this.opts.retryAfterS) } });
            else await c.hangup();
          } catch {
            // the call ended in the meantime
          }
        }),
      );
      // BYEs are sent at once; waiting for every answer (up to 64*T1 each) would hold a shutdown
      // hostage to an unreachable caller. A short grace period lets the usual 200s arrive.
      await Promise.race([byes, new Promise<void>((resolve) => this.opts.clock.setTimer(STOP_GRACE_MS, resolve))]);
      for (const c of calls) c.abort('engine-stopped');
      this.txLayer?.close();
      await this.transportLayer?.close();
    })();
    return this.stopping;
  }

  private contactFor(source: ReceivedSource, sips: boolean): string {
    const host = this.opts.publicAddress ?? source.localAddress;
    const h = isIPv6(host) ? `[${host}]` : host;
    const t = source.transport === 'udp' ? '' : `;transport=${source.transport}`;
    const scheme = sips && source.transport === 'tls' ? 'sips' : 'sip';
    return `<${scheme}:kalem@${h}:${source.localPort}${t}>`;
  }

  private trace(direction: 'in' | 'out', msg: SipMessage, source: ReceivedSource): void {
    // Digest responses and SRTP keys are secrets in transit; they never reach the log.
    const text = redactSipText(serializeMessage(msg).toString('utf8'));
    this.opts.log.debug({ direction, remote: `${source.address}:${source.port}`, transport: source.transport, sip: text }, 'sip trace');
  }
}

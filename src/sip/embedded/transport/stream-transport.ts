/**
 * What TCP and TLS share: a listener, a table of connections (inbound and outbound), Content-
 * Length framing per connection (the message layer's StreamFramer), connection caps, an idle
 * timer, and connection reuse for sending (RFC 3261 §18.2.2: a response goes back over the
 * connection its request came in on; §18.1.1: a request reuses an open connection to its target).
 *
 * The idle timer restarts only on a *complete* message received or a message sent, never on raw
 * bytes: a peer that dribbles half a message and stalls is dropped after `idleTimeoutMs` however
 * slowly it dribbles. An inbound TLS handshake has its own, shorter timer (`handshakeTimeoutMs`):
 * a handshake costs CPU and a slot, and a real client finishes it in a few round trips.
 *
 * Who may take a slot: trunk addresses (`isTrustedSource`) are exempt from the per-address cap
 * and the accept rate limit, and may use every slot up to `maxConnections`; other sources share
 * at most three quarters of them (all of them when the transport knows no trunks), each within `maxConnectionsPerIp` and `maxAcceptsPerIp` new
 * connections per `acceptWindowMs` (over it: refused for `acceptBlockMs`). So 64 silent
 * connections from a carrier's address do not lock that carrier out, and strangers cannot fill
 * the slots carriers need.
 *
 * A framing error (oversize, garbage Content-Length) closes that connection only.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../../../core/clock.js';
import { SipStreamFramer } from '../message/index.js';
import { RateLimiter } from '../../rate-limiter.js';
import {
  DEFAULT_STREAM_LIMITS,
  normaliseAddress,
  type ListenAddress,
  type ReceivedSource,
  type SendTarget,
  type StreamLimits,
  type TlsInfo,
  type Transport,
  type TransportEvents,
} from './types.js';

export interface StreamTransportOptions {
  host: string;
  port: number;
  limits?: Partial<StreamLimits>;
  /** Clock for idle timers (systemClock by default). */
  clock?: Clock;
  /** How long an outbound connect (and TLS handshake) may take before the send fails. */
  connectTimeoutMs?: number;
  /** Trunk addresses: exempt from the per-address cap and the accept rate, may use every slot. */
  isTrustedSource?: (address: string) => boolean;
}

/** Share of `maxConnections` that sources other than trunk addresses may hold together. */
const STRANGER_SHARE = 0.75;

interface Connection {
  readonly id: string;
  readonly socket: net.Socket;
  readonly framer: SipStreamFramer;
  readonly inbound: boolean;
  /** Source IP for per-IP accounting (inbound only). */
  readonly ip: string;
  /** `host:port` keys this connection is reachable under in `byRemote`. */
  readonly remoteKeys: string[];
  /** Resolves once the connection can carry data (connected / handshake done). */
  ready: Promise<void>;
  idle: TimerHandle | undefined;
  /** Inbound TLS: closes the connection if the handshake is not done in time. */
  handshake: TimerHandle | undefined;
  /** Counts against the strangers' share (inbound from a non-trunk address). */
  stranger: boolean;
  source: ReceivedSource | undefined;
  closed: boolean;
}

export abstract class StreamTransport extends EventEmitter<TransportEvents> implements Transport {
  abstract readonly protocol: 'tcp' | 'tls';
  readonly reliable = true;
  protected readonly limits: StreamLimits;
  protected readonly clock: Clock;
  private readonly server: net.Server;
  private readonly connections = new Map<string, Connection>();
  private readonly byRemote = new Map<string, Connection>();
  private readonly perIp = new Map<string, number>();
  private strangers = 0;
  private readonly accepts: RateLimiter;
  private readonly isTrusted: (address: string) => boolean;
  /** Most connections non-trunk sources hold together (all of them when no trunk is known). */
  private readonly strangerCap: number;
  private seq = 0;
  private bound: ListenAddress | undefined;
  private closed = false;
  private readonly connectTimeoutMs: number;

  constructor(protected readonly options: StreamTransportOptions) {
    super();
    if (typeof options.host !== 'string' || !Number.isInteger(options.port)) {
      throw new TypeError('a stream transport needs a host string and an integer port');
    }
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...options.limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isFinite(v) || v <= 0) throw new TypeError(`stream transport limit ${k} must be positive, got ${v}`);
    }
    this.clock = options.clock ?? systemClock;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.isTrusted = options.isTrustedSource ?? (() => false);
    this.strangerCap =
      options.isTrustedSource === undefined ? this.limits.maxConnections : Math.max(1, Math.floor(this.limits.maxConnections * STRANGER_SHARE));
    this.accepts = new RateLimiter({
      clock: this.clock,
      requests: this.limits.maxAcceptsPerIp,
      windowMs: this.limits.acceptWindowMs,
      blockMs: this.limits.acceptBlockMs,
      maxSources: 20_000,
    });
    // A plain net.Server for TLS too: the caps are checked before any handshake work is spent,
    // and the TLS subclass wraps accepted sockets with whatever credentials are current.
    this.server = net.createServer({ noDelay: true }, (raw) => this.onInbound(raw));
    this.server.on('error', (err) => this.emit('warning', { code: 'socket-error', message: err.message }));
  }

  /** TLS wraps the raw socket in a server TLSSocket; TCP returns it as is. */
  protected abstract wrapInbound(raw: net.Socket): net.Socket;
  /** Opens a client connection; `ready` is the event meaning "data may flow". */
  protected abstract connectOutbound(host: string, port: number): { socket: net.Socket; readyEvent: string };
  /** The event that ends an inbound handshake (TLS: 'secure'); undefined when there is none. */
  protected handshakeDoneEvent(): string | undefined {
    return undefined;
  }

  /** TLS details for a connection, read once after the handshake. */
  protected tlsInfo(_socket: net.Socket): TlsInfo | undefined {
    return undefined;
  }

  listen(): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as net.AddressInfo;
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  address(): ListenAddress | undefined {
    return this.bound;
  }

  /** Open connections, for metrics and tests. */
  connectionCount(): number {
    return this.connections.size;
  }

  /** Whether a connection id still refers to an open connection. */
  hasConnection(id: string): boolean {
    return this.connections.has(id);
  }

  async send(data: Buffer, target: SendTarget): Promise<void> {
    if (this.closed) throw new Error(`${this.protocol.toUpperCase()} transport is closed`);
    if (data.length > this.limits.maxMessageBytes) {
      throw new Error(`message of ${data.length} bytes exceeds the limit of ${this.limits.maxMessageBytes}`);
    }
    let conn = target.connectionId === undefined ? undefined : this.connections.get(target.connectionId);
    if (conn === undefined) conn = this.byRemote.get(remoteKey(target.host, target.port));
    if (conn === undefined) conn = this.openOutbound(target.host, target.port);
    await conn.ready;
    const c = conn;
    await new Promise<void>((resolve, reject) => {
      if (c.closed) return reject(new Error(`connection ${c.id} closed before the message could be sent`));
      c.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
    this.armIdle(c);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const c of [...this.connections.values()]) this.drop(c);
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  private onInbound(raw: net.Socket): void {
    const ip = normaliseAddress(raw.remoteAddress ?? '');
    const remote = { address: ip, port: raw.remotePort ?? 0 };
    if (this.closed) {
      raw.destroy();
      return;
    }
    const trusted = this.isTrusted(ip);
    const fromIp = this.perIp.get(ip) ?? 0;
    const refuse = (code: 'connection-refused-cap' | 'connection-refused-rate', message: string): void => {
      // Reset rather than FIN: the refused peer learns at once and we keep no state.
      raw.resetAndDestroy();
      this.emit('warning', { code, message, remote });
    };
    if (this.connections.size >= this.limits.maxConnections) {
      return refuse('connection-refused-cap', `refused a connection from ${ip}: ${this.connections.size} open (limit ${this.limits.maxConnections})`);
    }
    if (!trusted) {
      if (fromIp >= this.limits.maxConnectionsPerIp) {
        return refuse('connection-refused-cap', `refused a connection from ${ip}: ${fromIp} open from that address (limit ${this.limits.maxConnectionsPerIp})`);
      }
      if (this.strangers >= this.strangerCap) {
        return refuse('connection-refused-cap', `refused a connection from ${ip}: ${this.strangers} open from non-trunk addresses (limit ${this.strangerCap})`);
      }
      const verdict = this.accepts.check(ip);
      if (verdict !== 'allow') {
        if (verdict === 'block') {
          refuse('connection-refused-rate', `refusing connections from ${ip} for ${this.limits.acceptBlockMs} ms: over ${this.limits.maxAcceptsPerIp} per ${this.limits.acceptWindowMs} ms`);
        } else {
          raw.resetAndDestroy(); // already reported when the block began
        }
        return;
      }
    }
    this.perIp.set(ip, fromIp + 1);
    if (!trusted) this.strangers++;
    let socket: net.Socket;
    try {
      socket = this.wrapInbound(raw);
    } catch (err) {
      this.perIp.set(ip, fromIp);
      if (!trusted) this.strangers--;
      raw.destroy();
      this.emit('warning', { code: 'tls-handshake-failed', message: (err as Error).message, remote });
      return;
    }
    const conn = this.register(socket, true, ip, [remoteKey(ip, remote.port)]);
    conn.stranger = !trusted;
    conn.ready = Promise.resolve();
    const done = this.handshakeDoneEvent();
    if (done !== undefined) {
      conn.handshake = this.clock.setTimer(this.limits.handshakeTimeoutMs, () => {
        conn.handshake = undefined;
        this.emit('warning', {
          code: 'tls-handshake-timeout',
          message: `closing ${conn.id}: TLS handshake not finished within ${this.limits.handshakeTimeoutMs} ms`,
          connectionId: conn.id,
          remote,
        });
        this.drop(conn);
      });
      socket.once(done, () => {
        conn.handshake?.cancel();
        conn.handshake = undefined;
      });
    }
  }

  private openOutbound(host: string, port: number): Connection {
    const { socket, readyEvent } = this.connectOutbound(host, port);
    const conn = this.register(socket, false, '', [remoteKey(host, port)]);
    conn.ready = new Promise<void>((resolve, reject) => {
      const timer = this.clock.setTimer(this.connectTimeoutMs, () => {
        reject(new Error(`connecting to ${host}:${port} over ${this.protocol} timed out`));
        this.drop(conn);
      });
      socket.once(readyEvent, () => {
        timer.cancel();
        const key = remoteKey(normaliseAddress(socket.remoteAddress ?? host), socket.remotePort ?? port);
        if (!conn.remoteKeys.includes(key)) {
          conn.remoteKeys.push(key);
          this.byRemote.set(key, conn);
        }
        resolve();
      });
      socket.once('close', () => {
        timer.cancel();
        reject(new Error(`connection to ${host}:${port} over ${this.protocol} closed before it was ready`));
      });
    });
    conn.ready.catch(() => undefined); // the sender awaits it; nobody else must see it unhandled
    return conn;
  }

  private register(socket: net.Socket, inbound: boolean, ip: string, remoteKeys: string[]): Connection {
    const conn: Connection = {
      id: `${this.protocol}-${++this.seq}`,
      socket,
      // RFC 5626 §4.4.1: a CRLFCRLF ping is answered with a CRLF pong.
      framer: new SipStreamFramer({ maxMessageBytes: this.limits.maxMessageBytes, onPing: () => void socket.write('\r\n') }),
      inbound,
      ip,
      remoteKeys,
      ready: Promise.resolve(),
      idle: undefined,
      handshake: undefined,
      stranger: false,
      source: undefined,
      closed: false,
    };
    this.connections.set(conn.id, conn);
    for (const k of remoteKeys) this.byRemote.set(k, conn);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => {
      const code = String((err as NodeJS.ErrnoException).code ?? '');
      this.emit('warning', {
        code: code.startsWith('ERR_SSL') ? 'tls-handshake-failed' : 'socket-error',
        message: err.message,
        connectionId: conn.id,
      });
      this.drop(conn);
    });
    socket.on('close', () => this.drop(conn));
    this.armIdle(conn);
    return conn;
  }

  private onData(conn: Connection, chunk: Buffer): void {
    let messages: Buffer[];
    try {
      messages = conn.framer.push(chunk);
    } catch (err) {
      this.emit('warning', {
        code: 'framing-error',
        message: `closing ${conn.id}: ${(err as Error).message}`,
        connectionId: conn.id,
      });
      this.drop(conn);
      return;
    }
    if (messages.length === 0) return;
    this.armIdle(conn);
    const source = conn.source ?? (conn.source = this.describe(conn));
    for (const m of messages) {
      if (conn.closed) return; // a listener may have closed it
      this.emit('message', m, source);
    }
  }

  private describe(conn: Connection): ReceivedSource {
    const s = conn.socket;
    const source: ReceivedSource = {
      address: normaliseAddress(s.remoteAddress ?? ''),
      port: s.remotePort ?? 0,
      transport: this.protocol,
      connectionId: conn.id,
      localAddress: normaliseAddress(s.localAddress ?? ''),
      localPort: s.localPort ?? 0,
    };
    const tls = this.tlsInfo(s);
    if (tls !== undefined) source.tls = tls;
    return source;
  }

  private armIdle(conn: Connection): void {
    if (conn.closed) return;
    conn.idle?.cancel();
    conn.idle = this.clock.setTimer(this.limits.idleTimeoutMs, () => {
      conn.idle = undefined;
      this.emit('warning', {
        code: 'idle-timeout',
        message: `closing ${conn.id}: no complete message for ${this.limits.idleTimeoutMs} ms`,
        connectionId: conn.id,
      });
      this.drop(conn);
    });
  }

  private drop(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.idle?.cancel();
    conn.idle = undefined;
    conn.handshake?.cancel();
    conn.handshake = undefined;
    if (conn.stranger) this.strangers--;
    this.connections.delete(conn.id);
    for (const k of conn.remoteKeys) if (this.byRemote.get(k) === conn) this.byRemote.delete(k);
    if (conn.inbound) {
      const n = (this.perIp.get(conn.ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(conn.ip);
      else this.perIp.set(conn.ip, n);
    }
    conn.socket.destroy();
  }
}

function remoteKey(host: string, port: number): string {
  return `${host.startsWith('[') ? host.slice(1, -1) : host}:${port}`;
}

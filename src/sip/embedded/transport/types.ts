/**
 * The transport seam (RFC 3261 §18). A Transport moves raw bytes: one SIP message per `send`,
 * one `message` event per received message (already framed on stream transports). It knows
 * nothing about SIP beyond framing; parsing and Via handling live in TransportLayer.
 */
import type { EventEmitter } from 'node:events';

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** Where to send one message. */
export interface SendTarget {
  host: string;
  port: number;
  transport: TransportProtocol;
  /**
   * A stream connection to use if it is still open (responses go back over the connection the
   * request arrived on, §18.2.2). When it is gone, or absent, a connection to host:port is
   * reused or opened.
   */
  connectionId?: string;
}

export interface TlsInfo {
  /** Negotiated protocol version, e.g. `TLSv1.3`. */
  protocol: string | null;
  cipher: string | null;
  /** Subject CN of the peer certificate, when the peer presented one. */
  peerCommonName?: string;
}

/** Where a received message came from. */
export interface ReceivedSource {
  /** Source IP (IPv4-mapped IPv6 addresses are reported as plain IPv4). */
  address: string;
  port: number;
  transport: TransportProtocol;
  /** Set for stream transports: the connection to answer on. */
  connectionId?: string;
  tls?: TlsInfo;
  /** Local address and port the message arrived on. */
  localAddress: string;
  localPort: number;
}

export interface TransportEvents {
  /** One complete message (UDP datagram, or a Content-Length framed unit of a stream). */
  message: [data: Buffer, source: ReceivedSource];
  /** A non-fatal problem worth a log line (framing error, refused connection, socket error). */
  warning: [detail: TransportWarning];
}

export interface TransportWarning {
  code:
    | 'framing-error'
    | 'oversize'
    | 'connection-refused-cap'
    | 'connection-refused-rate'
    | 'tls-handshake-timeout'
    | 'idle-timeout'
    | 'socket-error'
    | 'tls-handshake-failed';
  message: string;
  remote?: { address: string; port: number };
  connectionId?: string;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface Transport extends EventEmitter<TransportEvents> {
  readonly protocol: TransportProtocol;
  /** True for TCP and TLS: no retransmission timers (RFC 3261 Table 4). */
  readonly reliable: boolean;
  /** Binds the listener; resolves with the bound address (port 0 → the ephemeral port chosen). */
  listen(): Promise<ListenAddress>;
  /** The bound address once listening. */
  address(): ListenAddress | undefined;
  /** Sends one message. Rejects on socket errors or when the transport is closed. */
  send(data: Buffer, target: SendTarget): Promise<void>;
  /** Idempotent; closes the listener and every connection. */
  close(): Promise<void>;
}

/** Limits shared by the stream transports (TCP, TLS). */
export interface StreamLimits {
  /** Total open connections (inbound and outbound). */
  maxConnections: number;
  /** Inbound connections from one source IP. */
  maxConnectionsPerIp: number;
  /** A connection that delivers no complete message (and sends none) for this long is closed. */
  idleTimeoutMs: number;
  /** Largest message accepted (start line + headers + body). */
  maxMessageBytes: number;
  /** New inbound connections one source IP may open per `acceptWindowMs` (trunk addresses exempt). */
  maxAcceptsPerIp: number;
  acceptWindowMs: number;
  /** How long a source over the accept rate is refused outright. */
  acceptBlockMs: number;
  /** An inbound TLS handshake not finished within this is closed (well before the idle timeout). */
  handshakeTimeoutMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = Object.freeze({
  maxConnections: 1024,
  maxConnectionsPerIp: 64,
  idleTimeoutMs: 120_000,
  maxMessageBytes: 65_535,
  maxAcceptsPerIp: 64,
  acceptWindowMs: 1000,
  acceptBlockMs: 10_000,
  handshakeTimeoutMs: 5000,
});

/** Reports IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they carry. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * SIP over TLS (RFC 3261 §26.3.1, RFC 5630) under the project's TLS policy (core/tls-policy.ts,
 * RFC 9325): TLS 1.3 preferred, TLS 1.2 only with ECDHE and AEAD suites, nothing older.
 *
 * The certificate and key are PEM buffers and can be replaced at run time with
 * `setCredentials` (SIGHUP reload): each accepted socket is wrapped with the secure context that
 * is current at accept time, so new connections get the new certificate while existing
 * connections, and the calls on them, carry on untouched. A bad certificate/key pair throws from
 * `setCredentials` and leaves the old context in place.
 */
import net from 'node:net';
import tls from 'node:tls';
import { tlsPolicy } from '../../../core/tls-policy.js';
import type { TlsInfo } from './types.js';
import { StreamTransport, type StreamTransportOptions } from './stream-transport.js';

export interface TlsTransportOptions extends StreamTransportOptions {
  cert: Buffer;
  key: Buffer;
  /** CAs trusted for outbound connections (the system store when absent). */
  ca?: Buffer | Buffer[];
  /** Verify the peer's certificate on outbound connections (default true). */
  rejectUnauthorized?: boolean;
  /** Lowest version accepted (default TLSv1.2; the issue forbids anything lower). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * Ask inbound peers for a certificate (not required, not verified here): its subject CN is
   * reported in `source.tls.peerCommonName` for trunk identification above. Default false.
   */
  requestClientCertificate?: boolean;
}

export class TlsTransport extends StreamTransport {
  readonly protocol = 'tls' as const;
  private context: tls.SecureContext;
  private cert: Buffer;
  private key: Buffer;
  private readonly minVersion: 'TLSv1.2' | 'TLSv1.3';

  constructor(private readonly tlsOptions: TlsTransportOptions) {
    super(tlsOptions);
    if (!Buffer.isBuffer(tlsOptions.cert) || !Buffer.isBuffer(tlsOptions.key)) {
      throw new TypeError('TlsTransport needs cert and key as PEM buffers');
    }
    this.minVersion = tlsOptions.minVersion ?? 'TLSv1.2';
    this.cert = tlsOptions.cert;
    this.key = tlsOptions.key;
    this.context = this.makeContext(tlsOptions.cert, tlsOptions.key);
  }

  /** Replaces certificate and key for connections accepted from now on. Throws if they are unusable. */
  setCredentials(cert: Buffer, key: Buffer): void {
    if (!Buffer.isBuffer(cert) || !Buffer.isBuffer(key)) throw new TypeError('setCredentials needs PEM buffers');
    this.context = this.makeContext(cert, key); // throws before anything changes
    this.cert = cert;
    this.key = key;
  }

  private makeContext(cert: Buffer, key: Buffer): tls.SecureContext {
    return tls.createSecureContext({ ...tlsPolicy(), cert, key, minVersion: this.minVersion });
  }

  protected wrapInbound(raw: net.Socket): net.Socket {
    return new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: this.context,
      requestCert: this.tlsOptions.requestClientCertificate ?? false,
      rejectUnauthorized: false,
    });
  }

  protected connectOutbound(host: string, port: number): { socket: net.Socket; readyEvent: string } {
    const bare = host.startsWith('[') ? host.slice(1, -1) : host;
    const opts: tls.ConnectionOptions = {
      ...tlsPolicy(),
      host: bare,
      port,
      minVersion: this.minVersion,
      rejectUnauthorized: this.tlsOptions.rejectUnauthorized ?? true,
      // Presenting our own certificate lets carriers that want mutual TLS identify us.
      cert: this.cert,
      key: this.key,
    };
    if (net.isIP(bare) === 0) opts.servername = bare;
    if (this.tlsOptions.ca !== undefined) opts.ca = this.tlsOptions.ca;
    return { socket: tls.connect(opts), readyEvent: 'secureConnect' };
  }

  protected override handshakeDoneEvent(): string {
    return 'secure';
  }

  protected override tlsInfo(socket: net.Socket): TlsInfo {
    const s = socket as tls.TLSSocket;
    const info: TlsInfo = { protocol: s.getProtocol(), cipher: s.getCipher()?.name ?? null };
    const peer = s.getPeerCertificate();
    const cn = peer?.subject?.CN;
    if (typeof cn === 'string') info.peerCommonName = cn;
    return info;
  }
}

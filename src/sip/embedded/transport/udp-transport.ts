/**
 * SIP over UDP (RFC 3261 §18): one datagram carries exactly one message, so there is no framing.
 * Datagrams larger than the message limit are dropped with a warning; everything else is handed
 * up unparsed.
 */
import { EventEmitter } from 'node:events';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import {
  normaliseAddress,
  type ListenAddress,
  type SendTarget,
  type Transport,
  type TransportEvents,
} from './types.js';

export interface UdpTransportOptions {
  host: string;
  port: number;
  /** Datagrams larger than this are dropped (default 65535). */
  maxMessageBytes?: number;
}

export class UdpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  private readonly socket: dgram.Socket;
  private bound: ListenAddress | undefined;
  private closed = false;
  private readonly maxMessageBytes: number;

  constructor(private readonly options: UdpTransportOptions) {
    super();
    if (typeof options.host !== 'string' || !Number.isInteger(options.port)) {
      throw new TypeError('UdpTransport needs a host string and an integer port');
    }
    this.maxMessageBytes = options.maxMessageBytes ?? 65_535;
    // A bigger receive buffer rides out event-loop stalls under load instead of dropping SIP
    // packets; the kernel caps it at net.core.rmem_max (raise that sysctl for busy gateways).
    this.socket = dgram.createSocket({ type: isIPv6(options.host) ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    this.socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
    this.socket.on('error', (err) => {
      this.emit('warning', { code: 'socket-error', message: err.message });
    });
  }

  listen(): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.socket.once('error', onError);
      this.socket.bind(this.options.port, this.options.host, () => {
        this.socket.off('error', onError);
        const a = this.socket.address();
        this.bound = { host: a.address, port: a.port };
        resolve(this.bound);
      });
    });
  }

  address(): ListenAddress | undefined {
    return this.bound;
  }

  send(data: Buffer, target: SendTarget): Promise<void> {
    if (this.closed) return Promise.reject(new Error('UDP transport is closed'));
    if (data.length > this.maxMessageBytes) {
      return Promise.reject(new Error(`message of ${data.length} bytes exceeds the UDP limit of ${this.maxMessageBytes}`));
    }
    return new Promise((resolve, reject) => {
      this.socket.send(data, target.port, target.host, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }

  private onDatagram(data: Buffer, rinfo: dgram.RemoteInfo): void {
    if (data.length > this.maxMessageBytes) {
      this.emit('warning', {
        code: 'oversize',
        message: `dropped a ${data.length}-byte datagram (limit ${this.maxMessageBytes})`,
        remote: { address: rinfo.address, port: rinfo.port },
      });
      return;
    }
    // RFC 5626 §4.4.1 keep-alives (a bare CRLF or CRLFCRLF) are not messages.
    if (data.length <= 4 && data.every((b) => b === 0x0d || b === 0x0a)) return;
    const local = this.bound ?? { host: this.options.host, port: this.options.port };
    this.emit('message', data, {
      address: normaliseAddress(rinfo.address),
      port: rinfo.port,
      transport: 'udp',
      localAddress: local.host,
      localPort: local.port,
    });
  }
}

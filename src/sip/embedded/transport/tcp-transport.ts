/**
 * SIP over TCP (RFC 3261 §18): everything lives in StreamTransport; this only says how to
 * accept and how to connect.
 */
import net from 'node:net';
import { StreamTransport, type StreamTransportOptions } from './stream-transport.js';

export type TcpTransportOptions = StreamTransportOptions;

export class TcpTransport extends StreamTransport {
  readonly protocol = 'tcp' as const;

  constructor(options: TcpTransportOptions) {
    super(options);
  }

  protected wrapInbound(raw: net.Socket): net.Socket {
    return raw;
  }

  protected connectOutbound(host: string, port: number): { socket: net.Socket; readyEvent: string } {
    return { socket: net.connect({ host: stripBrackets(host), port, noDelay: true }), readyEvent: 'connect' };
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

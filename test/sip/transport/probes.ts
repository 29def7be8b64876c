/**
 * Test subclasses that report what happens under the transport: each accepted raw socket
 * (`accepted`) and each raw chunk read (`chunk`), so tests wait on events instead of sleeping.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { TcpTransport } from '../../../src/sip/embedded/transport/tcp-transport.js';
import { TlsTransport } from '../../../src/sip/embedded/transport/tls-transport.js';

export class TcpProbe extends TcpTransport {
  readonly probe = new EventEmitter();
  protected override wrapInbound(raw: net.Socket): net.Socket {
    raw.on('data', () => this.probe.emit('chunk'));
    const s = super.wrapInbound(raw);
    queueMicrotask(() => this.probe.emit('accepted'));
    return s;
  }
}

export class TlsProbe extends TlsTransport {
  readonly probe = new EventEmitter();
  protected override wrapInbound(raw: net.Socket): net.Socket {
    const s = super.wrapInbound(raw);
    queueMicrotask(() => this.probe.emit('accepted'));
    return s;
  }
}

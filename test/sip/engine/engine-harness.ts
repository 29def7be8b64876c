/**
 * A real EmbeddedSipEngine on 127.0.0.1 ephemeral ports, and small SIP peers (a UDP socket, a
 * TCP connection) that record every message they receive, parsed, and can wait for one by
 * predicate (event-based, with a timeout — never a fixed sleep).
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { Clock } from '../../../src/core/clock.js';
import { systemClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/logger.js';
import { EmbeddedSipEngine, type EmbeddedEngineOptions } from '../../../src/sip/embedded/embedded-engine.js';
import { SipStreamFramer, parseMessage } from '../../../src/sip/embedded/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/embedded/message/types.js';

export interface StartedEngine {
  engine: EmbeddedSipEngine;
  udpPort: number;
  tcpPort: number;
  /** Every `warning` the engine emitted. */
  warnings: string[];
}

/** Starts an engine with test defaults (UDP + TCP on 127.0.0.1:0, no TLS, silent logger). */
export async function startEngine(overrides: Partial<EmbeddedEngineOptions> = {}): Promise<StartedEngine> {
  const clock: Clock = overrides.clock ?? systemClock;
  const engine = new EmbeddedSipEngine({
    listenAddress: '127.0.0.1',
    publicAddress: null,
    udpPort: 0,
    tcpPort: 0,
    tlsPort: -1,
    tlsCertFile: null,
    tlsKeyFile: null,
    maxMessageBytes: 65_535,
    maxHeaders: 256,
    maxConnections: 1024,
    maxConnectionsPerIp: 64,
    connectionIdleTimeoutMs: 30_000,
    t1Ms: 500,
    retryAfterS: 30,
    sipTrace: true,
    // A logger to nowhere at debug level, so the SIP trace path runs on every message.
    log: createLogger({ level: 'debug', destination: { write: () => true } as never }),
    ...overrides,
    clock,
  });
  const warnings: string[] = [];
  engine.on('warning', (w) => warnings.push(w));
  await engine.start();
  const port = (transport: 'udp' | 'tcp'): number => {
    const l = engine.listening().find((x) => x.transport === transport);
    return l?.port ?? -1;
  };
  return { engine, udpPort: port('udp'), tcpPort: port('tcp'), warnings };
}

/** Waits for the first item of `items` (now or later, announced by `emitter`'s `event`) matching `pred`. */
function waitIn<T>(items: T[], emitter: EventEmitter, event: string, pred: (x: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const found = items.find(pred);
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const onItem = (x: T): void => {
      if (!pred(x)) return;
      clearTimeout(timer);
      emitter.off(event, onItem);
      resolve(x);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onItem);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(event, onItem);
  });
}

/** Resolves true if a matching item shows up within `windowMs`, false if the window passes quietly. */
export async function arrivesWithin<T>(wait: (timeoutMs: number) => Promise<T>, windowMs: number): Promise<boolean> {
  try {
    await wait(windowMs);
    return true;
  } catch {
    return false;
  }
}

abstract class Peer extends EventEmitter {
  readonly received: SipMessage[] = [];
  /** Raw payloads that did not parse (should never happen for what the engine sends). */
  readonly unparsed: Buffer[] = [];
  /** Answer BYEs from the engine with 200 (a well-behaved caller). */
  autoAnswerBye = true;

  protected onPayload(data: Buffer): void {
    let m: SipMessage;
    try {
      m = parseMessage(data);
    } catch {
      this.unparsed.push(data);
      return;
    }
    this.received.push(m);
    if (m.kind === 'request' && m.method === 'BYE' && this.autoAnswerBye) this.send(responseText(m, 200, 'OK'));
    this.emit('message', m);
  }

  abstract send(text: string | Buffer): void;

  /** The first response matching (already received or still to come). */
  response(pred: (r: SipResponse) => boolean, timeoutMs = 3000, what = 'a response'): Promise<SipResponse> {
    return waitIn(this.received, this, 'message', (m) => m.kind === 'response' && pred(m), timeoutMs, what) as Promise<SipResponse>;
  }

  request(pred: (r: SipRequest) => boolean, timeoutMs = 3000, what = 'a request'): Promise<SipRequest> {
    return waitIn(this.received, this, 'message', (m) => m.kind === 'request' && pred(m), timeoutMs, what) as Promise<SipRequest>;
  }

  responsesFor(callId: string): SipResponse[] {
    return this.received.filter((m): m is SipResponse => m.kind === 'response' && m.headers.get('call-id') === callId);
  }
}

export class UdpPeer extends Peer {
  private readonly socket: dgram.Socket;
  port = 0;
  host: string;

  private constructor(host: string, private readonly targetPort: number) {
    super();
    this.host = host;
    this.socket = dgram.createSocket('udp4');
    this.socket.on('message', (data) => this.onPayload(data));
  }

  static async open(targetPort: number, host = '127.0.0.1', port = 0): Promise<UdpPeer> {
    const p = new UdpPeer(host, targetPort);
    await new Promise<void>((resolve, reject) => {
      p.socket.once('error', reject);
      p.socket.bind(port, host, () => {
        p.socket.off('error', reject);
        resolve();
      });
    });
    p.port = p.socket.address().port;
    return p;
  }

  send(text: string | Buffer): void {
    this.socket.send(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, this.targetPort, '127.0.0.1');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export class TcpPeer extends Peer {
  readonly closed: Promise<void>;
  private readonly framer = new SipStreamFramer();
  isClosed = false;
  port = 0;

  private constructor(readonly socket: net.Socket) {
    super();
    socket.on('data', (chunk) => {
      for (const m of this.framer.push(chunk)) this.onPayload(m);
    });
    socket.on('error', () => undefined); // a reset shows up as `close`
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static connect(port: number, localAddress = '127.0.0.1'): Promise<TcpPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const p = new TcpPeer(socket);
        p.port = socket.localPort ?? 0;
        resolve(p);
      });
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

export interface RequestOptions {
  method: string;
  callId: string;
  /** Where our Via says responses go. */
  via: { transport: 'UDP' | 'TCP'; host: string; port: number };
  branch?: string;
  cseq?: number;
  uri?: string;
  fromTag?: string;
  toTag?: string;
  body?: string;
  extra?: string[];
}

let seq = 0;

/** A well-formed request as text (CRLF, Content-Length). */
export function requestText(o: RequestOptions): string {
  const body = o.body ?? '';
  const lines = [
    `${o.method} ${o.uri ?? 'sip:+15550199@127.0.0.1'} SIP/2.0`,
    `Via: SIP/2.0/${o.via.transport} ${o.via.host}:${o.via.port};branch=${o.branch ?? `z9hG4bKeng${++seq}`};rport`,
    'Max-Forwards: 70',
    `From: <sip:+15550100@carrier.example>;tag=${o.fromTag ?? 'ftag'}`,
    `To: <sip:+15550199@gw.example>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq ?? 1} ${o.method === 'ACK' ? 'ACK' : o.method}`,
    `Contact: <sip:caller@${o.via.host}:${o.via.port}${o.via.transport === 'TCP' ? ';transport=tcp' : ''}>`,
    ...(o.extra ?? []),
  ];
  if (body.length > 0) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
  return lines.join('\r\n');
}

export const OFFER_SDP = ['v=0', 'o=c 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n');

/** A response to a request the engine sent us (BYE …). */
export function responseText(req: SipRequest, status: number, reason: string): string {
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const v of req.headers.getAll('via')) lines.push(`Via: ${v}`);
  lines.push(`From: ${req.headers.get('from')}`, `To: ${req.headers.get('to')}`);
  lines.push(`Call-ID: ${req.headers.get('call-id')}`, `CSeq: ${req.headers.get('cseq')}`, 'Content-Length: 0', '', '');
  return lines.join('\r\n');
}

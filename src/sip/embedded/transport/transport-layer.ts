/**
 * The transport layer (RFC 3261 §18): owns every listener, turns received bytes into messages
 * and messages into bytes, and is the only SIP code that knows about sockets.
 *
 * Receiving: parse (the parser validates) → (request) RFC 3581 Via stamping → `request` event;
 * (response) → `response` event. Nothing thrown by the parser or by a listener escapes into the
 * socket callbacks: a bad message costs a warning, never the process.
 *
 * Malformed requests are answered HERE and only here (see error-response.ts), after the request
 * gate (when one is given) let them through, so a scanner or a blocked source gets no 400: when the parser
 * rejects a request with a status (400/413/505 …) and the head still holds Via, From, To,
 * Call-ID and CSeq, a stateless error response goes back to the source (same connection on a
 * stream, source address and port on UDP — the Via may be the broken part). Layers above never
 * see such messages.
 *
 * Sending: requests to an explicit target; responses over the request's connection when it is
 * a stream and still open, otherwise per the top Via (§18.2.2, RFC 3581), from the same local
 * socket the request arrived on (NATs expect the reply from the address they sent to).
 */
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { parseMessage, parseVia, serializeMessage } from '../message/index.js';
import {
  DEFAULT_PARSE_LIMITS,
  SipParseError,
  type ParseLimits,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../message/types.js';
import type { TransactionTransport } from '../transaction/types.js';
import type { GateRequest } from '../../request-gate.js';
import { buildErrorResponse, scrapeRequestHeaders, type HeaderLine } from './error-response.js';
import type { ReceivedSource, SendTarget, Transport, TransportProtocol, TransportWarning } from './types.js';
import { isReliable, responseDestination, stampTopVia } from './via.js';

export interface TransportLayerWarning {
  code: TransportWarning['code'] | 'parse-error' | 'dropped-response' | 'listener-error';
  message: string;
  transport?: TransportProtocol;
  remote?: { address: string; port: number };
  connectionId?: string;
}

export interface TransportLayerEvents {
  /** A well-formed request, its top Via already stamped with received/rport. */
  request: [request: SipRequest, source: ReceivedSource];
  response: [response: SipResponse, source: ReceivedSource];
  warning: [warning: TransportLayerWarning];
}

export interface TransportLayerOptions {
  transports: Transport[];
  parseLimits?: ParseLimits;
  /**
   * Host to advertise in the sent-by of our Via (a public name or address when listening on
   * 0.0.0.0 or behind NAT). Defaults to each listener's bound address.
   */
  advertisedHost?: string;
  /**
   * The request gate, for malformed requests (well-formed ones are gated by the engine above):
   * 'drop' means no error response goes back.
   */
  gate?: (request: GateRequest, source: ReceivedSource) => 'pass' | 'drop';
}

export class TransportLayer extends EventEmitter<TransportLayerEvents> implements TransactionTransport {
  private readonly transports: readonly Transport[];
  private readonly parseLimits: ParseLimits;
  private readonly advertisedHost: string | undefined;
  private readonly gate: TransportLayerOptions['gate'];
  private closed = false;

  constructor(options: TransportLayerOptions) {
    super();
    if (!Array.isArray(options.transports) || options.transports.length === 0) {
      throw new TypeError('TransportLayer needs at least one transport');
    }
    this.transports = [...options.transports];
    this.parseLimits = options.parseLimits ?? DEFAULT_PARSE_LIMITS;
    this.advertisedHost = options.advertisedHost;
    this.gate = options.gate;
    for (const t of this.transports) {
      t.on('message', (data, source) => this.onRaw(data, source));
      t.on('warning', (w) => this.warn({ ...w, transport: t.protocol }));
    }
  }

  /** Binds every listener. */
  async start(): Promise<void> {
    await Promise.all(this.transports.map((t) => t.listen()));
  }

  /** Idempotent; closes every transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.transports.map((t) => t.close()));
  }

  listTransports(): readonly Transport[] {
    return this.transports;
  }

  isReliable(protocol: TransportProtocol): boolean {
    return isReliable(protocol);
  }

  viaSentBy(protocol: TransportProtocol): string {
    const t = this.transports.find((x) => x.protocol === protocol);
    const bound = t?.address();
    if (t === undefined || bound === undefined) throw new Error(`no listening ${protocol} transport`);
    const host = this.advertisedHost ?? bound.host;
    return `${isIPv6(host) ? `[${host}]` : host}:${bound.port}`;
  }

  sendRequest(request: SipRequest, target: SendTarget): Promise<void> {
    const t = this.pick(target.transport, target.host);
    if (t === undefined) return Promise.reject(new Error(`no ${target.transport} transport to send a request on`));
    return t.send(serializeMessage(request), target);
  }

  sendResponse(response: SipResponse, requestSource: ReceivedSource): Promise<void> {
    const viaValue = response.headers.get('via');
    if (viaValue === undefined) return Promise.reject(new TypeError('a response needs a Via header to be routed'));
    let dest: SendTarget;
    try {
      const top = parseVia(viaValue)[0];
      if (top === undefined) throw new TypeError('empty Via');
      dest = responseDestination(top, requestSource.transport);
    } catch (err) {
      return Promise.reject(err);
    }
    if (requestSource.connectionId !== undefined) dest.connectionId = requestSource.connectionId;
    const t = this.pick(requestSource.transport, dest.host, requestSource.localPort);
    if (t === undefined) return Promise.reject(new Error(`no ${requestSource.transport} transport to answer on`));
    return t.send(serializeMessage(response), dest);
  }

  /** Chooses a transport: same protocol, preferring the same local port, then the same address family. */
  private pick(protocol: TransportProtocol, host: string, localPort?: number): Transport | undefined {
    let best: Transport | undefined;
    let bestScore = -1;
    const v6 = host.startsWith('[') || isIPv6(host);
    for (const t of this.transports) {
      if (t.protocol !== protocol) continue;
      const a = t.address();
      let score = 0;
      if (a !== undefined && localPort !== undefined && a.port === localPort) score += 2;
      if (a !== undefined && isIPv6(a.host) === v6) score += 1;
      if (score > bestScore) {
        best = t;
        bestScore = score;
      }
    }
    return best;
  }

  private onRaw(data: Buffer, source: ReceivedSource): void {
    let message: SipMessage;
    try {
      message = parseMessage(data, this.parseLimits);
    } catch (err) {
      this.onParseError(err, data, source);
      return;
    }
    try {
      if (message.kind === 'request') this.onRequest(message, source);
      else this.onResponse(message, source);
    } catch (err) {
      // A bug in a layer above must not take the socket (or the process) down with it.
      this.warn({ code: 'listener-error', message: (err as Error)?.stack ?? String(err), ...remoteOf(source) });
    }
  }

  private onRequest(request: SipRequest, source: ReceivedSource): void {
    // The parser has already checked what §8.2 asks for (Via, From, To, Call-ID, a CSeq whose
    // method matches, Max-Forwards syntax), so no second pass here.
    stampTopVia(request.headers, source.address, source.port);
    this.emit('request', request, source);
  }

  private onResponse(response: SipResponse, source: ReceivedSource): void {
    // §18.1.2: a response without a usable top Via or CSeq cannot match a transaction.
    const via = response.headers.get('via');
    const cseq = response.headers.get('cseq');
    if (via === undefined || cseq === undefined) {
      this.warn({ code: 'dropped-response', message: 'response without Via or CSeq', ...remoteOf(source) });
      return;
    }
    this.emit('response', response, source);
  }

  private onParseError(err: unknown, data: Buffer, source: ReceivedSource): void {
    const status = err instanceof SipParseError ? err.status : undefined;
    this.warn({
      code: 'parse-error',
      message: err instanceof Error ? err.message : String(err),
      ...remoteOf(source),
    });
    if (status === undefined) return;
    // The parser hands over the request as far as it got; when that stops short of the headers
    // a response needs (it failed on an earlier line), scrape them from the raw head instead.
    const partial = err instanceof SipParseError ? err.request : undefined;
    const scraped = scrapeRequestHeaders(data);
    if (partial === undefined && scraped === undefined) return; // not a request: nobody to answer
    if (this.gate !== undefined) {
      const lines = [...(partial?.headers.list ?? []), ...(scraped?.lines ?? [])];
      const probe: GateRequest = {
        method: partial?.method ?? scraped?.method ?? null,
        headers: { get: (name) => lines.find((h) => h.name === name.toLowerCase())?.value },
      };
      if (this.gate(probe, source) === 'drop') return;
    }
    if (partial !== undefined && this.answerStatelessly(partial.headers.list, status, source)) return;
    if (scraped !== undefined) this.answerStatelessly(scraped.lines, status, source);
  }

  /** Sends a stateless error response back to where the request came from; false if it cannot. */
  private answerStatelessly(lines: readonly HeaderLine[], status: number, source: ReceivedSource): boolean {
    const bytes = buildErrorResponse(lines, status);
    if (bytes === undefined) return false;
    const t = this.pick(source.transport, source.address, source.localPort);
    if (t === undefined) return false;
    const target: SendTarget = { host: source.address, port: source.port, transport: source.transport };
    if (source.connectionId !== undefined) target.connectionId = source.connectionId;
    t.send(bytes, target).catch((e: Error) =>
      this.warn({ code: 'socket-error', message: `could not send ${status}: ${e.message}`, ...remoteOf(source) }),
    );
    return true;
  }

  private warn(w: TransportLayerWarning): void {
    if (this.listenerCount('warning') > 0) this.emit('warning', w);
  }
}

function remoteOf(source: ReceivedSource): Pick<TransportLayerWarning, 'transport' | 'remote' | 'connectionId'> {
  const out: Pick<TransportLayerWarning, 'transport' | 'remote' | 'connectionId'> = {
    transport: source.transport,
    remote: { address: source.address, port: source.port },
  };
  if (source.connectionId !== undefined) out.connectionId = source.connectionId;
  return out;
}

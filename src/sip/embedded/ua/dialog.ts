/**
 * A UAS dialog (RFC 3261 §12.1.1, §12.2.1): created from the INVITE we answer. It knows the ids
 * (Call-ID, our tag, the caller's tag), both CSeq spaces, the remote target (the caller's
 * Contact), the route set (the INVITE's Record-Route, in order), and where in-dialog requests go.
 */
import { randomBytes } from 'node:crypto';
import { parseContact, parseNameAddr, parseNameAddrList, parseUri, tagOf } from '../message/index.js';
import { SipHeaders, type SipRequest } from '../message/types.js';
import type { ReceivedSource, SendTarget, TransportProtocol } from '../transport/types.js';

export function newTag(): string {
  return randomBytes(6).toString('hex');
}

export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** The caller's From, which is our To in requests we send. */
  readonly remoteUriHeader: string;
  /** The INVITE's To plus our tag, which is our From in requests we send. */
  readonly localUriHeader: string;
  readonly remoteTarget: string;
  readonly routeSet: readonly string[];
  private localSeq: number;
  private remoteSeq: number;

  constructor(
    invite: SipRequest,
    readonly source: ReceivedSource,
    localTag = newTag(),
  ) {
    this.callId = invite.headers.get('call-id') ?? '';
    this.localTag = localTag;
    const from = invite.headers.get('from') ?? '';
    this.remoteTag = tagOf(parseNameAddr(from)) ?? '';
    this.remoteUriHeader = from;
    const to = invite.headers.get('to') ?? '';
    this.localUriHeader = `${to};tag=${localTag}`;
    const contact = invite.headers.get('contact');
    const contacts = contact ? parseContact(contact) : [];
    this.remoteTarget = contacts !== '*' && contacts[0] ? contacts[0].uri : parseNameAddr(from).uri;
    this.routeSet = invite.headers.getAll('record-route').flatMap((v) => parseNameAddrList(v).map((na) => `<${na.uri}>`));
    this.remoteSeq = Number.parseInt((invite.headers.get('cseq') ?? '0').trim(), 10) || 0;
    // Our own CSeq space starts at a random value below 2**31 (§8.1.1.5).
    this.localSeq = randomBytes(2).readUInt16BE(0) + 1;
  }

  /** Key used to find the dialog of an in-dialog request (our tag is the request's To tag). */
  static keyOf(callId: string, localTag: string, remoteTag: string): string {
    return `${callId}\u0000${localTag}\u0000${remoteTag}`;
  }

  get key(): string {
    return Dialog.keyOf(this.callId, this.localTag, this.remoteTag);
  }

  /**
   * §12.2.2: a request with a lower CSeq than the last one is out of order (500); higher ones
   * advance the remote sequence.
   */
  acceptRemoteCSeq(seq: number): boolean {
    if (seq < this.remoteSeq) return false;
    this.remoteSeq = seq;
    return true;
  }

  /** A new in-dialog request from us (BYE, REFER, INFO): §12.2.1.1. Via is added by the transaction layer. */
  createRequest(method: string, extra?: { body?: Buffer; contentType?: string; headers?: Array<[string, string]> }): SipRequest {
    const headers = new SipHeaders();
    // Loose routing: the Request-URI is the remote target and every route goes in Route (§12.2.1.1).
    for (const r of this.routeSet) headers.append('route', r);
    headers.append('max-forwards', '70');
    headers.append('from', this.localUriHeader);
    headers.append('to', this.remoteUriHeader);
    headers.append('call-id', this.callId);
    headers.append('cseq', `${++this.localSeq} ${method}`);
    for (const [n, v] of extra?.headers ?? []) headers.append(n, v);
    if (extra?.contentType) headers.append('content-type', extra.contentType);
    return { kind: 'request', method, uri: this.remoteTarget, headers, body: extra?.body ?? Buffer.alloc(0) };
  }

  /**
   * Where in-dialog requests go: the first route if there is one, else the remote target. On a
   * stream transport the connection the INVITE came in on is reused when still open: a carrier
   * behind NAT or a TLS client cannot be reached on a new connection.
   */
  target(): SendTarget {
    const next = this.routeSet[0] ?? `<${this.remoteTarget}>`;
    const uri = parseUri(next.replace(/^<|>$/g, ''));
    const transport = this.transportFor(uri);
    if (uri.kind !== 'sip') return this.sourceTarget();
    const port = uri.port ?? (transport === 'tls' ? 5061 : 5060);
    const host = uri.host.replace(/^\[|\]$/g, '');
    const t: SendTarget = { host, port, transport };
    if (this.source.connectionId !== undefined && transport === this.source.transport) t.connectionId = this.source.connectionId;
    return t;
  }

  private transportFor(uri: ReturnType<typeof parseUri>): TransportProtocol {
    if (uri.kind !== 'sip') return this.source.transport;
    const param = uri.params.get('transport')?.toLowerCase();
    if (uri.scheme === 'sips' || param === 'tls') return 'tls';
    if (param === 'tcp') return this.source.transport === 'tls' ? 'tls' : 'tcp';
    if (param === 'udp') return 'udp';
    return this.source.transport;
  }

  private sourceTarget(): SendTarget {
    const t: SendTarget = { host: this.source.address, port: this.source.port, transport: this.source.transport };
    if (this.source.connectionId !== undefined) t.connectionId = this.source.connectionId;
    return t;
  }
}

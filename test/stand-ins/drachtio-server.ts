/**
 * STAND-IN for drachtio-server: NOT the real server.
 *
 * drachtio-server (C++/sofia-sip) cannot be installed from this project's package sources, so the
 * drachtio engine's tests talk to this TCP server instead. It speaks drachtio's application wire
 * protocol as drachtio-srf 5.x expects it (messages `<byte length>#<msgId>|<type>|…`, written
 * here from reading drachtio-srf's lib/drachtio-agent.js and drachtio-server's client protocol)
 * and plays the SIP side with synthetic carriers: it delivers INVITE, ACK, CANCEL, BYE, re-INVITE,
 * INFO, OPTIONS and NOTIFY to the application as drachtio-server would, completes the responses
 * and requests the application sends (Via, To-tag, Contact, CSeq, Content-Length, like sofia-sip),
 * records every one of them for assertions, and answers the application's BYE and REFER (with
 * NOTIFY sipfrag progress).
 *
 * What it mimics of drachtio-server's behaviour, because the adapter depends on it:
 * - `authenticate|<secret>|<tags>` → `OK|<hostports>|<version>`, or `NO|incorrect secret` and the
 *   connection is closed.
 * - New requests go only to a connection that sent `route|<verb>` for their method.
 * - A dialog belongs to the connection that answered its INVITE; in-dialog requests from the
 *   network go only there. The application may send in-dialog requests on any connection.
 * - CANCEL: the stack answers 200 to the CANCEL and 487 to the INVITE itself, then tells the
 *   application (recorded here with origin 'stack').
 *
 * Not modelled: retransmissions and timers, PRACK, UAC INVITEs, proxying, TLS to the app, CDRs.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';

export interface SipSourceSpec {
  readonly address: string;
  readonly port: number;
  /** drachtio-server's names: udp, tcp, tls, ws, wss. */
  readonly protocol: string;
}

/** One SIP message the application sent (origin 'app') or the stack generated (origin 'stack'). */
export interface RecordedSip {
  readonly origin: 'app' | 'stack';
  readonly kind: 'request' | 'response';
  readonly startLine: string;
  readonly status: number | null;
  readonly reason: string | null;
  /** The request method, or the CSeq method of a response. */
  readonly method: string;
  readonly callId: string;
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  readonly body: string;
  readonly raw: string;
  /** First value of a header (case-insensitive). */
  header(name: string): string | undefined;
  headerAll(name: string): string[];
}

export interface InviteSpec {
  readonly callId?: string;
  readonly requestUri?: string;
  readonly from?: string;
  readonly to?: string;
  readonly sdp?: string | null;
  readonly source?: SipSourceSpec;
  /** Extra header lines, in order. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

export interface ReferPlan {
  /** Response to the application's REFER (202 to accept). */
  readonly status: number;
  /** sipfrag statuses sent in NOTIFYs after a 2xx, the last one terminating the subscription. */
  readonly notify: readonly number[];
}

export interface StandInOptions {
  readonly secret: string;
  /** What the stand-in reports as its SIP listeners on authentication. */
  readonly hostports?: string;
}

const CRLF = '\r\n';
const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted',
  404: 'Not Found', 481: 'Call/Transaction Does Not Exist', 486: 'Busy Here', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 503: 'Service Unavailable', 603: 'Decline',
};

interface Conn {
  readonly socket: net.Socket;
  buffer: Buffer;
  authenticated: boolean;
  readonly routes: Set<string>;
}

/** A request from the network, waiting for the application's response. */
interface NetTxn {
  readonly txnId: string;
  readonly method: string;
  readonly callId: string;
  readonly request: ParsedSip;
  readonly conn: Conn;
  readonly source: SipSourceSpec;
  /** To-tag the stack puts on responses (INVITE). */
  localTag: string;
  final: boolean;
  readonly done: (res: RecordedSip) => void;
}

interface StandInDialog {
  readonly id: string;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our (called) side's URI (To of the INVITE) and the caller's (From). */
  readonly localUri: string;
  readonly remoteUri: string;
  readonly remoteContact: string;
  readonly source: SipSourceSpec;
  readonly owner: Conn;
  localCseq: number;
  remoteCseq: number;
}

interface ParsedSip {
  readonly startLine: string;
  readonly headers: Array<[string, string]>;
  readonly body: string;
}

const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', f: 'from', t: 'to', v: 'via', l: 'content-length', c: 'content-type',
  k: 'supported', o: 'event', r: 'refer-to', b: 'referred-by',
};
const norm = (n: string): string => {
  const l = n.trim().toLowerCase();
  return COMPACT[l] ?? l;
};

function parseSip(text: string): ParsedSip {
  const end = text.indexOf(CRLF + CRLF);
  const head = end === -1 ? text : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end + 4);
  const lines = head.replace(/\r\n[ \t]+/g, ' ').split(CRLF);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers.push([line.slice(0, c).trim(), line.slice(c + 1).trim()]);
  }
  return { startLine: lines[0] ?? '', headers, body };
}

function first(p: ParsedSip, name: string): string | undefined {
  const n = norm(name);
  return p.headers.find(([h]) => norm(h) === n)?.[1];
}

function render(startLine: string, headers: ReadonlyArray<readonly [string, string]>, body: string): string {
  const lines = [startLine, ...headers.filter(([n]) => norm(n) !== 'content-length').map(([n, v]) => `${n}: ${v}`)];
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return lines.join(CRLF) + CRLF + CRLF + body;
}

function record(origin: 'app' | 'stack', text: string): RecordedSip {
  const p = parseSip(text);
  const isResponse = p.startLine.startsWith('SIP/');
  const m = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(p.startLine);
  const cseqMethod = (first(p, 'CSeq') ?? '').split(/\s+/)[1] ?? '';
  return {
    origin,
    kind: isResponse ? 'response' : 'request',
    startLine: p.startLine,
    status: m ? Number(m[1]) : null,
    reason: m ? (m[2] ?? '') : null,
    method: isResponse ? cseqMethod : (p.startLine.split(' ')[0] ?? ''),
    callId: first(p, 'Call-ID') ?? '',
    headers: p.headers,
    body: p.body,
    raw: text,
    header: (name) => first(p, name),
    headerAll: (name) => p.headers.filter(([h]) => norm(h) === norm(name)).map(([, v]) => v),
  };
}

const tagOf = (v: string | undefined): string | undefined => /;\s*tag=([^;>\s]+)/i.exec(v ?? '')?.[1];
const uriOf = (v: string | undefined): string => {
  const s = v ?? '';
  const m = /<([^>]*)>/.exec(s);
  return m?.[1] ?? s.split(';')[0]?.trim() ?? '';
};
const rand = (): string => randomUUID().replace(/-/g, '').slice(0, 10);
function stackTime(): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds() * 1000, 6)}`;
}

export class DrachtioServerStandIn extends EventEmitter {
  /** Every SIP message the application sent or the stack generated, in order. */
  readonly recorded: RecordedSip[] = [];
  referPlan: ReferPlan = { status: 202, notify: [100, 200] };
  /** TCP connections accepted so far (reconnect attempts included). */
  connectionsAccepted = 0;

  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly netTxns = new Map<string, NetTxn>();
  private readonly invites = new Map<string, NetTxn>();
  private readonly dialogs = new Map<string, StandInDialog>();
  private available = true;
  private readonly sipHost = '127.0.0.1';
  private readonly sipPort = 5060;

  private constructor(private readonly opts: StandInOptions) {
    super();
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  static async start(opts: StandInOptions): Promise<DrachtioServerStandIn> {
    const s = new DrachtioServerStandIn(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', () => resolve());
    });
    return s;
  }

  get port(): number {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('stand-in not listening');
    return a.port;
  }

  /** Connections that authenticated and are still open. */
  get clientCount(): number {
    return [...this.conns].filter((c) => c.authenticated && !c.socket.destroyed).length;
  }

  /** Resolves once an authenticated client has routed `verb` (e.g. 'invite'). */
  waitForRoute(verb: string, timeoutMs = 5000): Promise<void> {
    if (this.routed(verb)) return Promise.resolve();
    return this.waitForEvent('route', () => this.routed(verb), timeoutMs, `route ${verb}`);
  }

  /** Resolves with the first recorded message (past or future) that matches. */
  waitFor(pred: (m: RecordedSip) => boolean, timeoutMs = 5000, what = 'a SIP message'): Promise<RecordedSip> {
    const found = this.recorded.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onSip = (m: RecordedSip): void => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.off('sip', onSip);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.off('sip', onSip);
        reject(new Error(`stand-in: timed out waiting for ${what}`));
      }, timeoutMs);
      this.on('sip', onSip);
    });
  }

  /** While false, new connections are accepted and dropped at once (server gone). */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  /** Destroys every application connection, as a crashed or restarted server would. */
  dropClients(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  async close(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- the network side: synthetic carrier requests ----

  /** Delivers a new INVITE to the application. Resolves with the application's final response. */
  sendInvite(spec: InviteSpec = {}): { callId: string; final: Promise<RecordedSip> } {
    const conn = this.routedConn('invite');
    const source = spec.source ?? { address: '192.0.2.10', port: 5060, protocol: 'udp' };
    const callId = spec.callId ?? `${rand()}@${source.address}`;
    const requestUri = spec.requestUri ?? 'sip:+4930123456@gw.example.net';
    const sdp = spec.sdp === undefined ? defaultOffer(source.address) : spec.sdp;
    const headers: Array<[string, string]> = [
      ['Via', `SIP/2.0/${source.protocol.toUpperCase()} ${source.address}:${source.port};branch=z9hG4bK${rand()};rport`],
      ['Max-Forwards', '70'],
      ['From', spec.from ?? `"Caller" <sip:+15551230000@${source.address}>;tag=${rand()}`],
      ['To', spec.to ?? `<${requestUri}>`],
      ['Call-ID', callId],
      ['CSeq', '1 INVITE'],
      ['Contact', `<sip:caller@${source.address}:${source.port}>`],
      ...(spec.headers ?? []).map(([n, v]) => [n, v] as [string, string]),
    ];
    if (sdp) headers.push(['Content-Type', 'application/sdp']);
    const text = render(`INVITE ${requestUri} SIP/2.0`, headers, sdp ?? '');
    const { txn, final } = this.newNetTxn(conn, 'INVITE', callId, parseSip(text), source);
    this.invites.set(callId, txn);
    // sofia-sip answers 100 Trying on its own before the application sees the INVITE.
    this.recordSip('stack', this.completeResponse(txn, 'SIP/2.0 100 Trying', [], ''));
    this.deliver(conn, 'network', source, txn.txnId, '', text, true);
    return { callId, final };
  }

  /** The caller's ACK for the 2xx (initial or re-INVITE). */
  sendAck(callId: string): void {
    const d = this.dialogFor(callId);
    this.deliverInDialog(d, 'ACK', [], '', d.remoteCseq, randomUUID());
  }

  /** The caller gives up: the stack answers 200 + 487 itself, then tells the application. */
  sendCancel(callId: string): void {
    const txn = this.invites.get(callId);
    if (!txn || txn.final) throw new Error(`stand-in: no INVITE in progress for ${callId}`);
    txn.final = true;
    this.invites.delete(callId);
    const req = txn.request;
    const cancelHeaders: Array<[string, string]> = [
      ...req.headers.filter(([n]) => ['via', 'from', 'to', 'call-id', 'max-forwards'].includes(norm(n))),
      ['CSeq', '1 CANCEL'],
    ];
    const cancelText = render(`CANCEL ${req.startLine.split(' ')[1]} SIP/2.0`, cancelHeaders, '');
    this.recordSip('stack', this.completeResponse({ ...txn, request: parseSip(cancelText) }, 'SIP/2.0 200 OK', [], ''));
    const r487 = this.completeResponse(txn, 'SIP/2.0 487 Request Terminated', [], '');
    this.recordSip('stack', r487);
    txn.done(record('stack', r487));
    const dialogId = `${callId};from-tag=${tagOf(first(req, 'From')) ?? ''}`;
    this.deliver(txn.conn, 'network', txn.source, txn.txnId, dialogId, cancelText, false);
  }

  /** The caller hangs up. Resolves with the application's response. */
  sendBye(callId: string): Promise<RecordedSip> {
    return this.sendInDialog(callId, 'BYE');
  }

  /** A re-INVITE (hold/unhold/refresh) with the given offer. */
  sendReinvite(callId: string, sdp: string | null): Promise<RecordedSip> {
    return this.sendInDialog(callId, 'INVITE', sdp ? [['Content-Type', 'application/sdp']] : [], sdp ?? '');
  }

  sendInfo(callId: string, contentType: string, body: string): Promise<RecordedSip> {
    return this.sendInDialog(callId, 'INFO', [['Content-Type', contentType]], body);
  }

  /**
   * drachtio-server hanging up by itself (e.g. `ACK timeout`): it sends BYE to the caller and
   * tells the application with an unsolicited BYE (source application) carrying a Reason.
   */
  sendServerBye(callId: string, reasonText: string): void {
    const d = this.dialogFor(callId);
    d.localCseq += 1;
    const headers: Array<[string, string]> = [
      ['Via', `SIP/2.0/UDP ${this.sipHost}:${this.sipPort};branch=z9hG4bK${rand()}`],
      ['From', `<${d.localUri}>;tag=${d.localTag}`],
      ['To', `<${d.remoteUri}>;tag=${d.remoteTag}`],
      ['Call-ID', d.callId],
      ['CSeq', `${d.localCseq} BYE`],
      ['Reason', `SIP ;cause=200 ;text="${reasonText}"`],
    ];
    const text = render(`BYE ${d.remoteContact} SIP/2.0`, headers, '');
    this.recordSip('stack', text);
    this.dialogs.delete(d.id);
    this.deliver(d.owner, 'application', d.source, 'unsolicited', d.id, text, false);
  }

  /** Out-of-dialog OPTIONS (a carrier's keep-alive). Resolves with the application's response. */
  sendOptions(source: SipSourceSpec = { address: '192.0.2.10', port: 5060, protocol: 'udp' }): Promise<RecordedSip> {
    const conn = this.routedConn('options');
    const callId = `${rand()}@${source.address}`;
    const text = render(
      `OPTIONS sip:${this.sipHost}:${this.sipPort} SIP/2.0`,
      [
        ['Via', `SIP/2.0/${source.protocol.toUpperCase()} ${source.address}:${source.port};branch=z9hG4bK${rand()}`],
        ['Max-Forwards', '70'],
        ['From', `<sip:ping@${source.address}>;tag=${rand()}`],
        ['To', `<sip:${this.sipHost}:${this.sipPort}>`],
        ['Call-ID', callId],
        ['CSeq', '1 OPTIONS'],
      ],
      '',
    );
    const { txn, final } = this.newNetTxn(conn, 'OPTIONS', callId, parseSip(text), source);
    this.deliver(conn, 'network', source, txn.txnId, '', text, true);
    return final;
  }

  /** Any in-dialog request from the caller. Resolves with the application's final response. */
  sendInDialog(callId: string, method: string, headers: Array<[string, string]> = [], body = ''): Promise<RecordedSip> {
    const d = this.dialogFor(callId);
    d.remoteCseq += 1;
    const txnId = randomUUID();
    const text = this.inDialogText(d, method, headers, body, d.remoteCseq);
    if (d.owner.socket.destroyed) {
      return Promise.reject(new Error('stand-in: the connection that owns this dialog is gone (drachtio-server cannot route it)'));
    }
    const { final } = this.newNetTxn(d.owner, method, callId, parseSip(text), d.source, txnId);
    if (method === 'BYE') this.dialogs.delete(d.id);
    this.deliver(d.owner, 'network', d.source, txnId, d.id, text, false);
    return final;
  }

  // ---- wire protocol ----

  private onConnection(socket: net.Socket): void {
    this.connectionsAccepted += 1;
    if (!this.available) {
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, buffer: Buffer.alloc(0), authenticated: false, routes: new Set() };
    this.conns.add(conn);
    socket.on('data', (chunk) => this.onData(conn, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.conns.delete(conn));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    conn.buffer = Buffer.concat([conn.buffer, chunk]);
    for (;;) {
      const hash = conn.buffer.indexOf('#');
      if (hash <= 0) return;
      const len = Number(conn.buffer.subarray(0, hash).toString('latin1'));
      if (!Number.isInteger(len) || len <= 0) {
        conn.socket.destroy();
        return;
      }
      if (conn.buffer.length < hash + 1 + len) return;
      const msg = conn.buffer.subarray(hash + 1, hash + 1 + len).toString('utf8');
      conn.buffer = conn.buffer.subarray(hash + 1 + len);
      this.onMessage(conn, msg);
    }
  }

  private send(conn: Conn, payload: string): void {
    if (!conn.socket.destroyed) conn.socket.write(`${Buffer.byteLength(payload)}#${payload}`);
  }

  private reply(conn: Conn, msgId: string, text: string): void {
    this.send(conn, `${randomUUID()}|response|${msgId}|${text}`);
  }

  private onMessage(conn: Conn, msg: string): void {
    const nl = msg.indexOf(CRLF);
    const leader = nl === -1 ? msg : msg.slice(0, nl);
    const sip = nl === -1 ? '' : msg.slice(nl + 2);
    const tokens = leader.split('|');
    const msgId = tokens[0] ?? '';
    const type = tokens[1];
    if (type === 'authenticate') {
      if (tokens[2] !== this.opts.secret) {
        this.reply(conn, msgId, 'NO|incorrect secret');
        conn.socket.end();
        return;
      }
      conn.authenticated = true;
      const hostports = this.opts.hostports ?? 'udp/127.0.0.1:5060,tcp/127.0.0.1:5060,tls/127.0.0.1:5061';
      this.reply(conn, msgId, `OK|${hostports}|v0.9.3-standin`);
      return;
    }
    if (!conn.authenticated) {
      this.reply(conn, msgId, 'NO|not authenticated');
      conn.socket.end();
      return;
    }
    switch (type) {
      case 'ping':
        this.reply(conn, msgId, 'OK|pong');
        return;
      case 'route':
        conn.routes.add((tokens[2] ?? '').toLowerCase());
        this.reply(conn, msgId, 'OK');
        this.emit('route');
        return;
      case 'remove_route':
        conn.routes.delete((tokens[2] ?? '').toLowerCase());
        this.reply(conn, msgId, 'OK');
        return;
      case 'sip':
        this.onAppSip(conn, msgId, tokens[2] ?? '', tokens[3] ?? '', sip);
        return;
      default:
        this.reply(conn, msgId, 'NO|Unknown message type');
    }
  }

  /** `sip|<txnId>|<dialogId>`: a response to a network request, or an application request. */
  private onAppSip(conn: Conn, msgId: string, txnId: string, dialogId: string, text: string): void {
    const p = parseSip(text);
    if (p.startLine.startsWith('SIP/')) {
      const txn = this.netTxns.get(txnId);
      if (!txn || txn.final) {
        this.reply(conn, msgId, 'NO|Response not sent due to unknown transaction');
        return;
      }
      const status = Number(/^SIP\/2\.0\s+(\d{3})/.exec(p.startLine)?.[1] ?? 0);
      const full = this.completeResponse(txn, p.startLine, p.headers, p.body);
      const rec = this.recordSip('app', full);
      if (status >= 200) {
        txn.final = true;
        this.netTxns.delete(txnId);
        if (txn.method === 'INVITE') this.invites.delete(txn.callId);
        if (txn.method === 'INVITE' && status < 300 && !this.findDialog(txn.callId)) this.createDialog(txn, conn);
      }
      const dlgId = this.findDialog(txn.callId)?.id ?? '';
      this.reply(conn, msgId, `OK|${this.meta('application', txn.source, full)}|${txnId}|${dlgId}||Msg sent:|${CRLF}${full}`);
      if (status >= 200) txn.done(rec);
      return;
    }
    if (dialogId) {
      const d = this.dialogs.get(dialogId);
      if (!d) {
        this.reply(conn, msgId, `NO|unable to find dialog for dialog id ${dialogId}`);
        return;
      }
      const method = p.startLine.split(' ')[0] ?? '';
      if (method === 'ACK') return;
      d.localCseq += 1;
      const full = this.appRequestText(d, method, p.headers, p.body, d.localCseq);
      this.recordSip('app', full);
      const appTxnId = randomUUID();
      this.reply(conn, msgId, `OK|${this.meta('application', d.source, full)}|${appTxnId}|Msg sent:|${CRLF}${full}`);
      setImmediate(() => this.answerAppRequest(conn, d, method, full, appTxnId));
      return;
    }
    this.reply(conn, msgId, 'NO|the stand-in does not send requests outside a dialog');
  }

  /** The far end's answer to a request the application sent in a dialog. */
  private answerAppRequest(conn: Conn, d: StandInDialog, method: string, requestText: string, txnId: string): void {
    const req = parseSip(requestText);
    const respond = (status: number): void => {
      const headers: Array<[string, string]> = req.headers.filter(([n]) =>
        ['via', 'from', 'to', 'call-id', 'cseq'].includes(norm(n)),
      );
      const text = render(`SIP/2.0 ${status} ${REASONS[status] ?? 'Unknown'}`, headers, '');
      this.recordSip('stack', text);
      this.send(conn, `${randomUUID()}|sip|${this.meta('network', d.source, text)}|${txnId}|${d.id}|${CRLF}${text}`);
    };
    if (method === 'BYE') {
      this.dialogs.delete(d.id);
      respond(200);
      return;
    }
    if (method === 'REFER') {
      const plan = this.referPlan;
      respond(plan.status);
      if (plan.status >= 300) return;
      plan.notify.forEach((status, i) => {
        const last = i === plan.notify.length - 1;
        setTimeout(() => {
          if (!this.dialogs.has(d.id)) return;
          this.sendInDialog(
            d.callId,
            'NOTIFY',
            [
              ['Event', 'refer'],
              ['Subscription-State', last ? 'terminated;reason=noresource' : 'active;expires=60'],
              ['Content-Type', 'message/sipfrag;version=2.0'],
            ],
            `SIP/2.0 ${status} ${REASONS[status] ?? 'Unknown'}\r\n`,
          ).catch(() => undefined);
        }, 5 * (i + 1));
      });
      return;
    }
    respond(200);
  }

  // ---- helpers ----

  private routed(verb: string): boolean {
    return [...this.conns].some((c) => c.authenticated && !c.socket.destroyed && c.routes.has(verb));
  }

  private routedConn(verb: string): Conn {
    const conn = [...this.conns].find((c) => c.authenticated && !c.socket.destroyed && c.routes.has(verb));
    if (!conn) throw new Error(`stand-in: no connected application routed '${verb}'`);
    return conn;
  }

  private waitForEvent(event: string, ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const on = (): void => {
        if (!ok()) return;
        clearTimeout(timer);
        this.off(event, on);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off(event, on);
        reject(new Error(`stand-in: timed out waiting for ${what}`));
      }, timeoutMs);
      this.on(event, on);
    });
  }

  private newNetTxn(
    conn: Conn,
    method: string,
    callId: string,
    request: ParsedSip,
    source: SipSourceSpec,
    txnId: string = randomUUID(),
  ): { txn: NetTxn; final: Promise<RecordedSip> } {
    let done!: (r: RecordedSip) => void;
    const final = new Promise<RecordedSip>((resolve) => (done = resolve));
    const txn: NetTxn = { txnId, method, callId, request, conn, source, localTag: rand(), final: false, done };
    this.netTxns.set(txnId, txn);
    return { txn, final };
  }

  /** What sofia-sip makes of the application's response: request's Via/From/To/Call-ID/CSeq, tag, Contact. */
  private completeResponse(
    txn: Pick<NetTxn, 'request' | 'method' | 'localTag' | 'callId'>,
    startLine: string,
    appHeaders: ReadonlyArray<readonly [string, string]>,
    body: string,
  ): string {
    const status = Number(/^SIP\/2\.0\s+(\d{3})/.exec(startLine)?.[1] ?? 0);
    const req = txn.request;
    const d = this.findDialog(txn.callId);
    const headers: Array<[string, string]> = [];
    for (const [n, v] of req.headers) {
      const k = norm(n);
      if (k === 'via' || k === 'from' || k === 'call-id' || k === 'cseq') headers.push([n, v]);
      if (k === 'to') {
        const needsTag = status > 100 && tagOf(v) === undefined;
        headers.push([n, needsTag ? `${v};tag=${d?.localTag ?? txn.localTag}` : v]);
      }
    }
    const skip = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'content-length']);
    for (const [n, v] of appHeaders) if (!skip.has(norm(n))) headers.push([n, v]);
    if (status >= 200 && status < 300 && txn.method === 'INVITE' && !headers.some(([n]) => norm(n) === 'contact')) {
      headers.push(['Contact', `<sip:${this.sipHost}:${this.sipPort}>`]);
    }
    return render(startLine, headers, body);
  }

  private createDialog(txn: NetTxn, owner: Conn): StandInDialog {
    const req = txn.request;
    const from = first(req, 'From');
    const d: StandInDialog = {
      id: `${txn.callId};from-tag=${tagOf(from) ?? ''}`,
      callId: txn.callId,
      localTag: txn.localTag,
      remoteTag: tagOf(from) ?? '',
      localUri: uriOf(first(req, 'To')),
      remoteUri: uriOf(from),
      remoteContact: uriOf(first(req, 'Contact')),
      source: txn.source,
      owner,
      localCseq: 0,
      remoteCseq: Number((first(req, 'CSeq') ?? '1').split(' ')[0]),
    };
    this.dialogs.set(d.id, d);
    return d;
  }

  private findDialog(callId: string): StandInDialog | undefined {
    for (const d of this.dialogs.values()) if (d.callId === callId) return d;
    return undefined;
  }

  private dialogFor(callId: string): StandInDialog {
    const d = this.findDialog(callId);
    if (!d) throw new Error(`stand-in: no dialog for ${callId}`);
    return d;
  }

  /** A request from the caller inside the dialog. */
  private inDialogText(d: StandInDialog, method: string, extra: Array<[string, string]>, body: string, cseq: number): string {
    const headers: Array<[string, string]> = [
      ['Via', `SIP/2.0/${d.source.protocol.toUpperCase()} ${d.source.address}:${d.source.port};branch=z9hG4bK${rand()}`],
      ['Max-Forwards', '70'],
      ['From', `<${d.remoteUri}>;tag=${d.remoteTag}`],
      ['To', `<${d.localUri}>;tag=${d.localTag}`],
      ['Call-ID', d.callId],
      ['CSeq', `${cseq} ${method}`],
      ['Contact', `<${d.remoteContact}>`],
      ...extra,
    ];
    return render(`${method} sip:${this.sipHost}:${this.sipPort} SIP/2.0`, headers, body);
  }

  private deliverInDialog(d: StandInDialog, method: string, extra: Array<[string, string]>, body: string, cseq: number, txnId: string): void {
    const text = this.inDialogText(d, method, extra, body, cseq);
    this.deliver(d.owner, 'network', d.source, txnId, d.id, text, false);
  }

  /** What sofia-sip sends for the application's in-dialog request. */
  private appRequestText(
    d: StandInDialog,
    method: string,
    appHeaders: ReadonlyArray<readonly [string, string]>,
    body: string,
    cseq: number,
  ): string {
    const skip = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'content-length', 'max-forwards', 'contact']);
    const headers: Array<[string, string]> = [
      ['Via', `SIP/2.0/${d.source.protocol.toUpperCase()} ${this.sipHost}:${this.sipPort};branch=z9hG4bK${rand()}`],
      ['Max-Forwards', '70'],
      ['From', `<${d.localUri}>;tag=${d.localTag}`],
      ['To', `<${d.remoteUri}>;tag=${d.remoteTag}`],
      ['Call-ID', d.callId],
      ['CSeq', `${cseq} ${method}`],
      ['Contact', `<sip:${this.sipHost}:${this.sipPort}>`],
      ...appHeaders.filter(([n]) => !skip.has(norm(n))).map(([n, v]) => [n, v] as [string, string]),
    ];
    return render(`${method} ${d.remoteContact} SIP/2.0`, headers, body);
  }

  /** `source|bytes|protocol|address|port|time`, drachtio-server's SipMsgData_t::toMessageFormat. */
  private meta(source: 'network' | 'application', peer: SipSourceSpec, text: string): string {
    return `${source}|${Buffer.byteLength(text)}|${peer.protocol}|${peer.address}|${peer.port}|${stackTime()}`;
  }

  private deliver(
    conn: Conn,
    source: 'network' | 'application',
    peer: SipSourceSpec,
    txnId: string,
    dialogId: string,
    text: string,
    withReceivedOn: boolean,
  ): void {
    // New requests also name the listener they arrived on (drachtio-server ≥ 0.8: dest address|port).
    const tail = withReceivedOn ? `${this.sipHost}|${this.sipPort}|` : '';
    this.send(conn, `${randomUUID()}|sip|${this.meta(source, peer, text)}|${txnId}|${dialogId}|${tail}${CRLF}${text}`);
  }

  private recordSip(origin: 'app' | 'stack', text: string): RecordedSip {
    const r = record(origin, text);
    this.recorded.push(r);
    this.emit('sip', r);
    return r;
  }
}

function defaultOffer(address: string): string {
  return [
    'v=0',
    `o=- 1 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    'm=audio 40000 RTP/AVP 0 8 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join(CRLF);
}

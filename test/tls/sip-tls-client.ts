import { randomBytes } from 'node:crypto';
import tls from 'node:tls';

/**
 * A deliberately small, hand-written SIP user agent client over one TLS connection, for tests:
 * it frames what arrives by Content-Length (RFC 3261 §18.3) and hands back parsed messages. It
 * shares nothing with the gateway's own parser, so a bug there cannot hide itself here.
 */

export interface WireMessage {
  startLine: string;
  /** Lower-case header name → values in order. */
  headers: Map<string, string[]>;
  body: string;
  status?: number;
  method?: string;
}

export function header(m: WireMessage, name: string): string | undefined {
  return m.headers.get(name.toLowerCase())?.[0];
}

const COMPACT: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };

function parseHead(head: string): Omit<WireMessage, 'body'> {
  const lines = head.split('\r\n');
  const startLine = lines.shift() ?? '';
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const raw = line.slice(0, i).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    const list = headers.get(name) ?? [];
    list.push(line.slice(i + 1).trim());
    headers.set(name, list);
  }
  const m = /^SIP\/2\.0 (\d{3}) /.exec(startLine);
  return m ? { startLine, headers, status: Number(m[1]) } : { startLine, headers, method: startLine.split(' ')[0]! };
}

export class SipTlsClient {
  readonly socket: tls.TLSSocket;
  private buffer = Buffer.alloc(0);
  private readonly inbox: WireMessage[] = [];
  private waiters: Array<{ match: (m: WireMessage) => boolean; resolve: (m: WireMessage) => void }> = [];
  private closedError: Error | undefined;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.onData(d));
    const fail = (err?: Error): void => {
      this.closedError ??= err ?? new Error('connection closed');
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /** Connects and completes the TLS handshake (rejects if the server is refused or untrusted). */
  static connect(port: number, options: tls.ConnectionOptions): Promise<SipTlsClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        resolve(new SipTlsClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort!;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** The next message (already received or still to come) that `match` accepts. */
  next(match: (m: WireMessage) => boolean, timeoutMs = 5000): Promise<WireMessage> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching SIP message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (m: WireMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** The next response to the request with this CSeq number and method, with status in [min, max]. */
  response(cseq: number, method: string, min = 100, max = 699, timeoutMs = 5000): Promise<WireMessage> {
    return this.next(
      (m) => m.status !== undefined && m.status >= min && m.status <= max && header(m, 'cseq') === `${cseq} ${method}`,
      timeoutMs,
    );
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      // keep-alive CRLFs between messages (RFC 5626) are skipped
      while (this.buffer.length >= 2 && this.buffer[0] === 0x0d && this.buffer[1] === 0x0a) this.buffer = this.buffer.subarray(2);
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = parseHead(this.buffer.subarray(0, end).toString('utf8'));
      const length = Number(head.headers.get('content-length')?.[0] ?? '0');
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + length);
      this.deliver({ ...head, body });
    }
  }

  private deliver(m: WireMessage): void {
    const w = this.waiters.find((x) => x.match(m));
    if (w) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(m);
    } else {
      this.inbox.push(m);
    }
  }
}

export const branch = (): string => `z9hG4bK${randomBytes(6).toString('hex')}`;
export const token = (): string => randomBytes(6).toString('hex');

/** Builds a request with correct Content-Length; `headers` are written as given, in order. */
export function request(startLine: string, headers: Array<[string, string]>, body = '', contentType = 'application/sdp'): string {
  const lines = [startLine, ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (body) lines.push(`Content-Type: ${contentType}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A plain RTP/AVP audio offer (PCMU, PCMA) for media on 127.0.0.1:port. */
export function sdpOffer(port: number, version = 1): string {
  return [
    'v=0',
    `o=tls-test 4242 ${version} IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** Address and port of the first audio stream in an SDP body. */
export function sdpAudioTarget(sdp: string): { address: string; port: number } {
  const c = /^c=IN IP4 (\S+)/m.exec(sdp);
  const m = /^m=audio (\d+) /m.exec(sdp);
  if (!c || !m) throw new Error(`no audio target in SDP:\n${sdp}`);
  return { address: c[1]!, port: Number(m[1]) };
}

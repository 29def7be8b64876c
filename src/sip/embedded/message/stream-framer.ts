/**
 * Cuts whole SIP messages out of a TCP/TLS byte stream (RFC 3261 §18.3): the header block ends at
 * the first empty line, and Content-Length, mandatory on streams, says where the body ends.
 *
 * Between messages, CRLF keep-alives are skipped; a double CRLF is an RFC 5626 §4.4.1 "ping" that
 * the transport answers with a single CRLF "pong" (the `onPing` callback), a lone CRLF is a pong or
 * plain keep-alive and is ignored.
 *
 * Errors are SipParseError and are final for the connection: framing is lost, so the transport
 * sends the error response if it can and closes the connection (RFC 4475 §3.1.2.2/§3.1.2.3).
 *
 * Cost is linear in the bytes received, however the stream is chunked: received bytes go into one
 * growable buffer (capacity doubled when full, so each byte is copied O(1) times on average), the
 * header search resumes where it stopped, and consumed messages advance a start offset instead of
 * moving the rest. The framer keeps no reference to a chunk it was given (its bytes are copied).
 */

import { SipParseError } from './types.js';
import { longName } from './header-names.js';
import { parseDecimal } from './lex.js';

export interface StreamFramerOptions {
  /** Largest accepted start line + header block, in bytes (default 16 KiB). */
  maxHeaderBytes?: number;
  /** Largest accepted whole message, in bytes (default 64 KiB). */
  maxMessageBytes?: number;
  /** Called once per RFC 5626 double-CRLF ping; answer it by writing "\r\n". */
  onPing?: () => void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

const EMPTY = Buffer.alloc(0);

export class SipStreamFramer {
  /** Bytes received and not yet framed are store[start, end). */
  private store: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** Where to resume the search for the end of the header block. */
  private scanFrom = 0;
  /** Body length and header length of the message being received, once its headers are in. */
  private pending: { headLen: number; bodyLen: number } | undefined;
  private failed: SipParseError | undefined;
  private readonly maxHeaderBytes: number;
  private readonly maxMessageBytes: number;
  private readonly onPing: (() => void) | undefined;

  constructor(opts: StreamFramerOptions = {}) {
    this.maxHeaderBytes = opts.maxHeaderBytes ?? 16 * 1024;
    this.maxMessageBytes = opts.maxMessageBytes ?? 64 * 1024;
    if (!(this.maxHeaderBytes > 0) || !(this.maxMessageBytes > 0)) throw new TypeError('limits must be positive');
    this.onPing = opts.onPing;
  }

  /** Bytes held while waiting for the rest of a message (for idle-connection accounting). */
  get buffered(): number {
    return this.end - this.start;
  }

  /** The unframed bytes (a view, not a copy). */
  private get buf(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  private append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    const live = this.end - this.start;
    if (this.end + chunk.length > this.store.length) {
      const capacity = Math.max(4096, 2 * (live + chunk.length));
      const next = Buffer.allocUnsafe(capacity);
      this.store.copy(next, 0, this.start, this.end);
      this.store = next;
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.store, this.end);
    this.end += chunk.length;
  }

  /** Drops `n` framed (or skipped) bytes from the front. */
  private consume(n: number): void {
    this.start += n;
    if (this.start < this.end) return;
    // Empty: reuse a small store for the next message, let a big one (a 64 KB message) go.
    if (this.store.length > 16 * 1024) this.clear();
    else this.start = this.end = 0;
  }

  private clear(): void {
    this.store = EMPTY;
    this.start = 0;
    this.end = 0;
  }

  /**
   * Adds received bytes; returns every message completed by them (each a fresh Buffer holding
   * exactly one message), possibly none. Throws SipParseError when the stream cannot be framed.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failed !== undefined) throw this.failed;
    this.append(chunk);
    const out: Buffer[] = [];
    try {
      for (;;) {
        const msg = this.next();
        if (msg === undefined) break;
        out.push(msg);
      }
    } catch (err) {
      this.failed = err instanceof SipParseError ? err : new SipParseError(String(err), 400);
      this.clear();
      throw this.failed;
    }
    return out;
  }

  private next(): Buffer | undefined {
    if (this.pending === undefined) {
      if (!this.skipKeepAlives()) return undefined;
      const end = this.findHeaderEnd();
      if (end === undefined) {
        if (this.buffered > this.maxHeaderBytes) {
          throw new SipParseError(`header block larger than ${this.maxHeaderBytes} bytes`, 513);
        }
        return undefined;
      }
      if (end > this.maxHeaderBytes) throw new SipParseError(`header block larger than ${this.maxHeaderBytes} bytes`, 513);
      const bodyLen = contentLength(this.buf.toString('latin1', 0, end));
      if (end + bodyLen > this.maxMessageBytes) {
        throw new SipParseError(`message of ${end + bodyLen} bytes exceeds the limit of ${this.maxMessageBytes}`, 513);
      }
      this.pending = { headLen: end, bodyLen };
    }
    const total = this.pending.headLen + this.pending.bodyLen;
    if (this.buffered < total) return undefined;
    const msg = Buffer.from(this.store.subarray(this.start, this.start + total)); // a copy: the stream's buffer is not retained
    this.consume(total);
    this.pending = undefined;
    this.scanFrom = 0;
    return msg;
  }

  /** Drops leading CRLFs; returns false when nothing but (part of) a keep-alive is buffered. */
  private skipKeepAlives(): boolean {
    const b = this.buf;
    let i = 0;
    while (i < b.length) {
      const c = b[i];
      if (c !== 0x0d && c !== 0x0a) break;
      const left = b.length - i;
      if (left >= 4 && c === 0x0d && b[i + 1] === 0x0a && b[i + 2] === 0x0d && b[i + 3] === 0x0a) {
        this.onPing?.();
        i += 4;
        continue;
      }
      if (left < 4 && CRLFCRLF.subarray(0, left).equals(b.subarray(i))) break; // maybe a ping in halves
      i += c === 0x0d && b[i + 1] === 0x0a ? 2 : 1; // a pong or a stray line ending
    }
    if (i > 0) {
      this.consume(i);
      this.scanFrom = 0;
    }
    return this.buffered > 0 && this.store[this.start] !== 0x0d && this.store[this.start] !== 0x0a;
  }

  /** Length of the header block including the empty line, or undefined while incomplete. */
  private findHeaderEnd(): number | undefined {
    const from = Math.max(0, this.scanFrom - 3);
    const a = this.buf.indexOf(CRLFCRLF, from);
    const b = this.buf.indexOf(LFLF, from);
    this.scanFrom = this.buf.length;
    if (a < 0 && b < 0) return undefined;
    if (b < 0 || (a >= 0 && a < b)) return a + 4;
    return b + 2;
  }
}

/** Reads Content-Length from a header block; streams require it (RFC 3261 §18.3). */
function contentLength(head: string): number {
  let value: string | undefined;
  let pos = head.indexOf('\n') + 1; // skip the start line
  while (pos > 0 && pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    const colon = head.indexOf(':', pos);
    const c0 = head.charCodeAt(pos);
    if (colon > pos && colon < nl && c0 !== 0x20 && c0 !== 0x09 && longName(head.slice(pos, colon).trim()) === 'content-length') {
      let v = head.slice(colon + 1, nl).trim();
      // A folded value (legal, if absurd) continues on lines that start with SP or HTAB.
      while (nl + 1 < head.length && (head.charCodeAt(nl + 1) === 0x20 || head.charCodeAt(nl + 1) === 0x09)) {
        const next = head.indexOf('\n', nl + 1);
        const end = next < 0 ? head.length : next;
        v = (v + ' ' + head.slice(nl + 1, end).trim()).trim();
        nl = end;
      }
      if (value !== undefined && v !== value) throw new SipParseError('conflicting Content-Length header fields', 400);
      value = v;
    }
    pos = nl + 1;
  }
  if (value === undefined) throw new SipParseError('Content-Length is required on stream transports', 400);
  const n = parseDecimal(value, 0x7fff_ffff);
  if (n < 0) throw new SipParseError(`invalid Content-Length: ${JSON.stringify(value.slice(0, 20))}`, 400);
  return n;
}

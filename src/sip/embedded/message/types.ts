/**
 * SIP message model (RFC 3261 §7). Pure data: no sockets, no timers.
 *
 * Header names are stored in their canonical long form, lower-cased (`v` and `Via` are both
 * `via`), in arrival order, one entry per header *line*; a line holding several comma-separated
 * values stays one entry and `values()` splits it. The serializer writes canonical capitalised
 * names. Bodies are bytes; Content-Length is computed by the serializer.
 */

export interface SipHeader {
  /** Lower-cased long form, e.g. `via`, `call-id`, `content-type`. */
  readonly name: string;
  value: string;
}

export class SipHeaders {
  readonly list: SipHeader[] = [];

  /** First value of a header, or undefined. */
  get(name: string): string | undefined {
    const n = name.toLowerCase();
    return this.list.find((h) => h.name === n)?.value;
  }

  /** Every header line of that name, in order (values not split on commas). */
  getAll(name: string): string[] {
    const n = name.toLowerCase();
    return this.list.filter((h) => h.name === n).map((h) => h.value);
  }

  /**
   * Every value of a list header (Via, Contact, Route, Allow, Supported…): each line split on
   * commas that are outside quoted strings and `<…>`, trimmed, empty parts dropped. Headers whose
   * single value may contain commas (Date, Subject, User-Agent, Server, the authentication
   * headers…) are returned one value per line, unsplit.
   */
  values(name: string): string[] {
    const n = name.toLowerCase();
    const lines = this.getAll(n);
    if (UNSPLIT_HEADERS.has(n)) return lines;
    const out: string[] = [];
    for (const line of lines) splitListValue(line, out);
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  append(name: string, value: string): void {
    this.list.push({ name: name.toLowerCase(), value });
  }

  /** Adds a header line before every other line (used for a new top Via). */
  prepend(name: string, value: string): void {
    this.list.unshift({ name: name.toLowerCase(), value });
  }

  /** Replaces every line of that name with one line. */
  set(name: string, value: string): void {
    this.remove(name);
    this.append(name, value);
  }

  remove(name: string): void {
    const n = name.toLowerCase();
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.name === n) this.list.splice(i, 1);
  }

  clone(): SipHeaders {
    const c = new SipHeaders();
    for (const h of this.list) c.list.push({ name: h.name, value: h.value });
    return c;
  }
}

/** Headers whose value is one text or credential, never a comma-separated list. */
const UNSPLIT_HEADERS = new Set([
  'date', 'subject', 'organization', 'user-agent', 'server', 'call-id', 'cseq', 'timestamp',
  'retry-after', 'www-authenticate', 'proxy-authenticate', 'authorization', 'proxy-authorization',
  'authentication-info', 'identity', 'identity-info', 'content-length', 'max-forwards',
]);

/** Tolerant top-level comma split (an unterminated quote or < runs to the end of the line). */
function splitListValue(line: string, out: string[]): void {
  let start = 0;
  let quoted = false;
  let angle = false;
  const push = (end: number): void => {
    const part = line.slice(start, end).replace(/^[ \t]+|[ \t]+$/g, '');
    if (part.length > 0) out.push(part);
  };
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22 && !angle) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      push(i);
      start = i + 1;
    }
  }
  push(line.length);
}

export interface SipRequest {
  readonly kind: 'request';
  method: string;
  /** Request-URI as text; parse it with `parseUri` from ./uri.js when needed. */
  uri: string;
  readonly headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  readonly headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/**
 * Raised by the parser for malformed input. `status` is the response a server sends when the
 * message was a request it could identify (400, 501 for an unknown method with a mismatched
 * CSeq, 505 Version Not Supported, 513 Message Too Large per RFC 3261 §21.5.14 …); `undefined`
 * means drop silently (a malformed response, or garbage that is not a request at all).
 */
export class SipParseError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /**
     * Added by the message parser when the start line and header lines of a request could be
     * split: the request as far as it was read (headers unvalidated, body empty), so the UAS can
     * copy Via, From, To, Call-ID and CSeq into its 400/505/513 (RFC 3261 §8.2.6.2).
     */
    readonly request?: SipRequest,
  ) {
    super(message);
    this.name = 'SipParseError';
  }
}

/** Limits the parser enforces so one peer cannot exhaust memory. */
export interface ParseLimits {
  /** Bytes of start line + headers + body. */
  maxMessageBytes: number;
  maxHeaders: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxMessageBytes: 65_535, maxHeaders: 128 };

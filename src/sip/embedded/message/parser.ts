/**
 * SIP message parser (RFC 3261 §7, §18.3, §25).
 *
 * Input is one whole message: a UDP datagram, or what the stream framer cut out of a TCP/TLS
 * stream. The start line and headers are decoded as UTF-8 and split with indexOf; the body stays
 * bytes. The parser validates what a UAS relies on before any layer above looks at the message
 * (start line, Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact, the
 * Request-URI) so that a malformed request gets a 400 with a precise reason here, once.
 *
 * Nothing but SipParseError leaves this module. Its `status` is what a server answers
 * (400, 501, 505, 513); it is undefined for responses and for input that is not SIP at all,
 * which are dropped silently.
 */

import {
  DEFAULT_PARSE_LIMITS,
  SipHeaders,
  SipParseError,
  type ParseLimits,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './types.js';
import { longName } from './header-names.js';
import { isDigit, isToken, isWordChar, parseDecimal, trimWs } from './lex.js';
import { parseCSeq } from './cseq.js';
import { parseVia } from './via.js';
import { parseContact, parseNameAddr } from './name-addr.js';
import { parseUri } from './uri.js';

/** Methods this engine knows of; a CSeq mismatch on any other method is a 501 (RFC 4475 §3.1.2.18). */
const KNOWN_METHODS = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'INFO', 'PRACK', 'UPDATE', 'SUBSCRIBE',
  'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH',
]);

/** Header fields a request must carry (RFC 3261 §8.1.1); Max-Forwards is tolerated missing (RFC 2543 peers). */
const REQUIRED = [
  ['via', 'Via'],
  ['from', 'From'],
  ['to', 'To'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
] as const;

/** Fields that may appear only once (RFC 4475 §3.3.8 multi01, §3.3.9 mcl01). */
const SINGLE = [
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['from', 'From'],
  ['to', 'To'],
  ['max-forwards', 'Max-Forwards'],
  ['content-length', 'Content-Length'],
  ['content-type', 'Content-Type'],
] as const;

/** Content-Length values above this are nonsense whatever the limits say. */
const MAX_CONTENT_LENGTH = 0x7fff_ffff;

/**
 * Parses one SIP message. On a datagram the body is cut to Content-Length (extra octets are
 * noise, RFC 3261 §18.3); a body shorter than Content-Length is a 400; without Content-Length the
 * body is the rest of the datagram.
 */
export function parseMessage(buf: Buffer, limits: ParseLimits = DEFAULT_PARSE_LIMITS): SipMessage {
  if (!Buffer.isBuffer(buf)) throw new SipParseError('input is not a Buffer');
  let partial: SipRequest | undefined;
  try {
    return parseInner(buf, limits, (r) => (partial = r));
  } catch (err) {
    if (err instanceof SipParseError) {
      if (partial === undefined || err.request !== undefined) throw err;
      throw new SipParseError(err.message, err.status, partial);
    }
    // A bug in a sub-parser must not take the transport down; report it as a malformed message.
    throw new SipParseError(
      `internal parser error: ${(err as Error)?.message ?? String(err)}`,
      partial === undefined ? undefined : 400,
      partial,
    );
  }
}

function parseInner(buf: Buffer, limits: ParseLimits, onPartial: (r: SipRequest) => void): SipMessage {
  // RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives on a datagram).
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start === buf.length) throw new SipParseError('empty message');
  const isResponse =
    buf.length - start >= 4 &&
    (buf[start]! | 0x20) === 0x73 &&
    (buf[start + 1]! | 0x20) === 0x69 &&
    (buf[start + 2]! | 0x20) === 0x70 &&
    buf[start + 3] === 0x2f;

  if (buf.length > limits.maxMessageBytes) {
    throw new SipParseError(
      `message of ${buf.length} bytes exceeds the limit of ${limits.maxMessageBytes}`,
      isResponse ? undefined : 513,
    );
  }

  // Find the empty line that ends the headers (CRLF CRLF, bare LF tolerated).
  let headEnd = buf.length;
  let bodyStart = buf.length;
  let p = start;
  for (;;) {
    const nl = buf.indexOf(0x0a, p);
    if (nl < 0) break;
    const n1 = buf[nl + 1];
    if (n1 === 0x0a) {
      headEnd = nl + 1;
      bodyStart = nl + 2;
      break;
    }
    if (n1 === 0x0d && buf[nl + 2] === 0x0a) {
      headEnd = nl + 1;
      bodyStart = nl + 3;
      break;
    }
    p = nl + 1;
  }
  const head = buf.toString('utf8', start, headEnd);

  // Start line.
  let lineEnd = head.indexOf('\n');
  if (lineEnd < 0) lineEnd = head.length;
  const startLine = stripCr(head.slice(0, lineEnd));
  if (startLine.indexOf('\r') >= 0) throw new SipParseError('bare CR in the start line', isResponse ? undefined : 400);
  const headers = new SipHeaders();
  let msg: SipMessage;
  // A bad Request-Line is reported after the header lines are read, so the error carries the
  // Via/From/To/Call-ID/CSeq the UAS needs for its 400/505.
  let lineError: SipParseError | undefined;
  if (isResponse) {
    msg = parseStatusLine(startLine, headers);
  } else {
    const r = parseRequestLine(startLine, headers);
    msg = r.req;
    lineError = r.error;
    onPartial(msg);
  }
  const fail = (reason: string, status: number | undefined = 400): SipParseError =>
    new SipParseError(reason, msg.kind === 'request' ? status : undefined);

  // Header lines, with continuation lines (leading SP/HTAB) folded into the previous one.
  let pos = lineEnd + 1;
  let count = 0;
  const list = headers.list;
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    const line = stripCr(head.slice(pos, nl));
    pos = nl + 1;
    if (line.length === 0) continue; // only possible at the very end (no blank line on a datagram)
    if (line.indexOf('\r') >= 0) throw fail('bare CR in a header line');
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      const last = list[list.length - 1];
      if (last === undefined) throw fail('continuation line before any header field');
      const more = trimWs(line);
      if (more.length > 0) last.value = last.value.length > 0 ? last.value + ' ' + more : more;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) throw fail(`header line without a colon: ${JSON.stringify(line.slice(0, 40))}`);
    const rawName = trimWs(line.slice(0, colon));
    if (!isToken(rawName)) throw fail(`invalid header field name: ${JSON.stringify(rawName.slice(0, 40))}`);
    if (++count > limits.maxHeaders) throw fail(`more than ${limits.maxHeaders} header fields`);
    list.push({ name: longName(rawName), value: trimWs(line.slice(colon + 1)) });
  }

  if (lineError !== undefined) throw lineError;
  try {
    validate(msg, fail);
  } catch (err) {
    // Sub-parsers speak for requests; a malformed response is never answered, only dropped.
    if (msg.kind === 'response' && err instanceof SipParseError && err.status !== undefined) {
      throw new SipParseError(err.message);
    }
    throw err;
  }

  // Body framing.
  const cl = headers.get('content-length');
  const available = buf.length - bodyStart;
  if (cl !== undefined) {
    const n = parseDecimal(cl, MAX_CONTENT_LENGTH);
    if (n < 0) throw fail(`invalid Content-Length: ${JSON.stringify(cl.slice(0, 20))}`);
    if (n > available) throw fail(`body of ${available} bytes is shorter than Content-Length ${n}`);
    msg.body = buf.subarray(bodyStart, bodyStart + n);
  } else {
    msg.body = buf.subarray(bodyStart);
  }
  return msg;
}

function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 0x0d ? line.slice(0, -1) : line;
}

function parseVersion(v: string): 'ok' | 'other' | 'bad' {
  if (v.length === 7 && v.toUpperCase() === 'SIP/2.0') return 'ok';
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT
  if (v.length < 7 || v.slice(0, 4).toUpperCase() !== 'SIP/') return 'bad';
  const dot = v.indexOf('.', 4);
  if (dot < 5 || dot === v.length - 1) return 'bad';
  for (let i = 4; i < v.length; i++) if (i !== dot && !isDigit(v.charCodeAt(i))) return 'bad';
  return 'other';
}

function parseRequestLine(line: string, headers: SipHeaders): { req: SipRequest; error?: SipParseError } {
  // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single spaces
  // (RFC 4475 §3.1.2.8/9/10: LWS in the URI, extra or trailing spaces are rejected).
  const parts = line.split(' ');
  const trimmed = trimWs(line);
  const version = trimmed.slice(trimmed.lastIndexOf(' ') + 1);
  const v = parseVersion(version);
  if (v === 'bad') {
    // Not SIP at all (an HTTP probe, binary noise): nothing to answer.
    throw new SipParseError(`not a SIP request line: ${JSON.stringify(line.slice(0, 60))}`);
  }
  const method = parts[0] ?? '';
  const uri = parts.length === 3 ? parts[1]! : '';
  const req: SipRequest = { kind: 'request', method, uri, headers, body: Buffer.alloc(0) };
  let error: SipParseError | undefined;
  if (parts.length !== 3 || method.length === 0 || uri.length === 0) {
    error = new SipParseError(`malformed Request-Line: ${JSON.stringify(line.slice(0, 100))}`, 400);
  } else if (!isToken(method)) {
    error = new SipParseError(`invalid method: ${JSON.stringify(method.slice(0, 40))}`, 400);
  } else if (v === 'other') {
    error = new SipParseError(`SIP version ${version} is not supported`, 505);
  }
  return error === undefined ? { req } : { req, error };
}

function parseStatusLine(line: string, headers: SipHeaders): SipResponse {
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (a missing final SP is tolerated).
  const sp1 = line.indexOf(' ');
  const version = sp1 < 0 ? line : line.slice(0, sp1);
  if (parseVersion(version) !== 'ok') throw new SipParseError(`unsupported response version ${JSON.stringify(version.slice(0, 20))}`);
  let sp2 = line.indexOf(' ', sp1 + 1);
  if (sp2 < 0) sp2 = line.length;
  const code = line.slice(sp1 + 1, sp2);
  const status = code.length === 3 ? parseDecimal(code, 699) : -1;
  if (status < 100) throw new SipParseError(`invalid status code ${JSON.stringify(code.slice(0, 20))}`); // RFC 4475 §3.1.2.19
  return { kind: 'response', status, reason: line.slice(sp2 + 1), headers, body: Buffer.alloc(0) };
}

function validate(msg: SipMessage, fail: (reason: string, status?: number) => SipParseError): void {
  const h = msg.headers;
  for (const [name, label] of REQUIRED) {
    if (!h.has(name)) throw fail(`missing ${label} header field`);
  }
  for (const [name, label] of SINGLE) {
    if (h.getAll(name).length > 1) throw fail(`more than one ${label} header field`);
  }

  let vias = 0;
  for (const v of h.getAll('via')) vias += parseVia(v).length;
  if (vias === 0) throw fail('empty Via header field');

  parseNameAddr(h.get('from')!);
  parseNameAddr(h.get('to')!);
  for (const c of h.getAll('contact')) parseContact(c);

  const callId = h.get('call-id')!;
  if (!isCallId(callId)) throw fail(`invalid Call-ID: ${JSON.stringify(callId.slice(0, 60))}`);

  const cseq = parseCSeq(h.get('cseq')!);
  const mf = h.get('max-forwards');
  if (mf !== undefined && parseDecimal(mf, 255) < 0) {
    throw fail(`invalid Max-Forwards: ${JSON.stringify(mf.slice(0, 20))}`);
  }

  if (msg.kind === 'request') {
    if (cseq.method !== msg.method) {
      throw fail(
        `CSeq method ${cseq.method} does not match request method ${msg.method}`,
        KNOWN_METHODS.has(msg.method) ? 400 : 501,
      );
    }
    const ruri = parseUri(msg.uri);
    if (ruri.kind === 'sip' && ruri.headers.length > 0) {
      throw fail('headers are not allowed in a Request-URI'); // RFC 3261 §19.1.1, RFC 4475 §3.1.2.11
    }
  }
}

/** callid = word [ "@" word ] */
function isCallId(s: string): boolean {
  if (s.length === 0) return false;
  let at = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x40) {
      if (at || i === 0 || i === s.length - 1) return false;
      at = true;
    } else if (!isWordChar(c)) return false;
  }
  return true;
}

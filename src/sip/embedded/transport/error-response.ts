/**
 * Stateless error responses for requests the parser rejected (400, 413, 505 …, the status the
 * parser put in SipParseError) or that lack what the transaction layer needs.
 *
 * This is the ONE place such requests are answered: the transport layer answers them and never
 * passes them up, so the transaction layer and the UA core only ever see well-formed messages
 * with a usable Via, From, To, Call-ID and CSeq.
 *
 * The parser gives no partial message on failure, so the headers needed to answer (§8.2.6.2:
 * Via, From, To, Call-ID, CSeq) are scraped from the raw head. Anything that does not start like
 * a request, or lacks one of those headers, gets no answer — the sender cannot be told anyway.
 */
import { randomBytes } from 'node:crypto';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  483: 'Too Many Hops',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
  505: 'Version Not Supported',
  513: 'Message Too Large',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status >= 500 ? 'Server Error' : 'Bad Request');
}

const COMPACT: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id' };
const CANONICAL: Record<string, string> = { via: 'Via', from: 'From', to: 'To', 'call-id': 'Call-ID', cseq: 'CSeq' };
const NEEDED = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

export interface HeaderLine {
  name: string;
  value: string;
}

/** Kept for the request gate (scanner detection), never copied into the response. */
const FOR_GATE = new Set(['user-agent']);

/**
 * Scrapes the method and the header lines an error response (and the request gate) needs from
 * raw bytes; undefined if it is not a request.
 */
export function scrapeRequestHeaders(raw: Buffer): { method: string; lines: HeaderLine[] } | undefined {
  // Only the head matters and it is ASCII; latin1 decoding never throws.
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = Math.min(raw.length, 65_536);
  const text = raw.toString('latin1', 0, end);
  const lines = text.split(/\r?\n/);
  const start = lines[0] ?? '';
  // Request-Line = Method SP Request-URI SP SIP-Version; a response starts with "SIP/".
  if (!/^[A-Za-z]+ \S+ \S+$/.test(start.trim()) || start.startsWith('SIP/')) return undefined;
  const out: HeaderLine[] = [];
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i]!;
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) line += ' ' + lines[++i]!.trim();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const rawName = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[rawName] ?? rawName;
    if (!(name in CANONICAL) && !FOR_GATE.has(name)) continue;
    out.push({ name, value: line.slice(colon + 1).trim() });
  }
  return { method: start.trim().split(' ')[0]!.toUpperCase(), lines: out };
}

/**
 * Serialises a stateless error response from the request's header lines, or returns undefined
 * when a needed header is missing. A To tag is added when the request had none (§8.2.6.2).
 */
export function buildErrorResponse(headers: readonly HeaderLine[], status: number, reason = reasonPhrase(status)): Buffer | undefined {
  for (const n of NEEDED) if (!headers.some((h) => h.name === n)) return undefined;
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  for (const h of headers) {
    if (!(h.name in CANONICAL)) continue;
    let value = h.value;
    if (h.name === 'to' && !/;\s*tag\s*=/i.test(value)) value += ';tag=' + randomBytes(6).toString('hex');
    out += `${CANONICAL[h.name]}: ${value}\r\n`;
  }
  out += 'Content-Length: 0\r\n\r\n';
  return Buffer.from(out, 'latin1');
}

import { RawHeaders } from './raw-headers.js';

/**
 * What drachtio-server cannot carry back, checked before the engine answers a request.
 *
 * drachtio-server reads every message an application sends into a fixed ring buffer of 12,228
 * bytes (client.cpp, `m_buffer(12228)`), filled 8 KB per socket read. A message longer than the
 * buffer overwrites itself: from then on nothing the application sends goes out, while the TCP
 * link stays up. Two things make our answers grow:
 *  - drachtio-srf copies the request's Call-ID, From, To and CSeq into every response it builds;
 *  - drachtio-srf decodes the SIP bytes as UTF-8, so each byte that is not valid UTF-8 becomes
 *    U+FFFD, three bytes on the way back (a 4.9 KB Latin-1 Call-ID is enough).
 * A value decoded that way is also not the caller's value any more: a dialog keyed by it cannot
 * be found again by drachtio-server ("unable to find dialog" on our BYE).
 *
 * So a request whose header block holds U+FFFD, or whose copied headers would take more than
 * MAX_COPIED_HEADER_BYTES, is answered with a bare final response (see sendBareResponse in
 * srf-connection.ts: drachtio-server fills Via, From, To, Call-ID and CSeq in from its own copy
 * of the request) and never becomes a call. 2 KB keeps every answer we send (a 200 OK with SDP
 * is ~1.5 KB more) well below the ~4 KB at which a message split across two 8 KB reads can already
 * overrun the ring buffer when several messages are in flight.
 */

export type CarriageProblem = 'not-utf8' | 'too-large';

/** The headers drachtio-srf copies from a request into each of its responses. */
const COPIED = ['call-id', 'from', 'to', 'cseq'] as const;

export const MAX_COPIED_HEADER_BYTES = 2048;

/** What would go wrong echoing this request through drachtio-server, or null when nothing would. */
export function carriageProblem(raw: string, headers: RawHeaders = RawHeaders.parse(raw)): CarriageProblem | null {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  if (head.includes('\uFFFD')) return 'not-utf8';
  let bytes = 0;
  for (const name of COPIED) for (const v of headers.all(name)) bytes += Buffer.byteLength(v, 'utf8') + name.length + 4;
  return bytes > MAX_COPIED_HEADER_BYTES ? 'too-large' : null;
}

/** The bare answer for each problem: nothing of the request is echoed. */
export const CARRIAGE_ANSWER: Readonly<Record<CarriageProblem, { status: number; reason: string }>> = {
  'not-utf8': { status: 400, reason: 'Header Not UTF-8' },
  'too-large': { status: 513, reason: 'Message Too Large' },
};

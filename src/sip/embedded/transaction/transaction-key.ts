/**
 * Matching messages to transactions (RFC 3261 §17.1.3 and §17.2.3).
 *
 * Server side, RFC 3261 clients (top Via branch starts with the magic cookie `z9hG4bK`):
 * branch + sent-by + method, where ACK counts as INVITE (the ACK for a non-2xx response carries
 * the INVITE's branch). CANCEL is its own transaction; the INVITE it cancels is found with the
 * same branch and method INVITE.
 *
 * Server side, RFC 2543 clients (no cookie): Request-URI, From tag, Call-ID, CSeq number and the
 * top Via (sent-by and branch, if any), again with ACK counted as INVITE. The To-tag comparison
 * §17.2.3 asks for on ACK is left out: an ACK whose To tag differs from our final response can
 * only be the 2xx ACK, and for a 2xx the INVITE transaction is in Accepted (RFC 6026), where an
 * ACK goes to the TU anyway.
 *
 * Client side: branch + CSeq method (§17.1.3).
 */
import { parseCSeq, parseVia } from '../message/index.js';
import type { SipMessage, SipRequest } from '../message/types.js';
import { headerTag } from './make-response.js';

export const MAGIC_COOKIE = 'z9hG4bK';

export interface TopVia {
  host: string;
  port?: number;
  transport: string;
  branch: string | undefined;
}

/** The top Via of a message (first value of the first Via line); throws if there is none. */
export function topVia(message: SipMessage): TopVia {
  const value = message.headers.get('via');
  if (value === undefined) throw new TypeError('message has no Via');
  const v = parseVia(value)[0];
  if (v === undefined) throw new TypeError('message has an empty Via');
  const out: TopVia = { host: v.host.toLowerCase(), transport: v.transport, branch: v.branch };
  if (v.port !== undefined) out.port = v.port;
  return out;
}

/** Method as used in keys: ACK belongs to the INVITE transaction. */
function keyMethod(method: string): string {
  return method === 'ACK' ? 'INVITE' : method;
}

/**
 * The server transaction key of a request, computed as if its method were `asMethod` (used to
 * find the INVITE a CANCEL refers to).
 */
export function serverKey(request: SipRequest, via: TopVia, asMethod: string = request.method): string {
  const sentBy = `${via.host}:${via.port ?? ''}`;
  const method = keyMethod(asMethod);
  if (via.branch !== undefined && via.branch.startsWith(MAGIC_COOKIE)) {
    return `${via.branch}|${sentBy}|${method}`;
  }
  // RFC 2543 fallback (§17.2.3, second half).
  const h = request.headers;
  const callId = h.get('call-id') ?? '';
  const fromTag = headerTag(h.get('from') ?? '') ?? '';
  const cseq = parseCSeq(h.get('cseq') ?? '');
  return `2543|${callId}|${fromTag}|${cseq.seq}|${request.uri}|${sentBy}|${via.branch ?? ''}|${method}`;
}

/** The client transaction key of a response (or of the request we sent). */
export function clientKey(branch: string, cseqMethod: string): string {
  return `${branch}|${cseqMethod}`;
}

/**
 * Builds a response to a request the way §8.2.6.2 says a UAS must: same Via lines (in order),
 * From, Call-ID and CSeq copied, To copied with a tag added when given and absent. A 100 Trying
 * also copies Timestamp (§8.2.6.1). The UA core adds Contact, Allow, bodies and so on.
 */
import { SipHeaders, type SipRequest, type SipResponse } from '../message/types.js';

/** RFC 3261 §21 (and RFC 3265 where noted) reason phrases for every status we send. */
const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted', // RFC 3265
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  603: 'Decline',
};

export function defaultReason(status: number): string {
  return REASONS[status] ?? (status < 200 ? 'Session Progress' : status < 300 ? 'OK' : 'Error');
}

export interface MakeResponseOptions {
  reason?: string;
  /** Added to To when the request's To has no tag (required on every response but 100, §8.2.6.2). */
  toTag?: string;
}

export function makeResponse(request: SipRequest, status: number, options: MakeResponseOptions = {}): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) throw new TypeError(`bad SIP status ${status}`);
  const headers = new SipHeaders();
  for (const h of request.headers.list) {
    switch (h.name) {
      case 'via':
      case 'from':
      case 'call-id':
      case 'cseq':
        headers.list.push({ name: h.name, value: h.value });
        break;
      case 'to': {
        let value = h.value;
        if (options.toTag !== undefined && headerTag(value) === undefined) value += ';tag=' + options.toTag;
        headers.list.push({ name: 'to', value });
        break;
      }
      case 'timestamp':
        if (status === 100) headers.list.push({ name: 'timestamp', value: h.value });
        break;
      default:
        break;
    }
  }
  return { kind: 'response', status, reason: options.reason ?? defaultReason(status), headers, body: Buffer.alloc(0) };
}

/**
 * The `tag` parameter of a From/To value, or undefined. Cheap scan used on the hot path: header
 * parameters follow the closing `>` of a name-addr, or the URI itself in addr-spec form (where
 * §20.10 says URI parameters cannot appear, so any `;tag=` is the header's).
 */
export function headerTag(value: string): string | undefined {
  const gt = value.lastIndexOf('>');
  const params = gt >= 0 ? value.slice(gt + 1) : value;
  const m = /;\s*tag\s*=\s*([^;\s,]+)/i.exec(params);
  return m?.[1];
}

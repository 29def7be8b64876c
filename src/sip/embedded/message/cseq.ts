/**
 * CSeq (RFC 3261 §20.16): `1*DIGIT LWS Method`, the number below 2**31 for requests we send and
 * at most 2**32 - 1 for anything we accept (RFC 4475 §3.1.2.4 scalar02: larger is a 400).
 */

import { SipParseError } from './types.js';
import { isDigit, isToken, isWs, parseDecimal, trimWs } from './lex.js';

export interface CSeq {
  seq: number;
  method: string;
}

export const MAX_CSEQ = 0xffff_ffff;

/** Parses a CSeq value; throws SipParseError(400) on a bad number or method. */
export function parseCSeq(value: string): CSeq {
  const s = trimWs(value);
  let i = 0;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  const seq = parseDecimal(s.slice(0, i), MAX_CSEQ);
  if (seq < 0) throw new SipParseError(`invalid CSeq number: ${JSON.stringify(s.slice(0, 40))}`, 400);
  const wsStart = i;
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  if (i === wsStart) throw new SipParseError(`invalid CSeq: ${JSON.stringify(s.slice(0, 40))}`, 400);
  const method = s.slice(i);
  if (!isToken(method)) throw new SipParseError(`invalid CSeq method: ${JSON.stringify(method.slice(0, 40))}`, 400);
  return { seq, method };
}

export function formatCSeq(c: CSeq): string {
  return `${c.seq} ${c.method}`;
}

/**
 * Via header field values (RFC 3261 §20.42, §25.1; `rport` from RFC 3581).
 *
 *   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 *   sent-protocol = protocol-name SLASH protocol-version SLASH transport
 *
 * SLASH, COLON, SEMI and EQUAL all allow whitespace around them (RFC 4475 §3.1.1.1 wsinv).
 */

import { SipParseError } from './types.js';
import { isDigit, isHostChar, parseDecimal, scanToken, skipWs, splitTopLevel } from './lex.js';
import { formatParams, parseParams, type SipParams } from './params.js';

export interface Via {
  /** `SIP/2.0` (protocol name upper-cased). */
  protocol: string;
  /** Upper-cased transport: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS` or an extension token. */
  transport: string;
  /** sent-by host as written; IPv6 references keep their brackets. */
  host: string;
  port?: number;
  /** Every via-param, names lower-cased, including branch/received/rport/maddr/ttl. */
  params: SipParams;
  /** The branch parameter, if present (an empty `z9hG4bK` is returned as is, RFC 4475 §3.2.1). */
  branch?: string;
  /** The `received` parameter, if present. */
  received?: string;
  /** `rport`: `true` when present without a value (a request for it), the port when filled in. */
  rport?: number | true;
}

function bad(why: string, text: string): SipParseError {
  return new SipParseError(`invalid Via (${why}): ${JSON.stringify(text.slice(0, 80))}`, 400);
}

/** Parses one Via header line, which may hold several comma-separated values. */
export function parseVia(value: string): Via[] {
  const parts = splitTopLevel(value);
  const out: Via[] = [];
  for (const p of parts) out.push(parseOneVia(p));
  return out;
}

function expectSlash(s: string, i: number, text: string): number {
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 0x2f /* / */) throw bad('sent-protocol', text);
  return skipWs(s, i + 1);
}

function parseOneVia(s: string): Via {
  if (s.length === 0) throw bad('empty value', s);
  let i = 0;
  const nameEnd = scanToken(s, i);
  if (nameEnd === i) throw bad('protocol name', s);
  const name = s.slice(i, nameEnd).toUpperCase();
  i = expectSlash(s, nameEnd, s);
  const verEnd = scanToken(s, i);
  if (verEnd === i) throw bad('protocol version', s);
  const version = s.slice(i, verEnd);
  i = expectSlash(s, verEnd, s);
  const trEnd = scanToken(s, i);
  if (trEnd === i) throw bad('transport', s);
  const transport = s.slice(i, trEnd).toUpperCase();
  i = skipWs(s, trEnd);
  if (i === trEnd) throw bad('missing whitespace before sent-by', s);

  let host: string;
  if (s.charCodeAt(i) === 0x5b /* [ */) {
    const close = s.indexOf(']', i);
    if (close < 0) throw bad('IPv6 reference', s);
    host = s.slice(i, close + 1);
    i = close + 1;
  } else {
    const start = i;
    while (i < s.length && isHostChar(s.charCodeAt(i))) i++;
    if (i === start) throw bad('sent-by host', s);
    host = s.slice(start, i);
  }
  const via: Via = { protocol: `${name}/${version}`, transport, host, params: new Map() };
  let j = skipWs(s, i);
  if (s.charCodeAt(j) === 0x3a /* : */) {
    j = skipWs(s, j + 1);
    const start = j;
    while (j < s.length && isDigit(s.charCodeAt(j))) j++;
    const port = parseDecimal(s.slice(start, j), 65535);
    if (port < 0) throw bad('port', s);
    via.port = port;
    i = j;
  }
  const { end } = parseParams(s, i, via.params);
  if (end !== s.length) throw bad('unexpected character', s);

  const branch = via.params.get('branch');
  if (branch !== undefined) {
    if (branch === null) throw bad('branch without value', s);
    via.branch = branch;
  }
  const received = via.params.get('received');
  if (received !== undefined) {
    if (received === null) throw bad('received without value', s);
    via.received = received;
  }
  const rport = via.params.get('rport');
  if (rport !== undefined) {
    if (rport === null) via.rport = true;
    else {
      const n = parseDecimal(rport, 65535);
      if (n < 0) throw bad('rport', s);
      via.rport = n;
    }
  }
  return via;
}

/**
 * Writes one Via value. The typed fields win over `params`: `branch`, `received` and `rport`
 * are written from the fields (in that order) and every other parameter from `params`.
 */
export function formatVia(via: Via): string {
  let out = `${via.protocol}/${via.transport} ${via.host}`;
  if (via.port !== undefined) out += ':' + via.port;
  const params: SipParams = new Map();
  if (via.branch !== undefined) params.set('branch', via.branch);
  for (const [k, v] of via.params) if (k !== 'branch' && k !== 'received' && k !== 'rport') params.set(k, v);
  if (via.received !== undefined) params.set('received', via.received);
  if (via.rport !== undefined) params.set('rport', via.rport === true ? null : String(via.rport));
  return out + formatParams(params);
}

/** The RFC 3261 magic cookie that marks a branch as globally unique (§8.1.1.7). */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

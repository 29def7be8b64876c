/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), plus any other absolute URI kept
 * opaque (RFC 4475 §3.3.2/§3.3.3: a request for `soap.beep://…` is well formed; the UAS answers
 * 416, the parser must not fail).
 *
 * `user` and `password` are returned unescaped (`%75se%72` is `user`, `%00` stays a NUL and does
 * not shorten the name, RFC 4475 §3.1.1.4); parameter and header names/values are kept as
 * written, because RFC 3261 compares them escaped-insensitively only where a rule says so.
 */

import { SipParseError } from './types.js';
import type { SipParams } from './params.js';
import {
  escapePercent,
  isDigit,
  isEscape,
  isHnvChar,
  isHostChar,
  isParamChar,
  isPasswordChar,
  isUserChar,
  parseDecimal,
  unescapePercent,
} from './lex.js';

export interface SipUri {
  readonly kind: 'sip';
  scheme: 'sip' | 'sips';
  /** Unescaped user part, if any. */
  user?: string;
  /** Unescaped password, if any (deprecated by RFC 3261, still legal syntax). */
  password?: string;
  /** Host as written (lower-case it to compare); IPv6 references keep their brackets. */
  host: string;
  port?: number;
  /** uri-parameters; names lower-cased, values as written (`null` when valueless, e.g. `lr`). */
  params: SipParams;
  /** Embedded headers (`?Route=%3Csip:…%3E`), names and values as written. */
  headers: Array<[string, string]>;
}

export interface TelUri {
  readonly kind: 'tel';
  scheme: 'tel';
  /** The telephone-subscriber, e.g. `+1-201-555-0123` (visual separators kept). */
  number: string;
  params: SipParams;
}

/** Any other absolute URI (`mailto:`, `http://…`, `urn:…`): only its scheme is interpreted. */
export interface OtherUri {
  readonly kind: 'other';
  /** Lower-cased scheme. */
  scheme: string;
  /** Everything after the first colon. */
  opaque: string;
}

export type ParsedUri = SipUri | TelUri | OtherUri;

function bad(what: string, text: string): SipParseError {
  return new SipParseError(`invalid ${what} in URI ${JSON.stringify(text.slice(0, 80))}`, 400);
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Accepts runs of `ok` characters and % HEX HEX escapes; returns the index of the first other. */
function scanEscaped(s: string, i: number, ok: (c: number) => boolean): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (ok(c)) i++;
    else if (isEscape(s, i)) i += 3;
    else break;
  }
  return i;
}

/** Parses a URI; throws SipParseError (status 400) when it is not a valid absolute URI. */
export function parseUri(text: string): ParsedUri {
  const colon = text.indexOf(':');
  if (colon <= 0) throw bad('scheme', text);
  if (!isAlpha(text.charCodeAt(0))) throw bad('scheme', text);
  for (let i = 1; i < colon; i++) {
    const c = text.charCodeAt(i);
    if (!(isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e)) throw bad('scheme', text);
  }
  const scheme = text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  if (scheme === 'sip' || scheme === 'sips') return parseSipRest(scheme, rest, text);
  if (scheme === 'tel') return parseTelRest(rest, text);
  // absoluteURI: hier-part / opaque-part; only reject what can never be in one.
  if (rest.length === 0) throw bad('opaque part', text);
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x22 || c === 0x3c || c === 0x3e || c >= 0x80) throw bad('character', text);
  }
  return { kind: 'other', scheme, opaque: rest };
}

function parseSipRest(scheme: 'sip' | 'sips', rest: string, text: string): SipUri {
  const uri: SipUri = { kind: 'sip', scheme, host: '', params: new Map(), headers: [] };
  let i = 0;
  // '@' cannot occur unescaped in host, uri-parameters or headers, so if there is one it ends
  // the userinfo; the user part itself may hold ; ? / (RFC 4475 §3.1.1.2, §3.1.1.9).
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userEnd = scanEscaped(rest, 0, isUserChar);
    if (userEnd === 0) throw bad('user', text);
    uri.user = unescapePercent(rest.slice(0, userEnd));
    i = userEnd;
    if (rest.charCodeAt(i) === 0x3a /* : */) {
      const pwEnd = scanEscaped(rest, i + 1, isPasswordChar);
      uri.password = unescapePercent(rest.slice(i + 1, pwEnd));
      i = pwEnd;
    }
    if (i !== at) throw bad('userinfo', text);
    i = at + 1;
  }
  // host
  if (rest.charCodeAt(i) === 0x5b /* [ */) {
    const close = rest.indexOf(']', i);
    if (close < 0) throw bad('IPv6 reference', text);
    for (let j = i + 1; j < close; j++) {
      const c = rest.charCodeAt(j);
      const hex = isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
      if (!(hex || c === 0x3a || c === 0x2e)) throw bad('IPv6 reference', text);
    }
    if (close === i + 1) throw bad('IPv6 reference', text);
    uri.host = rest.slice(i, close + 1);
    i = close + 1;
  } else {
    const start = i;
    while (i < rest.length && isHostChar(rest.charCodeAt(i))) i++;
    if (i === start) throw bad('host', text);
    uri.host = rest.slice(start, i);
  }
  if (rest.charCodeAt(i) === 0x3a /* : */) {
    const start = i + 1;
    i = start;
    while (i < rest.length && isDigit(rest.charCodeAt(i))) i++;
    const port = parseDecimal(rest.slice(start, i), 65535);
    if (port < 0) throw bad('port', text);
    uri.port = port;
  }
  i = parseUriParams(rest, i, uri.params, text);
  if (rest.charCodeAt(i) === 0x3f /* ? */) {
    i++;
    for (;;) {
      const nEnd = scanEscaped(rest, i, isHnvChar);
      if (nEnd === i || rest.charCodeAt(nEnd) !== 0x3d) throw bad('header', text);
      const vEnd = scanEscaped(rest, nEnd + 1, isHnvChar);
      uri.headers.push([rest.slice(i, nEnd), rest.slice(nEnd + 1, vEnd)]);
      i = vEnd;
      if (rest.charCodeAt(i) !== 0x26 /* & */) break;
      i++;
    }
  }
  if (i !== rest.length) throw bad('character', text);
  return uri;
}

/** `*( ";" pname [ "=" pvalue ] )` without whitespace; returns the index after the last one. */
function parseUriParams(s: string, i: number, params: SipParams, text: string): number {
  while (s.charCodeAt(i) === 0x3b /* ; */) {
    const nEnd = scanEscaped(s, i + 1, isParamChar);
    if (nEnd === i + 1) throw bad('parameter', text);
    const name = s.slice(i + 1, nEnd).toLowerCase();
    i = nEnd;
    let value: string | null = null;
    if (s.charCodeAt(i) === 0x3d /* = */) {
      const vEnd = scanEscaped(s, i + 1, isParamChar);
      if (vEnd === i + 1) throw bad('parameter value', text);
      value = s.slice(i + 1, vEnd);
      i = vEnd;
    }
    params.set(name, value);
  }
  return i;
}

function isPhoneChar(c: number): boolean {
  return (
    isDigit(c) ||
    (c >= 0x41 && c <= 0x46) ||
    (c >= 0x61 && c <= 0x66) ||
    c === 0x2a || // *
    c === 0x23 || // #
    c === 0x2b || // +
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x28 ||
    c === 0x29 ||
    c === 0x70 || // p (pause)
    c === 0x77 // w (wait)
  );
}

function parseTelRest(rest: string, text: string): TelUri {
  let i = 0;
  while (i < rest.length && isPhoneChar(rest.charCodeAt(i))) i++;
  if (i === 0) throw bad('telephone-subscriber', text);
  const uri: TelUri = { kind: 'tel', scheme: 'tel', number: rest.slice(0, i), params: new Map() };
  i = parseUriParams(rest, i, uri.params, text);
  if (i !== rest.length) throw bad('character', text);
  return uri;
}

/** Writes a URI back; user and password are escaped where needed. */
export function formatUri(uri: ParsedUri): string {
  if (uri.kind === 'other') return `${uri.scheme}:${uri.opaque}`;
  let out: string;
  if (uri.kind === 'tel') out = `tel:${uri.number}`;
  else {
    out = uri.scheme + ':';
    if (uri.user !== undefined) {
      out += escapePercent(uri.user, isUserChar);
      if (uri.password !== undefined) out += ':' + escapePercent(uri.password, isPasswordChar);
      out += '@';
    }
    out += uri.host;
    if (uri.port !== undefined) out += ':' + uri.port;
  }
  for (const [name, value] of uri.params) out += ';' + name + (value === null ? '' : '=' + value);
  if (uri.kind === 'sip' && uri.headers.length > 0) {
    out += '?' + uri.headers.map(([n, v]) => `${n}=${v}`).join('&');
  }
  return out;
}

/**
 * `name-addr / addr-spec` followed by header parameters: From, To, Contact, Route, Record-Route,
 * Reply-To, Refer-To, Referred-By, P-Asserted-Identity (RFC 3261 §20.10, §25.1).
 *
 *   From: "Alice \"A\"" <sip:alice@example.com>;tag=1928301774
 *   To: sip:bob@example.com;tag=a6c85cf          ← addr-spec: ;tag is a header parameter
 *   Contact: caller<sip:caller@example.com>      ← no LWS before "<" is accepted (RFC 4475 §3.1.1.6)
 *
 * In the addr-spec form the URI ends at the first `;`, and a URI holding `,` `;` or `?` must be in
 * angle brackets, so a bare URI with a `?` is rejected (RFC 4475 §3.1.2.13 regbadct).
 */

import { SipParseError } from './types.js';
import { isTokenChar, isWs, quote, scanQuoted, skipWs, splitTopLevel, trimWs, unquote } from './lex.js';
import { formatParams, paramValue, parseParams, type SipParams } from './params.js';
import { parseUri, type ParsedUri } from './uri.js';

export interface NameAddr {
  /** Display name with quotes and quoted-pairs resolved; undefined when there is none. */
  displayName?: string;
  /** The URI exactly as written (without angle brackets). */
  uri: string;
  /** The parsed URI (kind `sip`, `tel` or `other`). */
  parsedUri: ParsedUri;
  /** Header parameters (tag, q, expires, lr is a URI param…), names lower-cased. */
  params: SipParams;
}

function bad(why: string, text: string): SipParseError {
  return new SipParseError(`invalid address (${why}): ${JSON.stringify(text.slice(0, 80))}`, 400);
}

/** Parses a single address value (From, To, one element of a Contact list). */
export function parseNameAddr(value: string): NameAddr {
  const s = value;
  let i = skipWs(s, 0);
  let displayName: string | undefined;
  let angle = false;
  if (s.charCodeAt(i) === 0x22 /* " */) {
    const q = scanQuoted(s, i);
    displayName = unquote(s.slice(i, q));
    i = skipWs(s, q);
    if (s.charCodeAt(i) !== 0x3c) throw bad('quoted display name not followed by <', s);
    angle = true;
  } else {
    // *(token LWS) then "<": look ahead over tokens and whitespace only.
    let j = i;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (isTokenChar(c) || isWs(c)) j++;
      else break;
    }
    if (s.charCodeAt(j) === 0x3c /* < */) {
      const dn = trimWs(s.slice(i, j));
      if (dn.length > 0) displayName = dn;
      i = j;
      angle = true;
    }
  }

  let uri: string;
  if (angle) {
    const close = s.indexOf('>', i);
    if (close < 0) throw bad('missing >', s);
    uri = s.slice(i + 1, close);
    if (uri.length === 0 || isWs(uri.charCodeAt(0)) || isWs(uri.charCodeAt(uri.length - 1))) {
      throw bad('whitespace inside <>', s); // RFC 4475 §3.1.2.14 badaspec
    }
    i = close + 1;
  } else {
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x3b /* ; */ || isWs(c)) break;
      if (c === 0x3f /* ? */ || c === 0x2c /* , */) throw bad('URI with ? or , must be in <>', s);
      i++;
    }
    uri = s.slice(start, i);
    if (uri.length === 0) throw bad('empty', s);
  }
  const parsedUri = parseUri(uri);
  const { params, end } = parseParams(s, i);
  if (end !== s.length) throw bad('unexpected character', s);
  if (params.get('tag') === null) throw bad('tag without a value', s); // tag-param = "tag" EQUAL token
  const na: NameAddr = { uri, parsedUri, params };
  if (displayName !== undefined) na.displayName = displayName;
  return na;
}

/** Parses a comma-separated list (Contact, Route, Record-Route); commas in quotes or <> are kept. */
export function parseNameAddrList(value: string): NameAddr[] {
  return splitTopLevel(value).map((p) => {
    if (p.length === 0) throw bad('empty list element', value);
    return parseNameAddr(p);
  });
}

/** Contact may also be `*` (REGISTER, RFC 3261 §10.2.2). */
export function parseContact(value: string): NameAddr[] | '*' {
  return trimWs(value) === '*' ? '*' : parseNameAddrList(value);
}

/** The `tag` parameter of a From/To value, if any. */
export function tagOf(na: NameAddr): string | undefined {
  return paramValue(na.params, 'tag');
}

/** Writes an address back, always in name-addr form (angle brackets), which is always legal. */
export function formatNameAddr(na: Pick<NameAddr, 'uri' | 'params'> & { displayName?: string }): string {
  let out = '';
  if (na.displayName !== undefined && na.displayName.length > 0) out += quote(na.displayName) + ' ';
  out += '<' + na.uri + '>';
  return out + formatParams(na.params);
}

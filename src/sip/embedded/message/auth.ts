/**
 * Digest authentication headers (RFC 3261 §22.4, §25.1; RFC 2617; RFC 8760 algorithms).
 *
 *   Authorization: Digest username="alice", realm="kalem", nonce="…", uri="sip:…",
 *                  response="…", algorithm=MD5, cnonce="…", qop=auth, nc=00000001
 *
 * Parsing only: computing and checking the response belongs to the trunk-auth code. Values are
 * returned unquoted; parameter names are lower-cased. Authorization values are secrets in traces:
 * never log what these functions return.
 */

import { SipParseError } from './types.js';
import { quote, scanQuoted, scanToken, skipWs, unquote } from './lex.js';

export interface AuthHeader {
  /** Scheme as written, e.g. `Digest` (compare case-insensitively). */
  scheme: string;
  /** auth-params, names lower-cased, values unquoted. */
  params: Map<string, string>;
}

export interface DigestCredentials {
  scheme: 'Digest';
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  nc?: string;
  /** Every parameter, including the ones above. */
  params: Map<string, string>;
}

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** `MD5` (the default), `SHA-256`… */
  algorithm?: string;
  /** qop-options offered, e.g. `['auth']`. */
  qop?: string[];
  /** true when the nonce was stale and the client should retry with the new one. */
  stale?: boolean;
  domain?: string;
}

function bad(why: string): SipParseError {
  return new SipParseError(`invalid authorization header: ${why}`, 400);
}

/** Parses `scheme LWS auth-param *(COMMA auth-param)` (credentials or a challenge). */
export function parseAuthHeader(value: string): AuthHeader {
  const s = value;
  let i = skipWs(s, 0);
  const schemeEnd = scanToken(s, i);
  if (schemeEnd === i) throw bad('missing scheme');
  const scheme = s.slice(i, schemeEnd);
  const params = new Map<string, string>();
  i = skipWs(s, schemeEnd);
  if (i === schemeEnd && i < s.length) throw bad('missing whitespace after scheme');
  while (i < s.length) {
    const nEnd = scanToken(s, i);
    if (nEnd === i) throw bad('missing parameter name');
    const name = s.slice(i, nEnd).toLowerCase();
    i = skipWs(s, nEnd);
    if (s.charCodeAt(i) !== 0x3d /* = */) throw bad(`parameter ${name} has no value`);
    i = skipWs(s, i + 1);
    let v: string;
    if (s.charCodeAt(i) === 0x22) {
      const q = scanQuoted(s, i);
      v = unquote(s.slice(i, q));
      i = q;
    } else {
      const vEnd = scanToken(s, i);
      if (vEnd === i) throw bad(`parameter ${name} has an empty value`);
      v = s.slice(i, vEnd);
      i = vEnd;
    }
    if (params.has(name)) throw bad(`parameter ${name} repeated`);
    params.set(name, v);
    i = skipWs(s, i);
    if (i >= s.length) break;
    if (s.charCodeAt(i) !== 0x2c /* , */) throw bad('expected a comma between parameters');
    i = skipWs(s, i + 1);
    if (i >= s.length) throw bad('trailing comma');
  }
  return { scheme, params };
}

/**
 * Parses Digest credentials from an Authorization or Proxy-Authorization value. Throws
 * SipParseError(400) when the scheme is not Digest or a mandatory parameter is missing.
 */
export function parseDigestCredentials(value: string): DigestCredentials {
  const h = parseAuthHeader(value);
  if (h.scheme.toLowerCase() !== 'digest') throw bad(`unsupported scheme ${h.scheme}`);
  const need = (n: string): string => {
    const v = h.params.get(n);
    if (v === undefined) throw bad(`missing ${n}`);
    return v;
  };
  const c: DigestCredentials = {
    scheme: 'Digest',
    username: need('username'),
    realm: need('realm'),
    nonce: need('nonce'),
    uri: need('uri'),
    response: need('response'),
    params: h.params,
  };
  for (const k of ['algorithm', 'cnonce', 'opaque', 'qop', 'nc'] as const) {
    const v = h.params.get(k);
    if (v !== undefined) c[k] = v;
  }
  if (c.qop !== undefined && (c.cnonce === undefined || c.nc === undefined)) throw bad('qop without cnonce/nc');
  return c;
}

/** Parses a WWW-Authenticate / Proxy-Authenticate Digest challenge. */
export function parseDigestChallenge(value: string): DigestChallenge {
  const h = parseAuthHeader(value);
  if (h.scheme.toLowerCase() !== 'digest') throw bad(`unsupported scheme ${h.scheme}`);
  const realm = h.params.get('realm');
  const nonce = h.params.get('nonce');
  if (realm === undefined || nonce === undefined) throw bad('challenge without realm or nonce');
  const ch: DigestChallenge = { realm, nonce };
  const opaque = h.params.get('opaque');
  if (opaque !== undefined) ch.opaque = opaque;
  const algorithm = h.params.get('algorithm');
  if (algorithm !== undefined) ch.algorithm = algorithm;
  const qop = h.params.get('qop');
  if (qop !== undefined) ch.qop = qop.split(',').map((q) => q.trim()).filter((q) => q.length > 0);
  const stale = h.params.get('stale');
  if (stale !== undefined) ch.stale = stale.toLowerCase() === 'true';
  const domain = h.params.get('domain');
  if (domain !== undefined) ch.domain = domain;
  return ch;
}

/** Writes a WWW-Authenticate / Proxy-Authenticate value for a Digest challenge. */
export function formatDigestChallenge(ch: DigestChallenge): string {
  if (/[\r\n]/.test(ch.realm) || /[\r\n]/.test(ch.nonce)) throw new TypeError('challenge values must not hold CR or LF');
  const parts = [`realm=${quote(ch.realm)}`];
  if (ch.domain !== undefined) parts.push(`domain=${quote(ch.domain)}`);
  parts.push(`nonce=${quote(ch.nonce)}`);
  if (ch.opaque !== undefined) parts.push(`opaque=${quote(ch.opaque)}`);
  if (ch.stale !== undefined) parts.push(`stale=${ch.stale ? 'TRUE' : 'FALSE'}`);
  if (ch.algorithm !== undefined) parts.push(`algorithm=${ch.algorithm}`);
  if (ch.qop !== undefined && ch.qop.length > 0) parts.push(`qop=${quote(ch.qop.join(','))}`);
  return 'Digest ' + parts.join(', ');
}

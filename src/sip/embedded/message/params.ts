/**
 * Header parameters: `*( SEMI generic-param )` (RFC 3261 §25.1, `generic-param`).
 *
 * Used by Via, From/To/Contact/Route, Content-Type and friends. Names are case-insensitive and
 * stored lower-cased; a parameter without a value (`;lr`, `;rport`) maps to `null`. Values are
 * kept as written: a quoted-string keeps its quotes so it is written back the same way; use
 * `paramValue()` for the unquoted text.
 */

import { SipParseError } from './types.js';
import { isTokenChar, quote, scanQuoted, scanToken, skipWs, unquote } from './lex.js';

export type SipParams = Map<string, string | null>;

export interface ParamsResult {
  params: SipParams;
  /** Index in the input just past the last parameter (trailing whitespace skipped). */
  end: number;
}

/**
 * Parses parameters starting at `i` (which should point at `;` or whitespace before it) and stops
 * at the first character that cannot continue the list (for example `,` or `>`), returning its
 * index. Empty names (`;;`) and `name=` without a value are syntax errors (RFC 4475 §3.1.2.1).
 */
export function parseParams(s: string, i: number, params: SipParams = new Map()): ParamsResult {
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length || s.charCodeAt(i) !== 0x3b /* ; */) return { params, end: i };
    i = skipWs(s, i + 1);
    const nameEnd = scanToken(s, i);
    if (nameEnd === i) throw new SipParseError('empty header parameter', 400);
    const name = s.slice(i, nameEnd).toLowerCase();
    i = skipWs(s, nameEnd);
    let value: string | null = null;
    if (i < s.length && s.charCodeAt(i) === 0x3d /* = */) {
      i = skipWs(s, i + 1);
      const c = s.charCodeAt(i);
      let vEnd: number;
      if (c === 0x22) vEnd = scanQuoted(s, i);
      else if (c === 0x5b /* [ IPv6 reference */) {
        vEnd = s.indexOf(']', i) + 1;
        if (vEnd === 0) throw new SipParseError('unterminated IPv6 reference in parameter', 400);
      } else {
        // token, or a bare IPv6 address (via-received = "received" EQUAL (IPv4address / IPv6address))
        vEnd = i;
        while (vEnd < s.length && isValueChar(s.charCodeAt(vEnd))) vEnd++;
      }
      if (vEnd === i) throw new SipParseError(`parameter ${name} has an empty value`, 400);
      value = s.slice(i, vEnd);
      i = vEnd;
    }
    params.set(name, value);
  }
}

/** Parses a string that must consist of parameters only (e.g. `;tag=1;lr`); throws otherwise. */
export function parseParamString(s: string): SipParams {
  const { params, end } = parseParams(s, 0);
  if (end !== s.length) throw new SipParseError(`unexpected character in parameters: ${s.slice(end, end + 10)}`, 400);
  return params;
}

/** The value of a parameter with quotes resolved; `undefined` if absent, `''` if valueless. */
export function paramValue(params: SipParams, name: string): string | undefined {
  const v = params.get(name.toLowerCase());
  if (v === undefined) return undefined;
  if (v === null) return '';
  return unquote(v);
}

/** Writes parameters back as `;name=value;flag`, quoting a value that is not a token or host. */
export function formatParams(params: SipParams): string {
  let out = '';
  for (const [name, value] of params) {
    out += ';' + name;
    if (value === null) continue;
    out += '=' + (isBareValue(value) || isQuotedOrHost(value) ? value : quote(value));
  }
  return out;
}

function isValueChar(c: number): boolean {
  return isTokenChar(c) || c === 0x3a; /* : */
}

function isBareValue(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) if (!isValueChar(v.charCodeAt(i))) return false;
  return true;
}

function isQuotedOrHost(v: string): boolean {
  const c = v.charCodeAt(0);
  if (c === 0x22 && v.length >= 2 && v.charCodeAt(v.length - 1) === 0x22) return true;
  if (c === 0x5b && v.charCodeAt(v.length - 1) === 0x5d) return true;
  return false;
}

/**
 * Character classes and small scanners shared by the header value parsers (RFC 3261 §25.1).
 *
 * Everything works on JS strings by index with charCodeAt and lookup tables: the parsers run for
 * every message a carrier sends, so no regex is applied per character. Header values reach these
 * functions already unfolded (the message parser replaces CRLF + whitespace with one SP), so LWS
 * here is just SP / HTAB.
 */

import { SipParseError } from './types.js';

function table(chars: string, ranges: Array<[number, number]> = []): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) t[c] = 1;
  return t;
}

const ALNUM: Array<[number, number]> = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
const TOKEN = table("-.!%*_+`'~", ALNUM);
/** word adds ( ) < > : \ " / [ ] ? { } to token (Call-ID). */
const WORD = table("-.!%*_+`'~()<>:\\\"/[]?{}", ALNUM);
/** unreserved = alphanum / mark */
const UNRESERVED = table("-_.!~*'()", ALNUM);
/** user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? / */
const USER = table("-_.!~*'()&=+$,;?/", ALNUM);
/** password = *( unreserved / escaped / & = + $ , ) */
const PASSWORD = table("-_.!~*'()&=+$,", ALNUM);
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = [ ] / : & + $ */
const PARAMCHAR = table("-_.!~*'()[]/:&+$", ALNUM);
/** hname / hvalue chars: hnv-unreserved = [ ] / ? : + $ */
const HNVCHAR = table("-_.!~*'()[]/?:+$", ALNUM);
/**
 * hostname characters: alphanum, "-", "." and, leniently, "_" (not in RFC 1123 host names, but
 * some SBCs put it in Via sent-by and Contact hosts, and it cannot be confused with a delimiter).
 */
const HOSTCHAR = table('-._', ALNUM);

export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}
export function isWordChar(c: number): boolean {
  return c < 128 && WORD[c] === 1;
}
export function isUnreserved(c: number): boolean {
  return c < 128 && UNRESERVED[c] === 1;
}
export function isUserChar(c: number): boolean {
  return c < 128 && USER[c] === 1;
}
export function isPasswordChar(c: number): boolean {
  return c < 128 && PASSWORD[c] === 1;
}
export function isParamChar(c: number): boolean {
  return c < 128 && PARAMCHAR[c] === 1;
}
export function isHnvChar(c: number): boolean {
  return c < 128 && HNVCHAR[c] === 1;
}
export function isHostChar(c: number): boolean {
  return c < 128 && HOSTCHAR[c] === 1;
}
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** True when the whole string is a non-empty token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Strips SP and HTAB only. String.prototype.trim() would also eat U+FEFF and other Unicode
 * spaces, which are data in SIP (RFC 4475 §3.1.1.2 has a header value starting with a BOM).
 */
export function trimWs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Index of the first non-SP/HTAB character at or after `i`. */
export function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past the token starting at `i` (== i when there is none). */
export function scanToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/**
 * `i` points at an opening DQUOTE; returns the index just past the closing one.
 * Throws when the string ends first (RFC 4475 §3.1.2.6 quotbal).
 */
export function scanQuoted(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) {
      j += 2; // quoted-pair: the next character is literal, whatever it is
      continue;
    }
    if (c === 0x22) return j + 1;
    j++;
  }
  throw new SipParseError('unterminated quoted string', 400);
}

/** The content of a quoted-string with quoted-pairs resolved; input includes the quotes. */
export function unquote(q: string): string {
  if (q.length < 2 || q.charCodeAt(0) !== 0x22 || q.charCodeAt(q.length - 1) !== 0x22) return q;
  const inner = q.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === '\\' && i + 1 < inner.length) {
      out += inner[i + 1]!;
      i++;
    } else out += ch;
  }
  return out;
}

/** Wraps a string in DQUOTEs, escaping `"` and `\` (RFC 3261 quoted-pair). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"' || ch === '\\') out += '\\';
    out += ch;
  }
  return out + '"';
}

/**
 * Splits a header value on top-level commas: commas inside quoted strings or inside `<…>` do not
 * split (name-addr lists such as Contact, Route). Parts are trimmed; empty parts are kept so the
 * caller can reject `a,,b`.
 */
export function splitTopLevel(s: string, sep = 0x2c): string[] {
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 && !angle) {
      i = scanQuoted(s, i) - 1;
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === sep && !angle) {
      out.push(trimWs(s.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimWs(s.slice(start)));
  return out;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** True when `s[i]` is `%` followed by two hex digits. */
export function isEscape(s: string, i: number): boolean {
  return (
    s.charCodeAt(i) === 0x25 && hexVal(s.charCodeAt(i + 1)) >= 0 && hexVal(s.charCodeAt(i + 2)) >= 0
  );
}

/**
 * Resolves `% HEX HEX` escapes (RFC 3261 §19.1.2, once, never recursively: `%25%34%31` is `%41`).
 * The escaped octets are read as UTF-8, which is what SIP URIs carry. A `%` that is not followed
 * by two hex digits is left as it is.
 */
export function unescapePercent(s: string): string {
  if (s.indexOf('%') < 0) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (isEscape(s, i)) {
      bytes.push(hexVal(s.charCodeAt(i + 1)) * 16 + hexVal(s.charCodeAt(i + 2)));
      i += 2;
    } else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Escapes every character of `s` that `allowed` does not accept, as % HEX HEX of its UTF-8. */
export function escapePercent(s: string, allowed: (c: number) => boolean): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && allowed(c)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

/** Parses a non-negative decimal of at most `max`; returns -1 when `s` is not 1*DIGIT or too big. */
export function parseDecimal(s: string, max: number): number {
  if (s.length === 0) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - 0x30);
    if (n > max) return -1; // stops before precision loss on absurdly long digit strings
  }
  return n;
}

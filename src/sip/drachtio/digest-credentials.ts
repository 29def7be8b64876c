import type { DigestResponse } from '../sip-engine.js';

/**
 * Parses Digest credentials (RFC 3261 §22.4, RFC 2617 §3.2.2) from an Authorization or
 * Proxy-Authorization value into the port's DigestResponse. Checking the response is the trunk
 * authenticator's job, not the engine's. The values are secrets in traces: never log them.
 *
 * Returns null for another scheme or when a required parameter (username, realm, nonce, uri,
 * response) is missing, so the controller challenges again instead of seeing half a credential.
 */
export function parseDigestCredentials(
  header: DigestResponse['header'],
  value: string,
): DigestResponse | null {
  const m = /^\s*([!-~]+)\s+([\s\S]*)$/.exec(value);
  if (!m || (m[1] ?? '').toLowerCase() !== 'digest') return null;
  const params = parseAuthParams(m[2] ?? '');
  if (params === null) return null;
  const username = params.get('username');
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  const uri = params.get('uri');
  const response = params.get('response');
  if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
    return null;
  }
  return {
    header,
    username,
    realm,
    nonce,
    uri,
    response,
    algorithm: params.get('algorithm') ?? null,
    qop: params.get('qop') ?? null,
    nc: params.get('nc') ?? null,
    cnonce: params.get('cnonce') ?? null,
    opaque: params.get('opaque') ?? null,
  };
}

/** `name=value` pairs separated by commas; values are tokens or quoted strings. Null if malformed. */
function parseAuthParams(s: string): Map<string, string> | null {
  const out = new Map<string, string>();
  let i = 0;
  const n = s.length;
  const ws = (): void => {
    while (i < n && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
  };
  for (;;) {
    ws();
    if (i >= n) break;
    const nameStart = i;
    while (i < n && /[A-Za-z0-9\-_.!%*+`'~]/.test(s[i] ?? '')) i++;
    if (i === nameStart) return null;
    const name = s.slice(nameStart, i).toLowerCase();
    ws();
    if (s[i] !== '=') return null;
    i++;
    ws();
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = s[i];
        if (c === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) return null;
    } else {
      const vStart = i;
      while (i < n && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
      value = s.slice(vStart, i);
      if (value === '') return null;
    }
    // The first occurrence wins, so a duplicated parameter cannot override a checked one.
    if (!out.has(name)) out.set(name, value);
    ws();
    if (i >= n) break;
    if (s[i] !== ',') return null;
    i++;
  }
  return out;
}

/**
 * Just enough of RFC 3261 §25.1 name-addr / addr-spec and SIP/TEL URIs to fill IncomingCallInfo:
 * the URI inside a From/To value, its display name, and the user part (the dialled number).
 * Tolerant by design: drachtio-server (sofia-sip) has already rejected malformed requests, so
 * these helpers only take apart what a valid message carries and never throw.
 */

export interface NameAddr {
  readonly displayName: string | null;
  readonly uri: string;
}

/** `"Alice" <sip:a@b>;tag=1` → { displayName: 'Alice', uri: 'sip:a@b' }; bare addr-spec too. */
export function parseNameAddr(value: string): NameAddr {
  const v = value.trim();
  const lt = findUnquoted(v, '<');
  if (lt !== -1) {
    const gt = v.indexOf('>', lt + 1);
    const uri = v.slice(lt + 1, gt === -1 ? undefined : gt).trim();
    return { displayName: displayNameOf(v.slice(0, lt)), uri };
  }
  // addr-spec form: header parameters (;tag=…) belong to the header, not the URI (§20.10).
  const semi = v.indexOf(';');
  return { displayName: null, uri: (semi === -1 ? v : v.slice(0, semi)).trim() };
}

function findUnquoted(s: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === '\\') {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === ch) return i;
  }
  return -1;
}

function displayNameOf(raw: string): string | null {
  const t = raw.trim();
  if (t === '') return null;
  if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) {
    return t.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return t;
}

/**
 * User part of a sip:/sips: URI (`sip:+4930123@host;user=phone` → `+4930123`), or the number of
 * a tel: URI (`tel:+4930123;phone-context=…` → `+4930123`). Percent-escapes are decoded. Null
 * when the URI has no user part.
 */
export function uriUser(uri: string): string | null {
  const m = /^(sips?|tel):(.*)$/i.exec(uri.trim());
  if (!m) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  const rest = m[2] ?? '';
  let user: string;
  if (scheme === 'tel') {
    user = rest.split(/[;?]/)[0] ?? '';
  } else {
    const at = rest.lastIndexOf('@');
    if (at === -1) return null;
    // userinfo = user [":" password]; user may carry ;params of its own (RFC 4694 style).
    user = (rest.slice(0, at).split(':')[0] ?? '').split(';')[0] ?? '';
  }
  if (user === '') return null;
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}

import { RawHeaders } from './raw-headers.js';

/**
 * The admission answers the embedded engine's user-agent core gives before a request reaches the
 * call controller, for the requests drachtio-server passes on to the application instead of
 * answering itself (it checks neither): `Max-Forwards: 0` → 483 Too Many Hops (RFC 3261
 * §16.3 item 2 for a UAS that would forward; OPTIONS excepted, §11), and any `Require` → 420 Bad
 * Extension with `Unsupported` listing it (§8.2.2.3: the gateway supports no extension a caller
 * may require of it).
 */
const MAX_UNSUPPORTED_CHARS = 256;

export interface AdmissionRefusal {
  readonly status: 483 | 420;
  readonly headers: Readonly<Record<string, string>>;
}

export function admissionRefusal(method: string, headers: RawHeaders): AdmissionRefusal | null {
  const mf = headers.first('max-forwards');
  if (mf !== undefined && mf.trim() !== '' && Number(mf.trim()) === 0 && method !== 'OPTIONS') return { status: 483, headers: {} };
  const require = headers
    .all('require')
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (require.length > 0 && method !== 'ACK' && method !== 'CANCEL') {
    // Echoed back, so bounded: whatever drachtio-server has to carry must stay small (request-screen.ts).
    let unsupported = '';
    for (const tag of require) {
      const next = unsupported === '' ? tag : `${unsupported}, ${tag}`;
      if (next.length > MAX_UNSUPPORTED_CHARS) break;
      unsupported = next;
    }
    return { status: 420, headers: unsupported === '' ? {} : { Unsupported: unsupported } };
  }
  return null;
}

/**
 * Header field names: compact forms (RFC 3261 §7.3.3 and the extensions that registered one) and
 * the canonical capitalisation the serializer writes. Names are case-insensitive on the wire
 * (§7.3.1); inside the engine they are the lower-cased long form.
 */

/** Compact form → long lower-case name (IANA "Header Fields" registry, compact column). */
export const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: 'accept-contact', // RFC 3841
  b: 'referred-by', // RFC 3892
  c: 'content-type',
  d: 'request-disposition', // RFC 3841
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact', // RFC 3841
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  o: 'event', // RFC 6665
  r: 'refer-to', // RFC 3515
  s: 'subject',
  t: 'to',
  u: 'allow-events', // RFC 6665
  v: 'via',
  x: 'session-expires', // RFC 4028
  y: 'identity', // RFC 8224
};

const CANONICAL: Record<string, string> = {};
for (const n of [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow',
  'Allow-Events', 'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact',
  'Content-Disposition', 'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type',
  'CSeq', 'Date', 'Diversion', 'Error-Info', 'Event', 'Expires', 'From', 'History-Info', 'Identity',
  'Identity-Info', 'In-Reply-To', 'Max-Forwards', 'MIME-Version', 'Min-Expires', 'Min-SE',
  'Organization', 'P-Asserted-Identity', 'P-Charging-Vector', 'P-Preferred-Identity', 'Path',
  'Priority', 'Privacy', 'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require', 'RAck',
  'Reason', 'Record-Route', 'Refer-Sub', 'Refer-To', 'Referred-By', 'Reject-Contact',
  'Remote-Party-ID', 'Replaces', 'Reply-To', 'Request-Disposition', 'Require', 'Retry-After',
  'Route', 'RSeq', 'Security-Client', 'Security-Server', 'Security-Verify', 'Server',
  'Service-Route', 'Session-Expires', 'SIP-ETag', 'SIP-If-Match', 'Subject', 'Subscription-State',
  'Supported', 'Target-Dialog', 'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via', 'Warning',
  'WWW-Authenticate',
]) {
  CANONICAL[n.toLowerCase()] = n;
}

/** Lower-cased long form of a header name as it arrived (`V`, `via`, `VIA` → `via`). */
export function longName(name: string): string {
  const n = name.toLowerCase();
  if (n.length === 1) return COMPACT_FORMS[n] ?? n;
  return n;
}

/** How the serializer writes a name: the registered capitalisation, else Each-Word-Capitalised. */
export function canonicalName(lower: string): string {
  const known = CANONICAL[lower];
  if (known !== undefined) return known;
  let out = '';
  let up = true;
  for (let i = 0; i < lower.length; i++) {
    const ch = lower[i]!;
    out += up ? ch.toUpperCase() : ch;
    up = ch === '-';
  }
  return out;
}

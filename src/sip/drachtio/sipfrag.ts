/**
 * The status line of a message/sipfrag body (RFC 3420) as carried by the NOTIFYs that report a
 * REFER's progress (RFC 3515 §2.4.5): `SIP/2.0 200 OK`. Null when the body is not a status line.
 */
export function parseSipfragStatus(body: string): { status: number; reason: string } | null {
  const m = /^\s*SIP\/2\.0\s+(\d{3})(?:[ \t]+([^\r\n]*))?/i.exec(body);
  if (!m) return null;
  return { status: Number(m[1]), reason: (m[2] ?? '').trim() };
}

/**
 * RFC 4566 SDP serializer: CRLF line ends, lines in the order §5 prescribes.
 *
 * Session: v o s i u e* p* c b* (t r*)+ z k a*, then each media section: m i c b* k a*.
 * Within a media section the attributes this module interprets come first, in a fixed order
 * (rtpmap and fmtp per format in m= order, ptime, maxptime, crypto), then the other attributes
 * in the order they were parsed, then the direction. Parsing what this writes and writing it
 * again gives the same text.
 *
 * Every value is checked for CR, LF and NUL: a description built from remote input can never
 * smuggle an extra line into what we send.
 */

import type { SdpConnection, SdpMedia, SessionDescription } from './types.js';

function clean(value: string, what: string): string {
  if (/[\r\n\0]/.test(value)) throw new TypeError(`SDP ${what} must not contain CR, LF or NUL`);
  return value;
}

function connection(c: SdpConnection): string {
  const addr = c.suffix === null ? c.address : `${c.address}/${c.suffix}`;
  return `c=${clean(c.netType, 'c= nettype')} ${clean(c.addrType, 'c= addrtype')} ${clean(addr, 'c= address')}`;
}

function attr(name: string, value: string | null): string {
  clean(name, 'attribute name');
  return value === null ? `a=${name}` : `a=${name}:${clean(value, `a=${name} value`)}`;
}

function mediaLines(m: SdpMedia, out: string[]): void {
  if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535) throw new TypeError(`SDP m=${m.type} port ${m.port} is out of range`);
  if (m.formats.length === 0) throw new TypeError(`SDP m=${m.type} needs at least one format`);
  const port = m.portCount === null ? String(m.port) : `${m.port}/${m.portCount}`;
  out.push(`m=${clean(m.type, 'media type')} ${port} ${clean(m.proto, 'proto')} ${clean(m.formats.join(' '), 'formats')}`);
  if (m.information !== null) out.push(`i=${clean(m.information, 'i=')}`);
  if (m.connection !== null) out.push(connection(m.connection));
  for (const b of m.bandwidths) out.push(`b=${clean(b, 'b=')}`);
  if (m.key !== null) out.push(`k=${clean(m.key, 'k=')}`);

  const rtpmapDone = new Set<number>();
  const fmtpDone = new Set<string>();
  const rtpmapLine = (pt: number): void => {
    const r = m.rtpmaps.find((x) => x.payloadType === pt);
    if (r === undefined || rtpmapDone.has(pt)) return;
    rtpmapDone.add(pt);
    const enc = `${r.encoding}/${r.clockRate}${r.channels === null ? '' : `/${r.channels}`}`;
    out.push(attr('rtpmap', `${r.payloadType} ${enc}`));
  };
  const fmtpLine = (format: string): void => {
    const f = m.fmtps.find((x) => x.format === format);
    if (f === undefined || fmtpDone.has(format)) return;
    fmtpDone.add(format);
    out.push(attr('fmtp', f.params.length === 0 ? f.format : `${f.format} ${f.params}`));
  };
  for (const fmt of m.formats) {
    if (/^\d+$/.test(fmt)) rtpmapLine(Number(fmt));
    fmtpLine(fmt);
  }
  // Mappings for formats not on the m= line: unusual, kept so nothing is lost.
  for (const r of m.rtpmaps) rtpmapLine(r.payloadType);
  for (const f of m.fmtps) fmtpLine(f.format);
  if (m.ptime !== null) out.push(attr('ptime', String(m.ptime)));
  if (m.maxptime !== null) out.push(attr('maxptime', String(m.maxptime)));
  for (const c of m.crypto) out.push(attr('crypto', c));
  for (const a of m.attributes) out.push(attr(a.name, a.value));
  if (m.direction !== null) out.push(`a=${m.direction}`);
}

/** Writes a session description as SDP text (CRLF after every line, including the last). */
export function serializeSdp(sd: SessionDescription): string {
  const out: string[] = [];
  const o = sd.origin;
  out.push(`v=${sd.version}`);
  out.push(
    `o=${[o.username, o.sessionId, o.sessionVersion, o.netType, o.addrType, o.address].map((f) => clean(f, 'o= field')).join(' ')}`,
  );
  // RFC 4566 §5.3: s= must not be empty; "-" is the conventional placeholder.
  out.push(`s=${sd.sessionName.length === 0 ? '-' : clean(sd.sessionName, 's=')}`);
  if (sd.information !== null) out.push(`i=${clean(sd.information, 'i=')}`);
  if (sd.uri !== null) out.push(`u=${clean(sd.uri, 'u=')}`);
  for (const e of sd.emails) out.push(`e=${clean(e, 'e=')}`);
  for (const p of sd.phones) out.push(`p=${clean(p, 'p=')}`);
  if (sd.connection !== null) out.push(connection(sd.connection));
  for (const b of sd.bandwidths) out.push(`b=${clean(b, 'b=')}`);
  const timing = sd.timing.length === 0 ? [{ start: '0', stop: '0', repeats: [] }] : sd.timing;
  for (const t of timing) {
    out.push(`t=${clean(t.start, 't=')} ${clean(t.stop, 't=')}`);
    for (const r of t.repeats) out.push(`r=${clean(r, 'r=')}`);
  }
  if (sd.timeZones !== null) out.push(`z=${clean(sd.timeZones, 'z=')}`);
  if (sd.key !== null) out.push(`k=${clean(sd.key, 'k=')}`);
  for (const a of sd.attributes) out.push(attr(a.name, a.value));
  if (sd.direction !== null) out.push(`a=${sd.direction}`);
  for (const m of sd.media) mediaLines(m, out);
  return out.join('\r\n') + '\r\n';
}

/**
 * RFC 4566 SDP parser.
 *
 * Strict where a mistake would change what we negotiate (m=, c=, o=, rtpmap, fmtp, ptime,
 * direction; type letters SDP does not define, RFC 4566 §5: "a parser MUST completely ignore any
 * session description that contains a type letter that it does not understand"), lenient where
 * carriers are known to be sloppy and nothing depends on it (bare LF line ends, blank lines,
 * an empty s=, session lines slightly out of the RFC's order).
 *
 * Every failure is an SdpError naming the 1-based line and what is wrong with it.
 */

import {
  SdpError,
  type SdpAttribute,
  type SdpConnection,
  type SdpDirection,
  type SdpMedia,
  type SdpOrigin,
  type SdpRtpMap,
  type SessionDescription,
} from './types.js';

const DIRECTIONS: ReadonlySet<string> = new Set<SdpDirection>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** RTP profiles: their formats are payload types 0–127 (RFC 4566 §5.14, RFC 3551). */
export function isRtpProto(proto: string): boolean {
  return /(^|\/)RTP\//i.test(proto);
}

const SESSION_ONLY = new Set(['v', 'o', 's', 'u', 'e', 'p', 't', 'r', 'z']);
const KNOWN = new Set(['v', 'o', 's', 'i', 'u', 'e', 'p', 'c', 'b', 't', 'r', 'z', 'k', 'a', 'm']);

/** How much of a bad line an error message quotes (enough to find it, not a dump). */
const QUOTE_MAX = 60;

function quoteLine(text: string): string {
  const shown = text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text;
  return JSON.stringify(shown);
}

class LineError {
  constructor(
    readonly lineNo: number,
    readonly text: string,
  ) {}

  fail(why: string): never {
    throw new SdpError(`SDP line ${this.lineNo} ${quoteLine(this.text)}: ${why}`, this.lineNo);
  }
}

function splitFields(value: string): string[] {
  return value.split(' ').filter((f) => f.length > 0);
}

function parseOrigin(value: string, at: LineError): SdpOrigin {
  const f = splitFields(value);
  if (f.length !== 6) at.fail('o= needs 6 fields: username sess-id sess-version nettype addrtype address');
  const [username, sessionId, sessionVersion, netType, addrType, address] = f as [string, string, string, string, string, string];
  if (!/^\d+$/.test(sessionId)) at.fail('sess-id is not a number');
  if (!/^\d+$/.test(sessionVersion)) at.fail('sess-version is not a number');
  return { username, sessionId, sessionVersion, netType, addrType, address };
}

function parseConnection(value: string, at: LineError): SdpConnection {
  const f = splitFields(value);
  if (f.length !== 3) at.fail('c= needs 3 fields: nettype addrtype connection-address');
  const [netType, addrType, raw] = f as [string, string, string];
  const slash = raw.indexOf('/');
  const address = slash === -1 ? raw : raw.slice(0, slash);
  if (address.length === 0) at.fail('empty connection address');
  if (netType === 'IN' && addrType === 'IP4' && !/^[0-9A-Za-z.-]+$/.test(address)) at.fail('not an IPv4 address or host name');
  if (netType === 'IN' && addrType === 'IP6' && !/^[0-9A-Fa-f:.]+$/.test(address)) at.fail('not an IPv6 address');
  return { netType, addrType, address, suffix: slash === -1 ? null : raw.slice(slash + 1) };
}

function parsePort(text: string, at: LineError): number {
  if (!/^\d{1,5}$/.test(text)) at.fail('port is not a number');
  const n = Number(text);
  if (n > 65535) at.fail('port out of range');
  return n;
}

function parseMediaLine(value: string, at: LineError): SdpMedia {
  const f = splitFields(value);
  if (f.length < 4) at.fail('m= needs media, port, proto and at least one format');
  const [type, portField, proto] = f as [string, string, string];
  const slash = portField.indexOf('/');
  const port = parsePort(slash === -1 ? portField : portField.slice(0, slash), at);
  let portCount: number | null = null;
  if (slash !== -1) {
    const c = portField.slice(slash + 1);
    if (!/^\d{1,5}$/.test(c) || Number(c) < 1) at.fail('bad number of ports');
    portCount = Number(c);
  }
  const formats = f.slice(3);
  if (isRtpProto(proto)) {
    for (const fmt of formats) {
      if (!/^\d{1,3}$/.test(fmt) || Number(fmt) > 127) at.fail(`format ${JSON.stringify(fmt)} is not an RTP payload type (0-127)`);
    }
  }
  return emptyMedia(type, port, proto, formats, portCount);
}

/** An m= section with nothing but its m= line (attributes are filled in by the caller). */
export function emptyMedia(type: string, port: number, proto: string, formats: string[], portCount: number | null = null): SdpMedia {
  return {
    type,
    port,
    portCount,
    proto,
    formats,
    information: null,
    connection: null,
    bandwidths: [],
    key: null,
    rtpmaps: [],
    fmtps: [],
    ptime: null,
    maxptime: null,
    direction: null,
    crypto: [],
    attributes: [],
  };
}

function parsePayloadType(text: string, at: LineError): number {
  if (!/^\d{1,3}$/.test(text) || Number(text) > 127) at.fail('payload type is not a number 0-127');
  return Number(text);
}

function parseRtpMap(value: string, at: LineError): SdpRtpMap {
  const m = /^(\S+) +(.+)$/.exec(value);
  if (m === null) at.fail('rtpmap needs "<payload type> <encoding>/<clock rate>"');
  const payloadType = parsePayloadType(m[1]!, at);
  const parts = m[2]!.trim().split('/');
  if (parts.length < 2 || parts.length > 3) at.fail('rtpmap encoding must be <name>/<clock rate>[/<channels>]');
  const [encoding, rate, channels] = parts as [string, string, string | undefined];
  if (!/^[A-Za-z0-9._+-]+$/.test(encoding)) at.fail('bad encoding name');
  if (!/^\d{1,9}$/.test(rate) || Number(rate) === 0) at.fail('clock rate is not a positive number');
  let ch: number | null = null;
  if (channels !== undefined) {
    if (!/^\d{1,3}$/.test(channels) || Number(channels) === 0) at.fail('channel count is not a positive number');
    ch = Number(channels);
  }
  return { payloadType, encoding, clockRate: Number(rate), channels: ch };
}

function parseMs(value: string, at: LineError, what: string): number {
  // RFC 4566 says integer milliseconds; some phones write "20.0". Accept a plain decimal.
  if (!/^\d{1,6}(\.\d{1,3})?$/.test(value.trim()) || Number(value) <= 0) at.fail(`${what} is not a positive number of milliseconds`);
  return Number(value);
}

function setDirection(current: SdpDirection | null, next: SdpDirection, at: LineError): SdpDirection {
  if (current !== null && current !== next) at.fail(`conflicting direction attributes (${current} and ${next})`);
  return next;
}

/** Applies one a= line to a media section, or to the session when `m` is null. */
function applyAttribute(
  value: string,
  at: LineError,
  m: SdpMedia | null,
  session: { direction: SdpDirection | null; attributes: SdpAttribute[] },
): void {
  const colon = value.indexOf(':');
  const name = colon === -1 ? value : value.slice(0, colon);
  const attrValue = colon === -1 ? null : value.slice(colon + 1);
  if (name.length === 0 || !/^[A-Za-z0-9!#$%&'*+.^_`{|}~-]+$/.test(name)) at.fail('attribute name is not a token');
  if (DIRECTIONS.has(name) && attrValue === null) {
    if (m === null) session.direction = setDirection(session.direction, name as SdpDirection, at);
    else m.direction = setDirection(m.direction, name as SdpDirection, at);
    return;
  }
  if (m === null) {
    session.attributes.push({ name, value: attrValue });
    return;
  }
  switch (name) {
    case 'rtpmap': {
      const r = parseRtpMap(attrValue ?? '', at);
      const prev = m.rtpmaps.find((x) => x.payloadType === r.payloadType);
      if (prev !== undefined) {
        const same = prev.encoding === r.encoding && prev.clockRate === r.clockRate && prev.channels === r.channels;
        if (!same) at.fail(`payload type ${r.payloadType} is mapped twice`);
        return; // an identical repeat adds nothing
      }
      m.rtpmaps.push(r);
      return;
    }
    case 'fmtp': {
      const fm = /^(\S+)(?: +(.*))?$/.exec(attrValue ?? '');
      if (fm === null) at.fail('fmtp needs "<format> <parameters>"');
      const format = fm[1]!;
      if (isRtpProto(m.proto)) parsePayloadType(format, at);
      const params = (fm[2] ?? '').trim();
      const prev = m.fmtps.find((x) => x.format === format);
      if (prev !== undefined) {
        if (prev.params !== params) at.fail(`format ${format} has two different fmtp lines`);
        return;
      }
      m.fmtps.push({ format, params });
      return;
    }
    case 'ptime':
      if (m.ptime !== null) at.fail('ptime given twice');
      m.ptime = parseMs(attrValue ?? '', at, 'ptime');
      return;
    case 'maxptime':
      if (m.maxptime !== null) at.fail('maxptime given twice');
      m.maxptime = parseMs(attrValue ?? '', at, 'maxptime');
      return;
    case 'crypto':
      if (attrValue === null || attrValue.trim().length === 0) at.fail('crypto attribute without a value');
      m.crypto.push(attrValue);
      return;
    default:
      m.attributes.push({ name, value: attrValue });
  }
}

/** Parses an SDP body. Throws SdpError on anything malformed. */
export function parseSdp(text: string): SessionDescription {
  if (typeof text !== 'string') throw new TypeError('parseSdp expects a string');
  if (text.includes('\0')) throw new SdpError('SDP contains a NUL byte');
  const lines = text.split('\n');
  let version: number | null = null;
  let origin: SdpOrigin | null = null;
  let sessionName: string | null = null;
  const sd: Omit<SessionDescription, 'version' | 'origin' | 'sessionName'> = {
    information: null,
    uri: null,
    emails: [],
    phones: [],
    connection: null,
    bandwidths: [],
    timing: [],
    timeZones: null,
    key: null,
    direction: null,
    attributes: [],
    media: [],
  };
  let current: SdpMedia | null = null;
  let sawAny = false;

  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.length === 0) continue; // trailing CRLF, or a blank line some stacks emit
    const at: LineError = new LineError(i + 1, raw);
    if (raw.length < 2 || raw[1] !== '=') at.fail('expected "<type>=<value>"');
    if (raw.includes('\r')) at.fail('a bare CR inside a line');
    const type = raw[0]!;
    const value = raw.slice(2);
    if (!KNOWN.has(type)) at.fail(`unknown line type "${type}="`);
    if (!sawAny && type !== 'v') at.fail('an SDP body must start with v=');
    sawAny = true;
    if (current !== null && SESSION_ONLY.has(type)) at.fail(`"${type}=" is not allowed inside a media section`);

    switch (type) {
      case 'v':
        if (version !== null) at.fail('v= given twice');
        if (value !== '0') at.fail('only SDP version 0 is defined');
        version = 0;
        break;
      case 'o':
        if (origin !== null) at.fail('o= given twice');
        origin = parseOrigin(value, at);
        break;
      case 's':
        if (sessionName !== null) at.fail('s= given twice');
        sessionName = value;
        break;
      case 'i':
        if (current !== null) {
          if (current.information !== null) at.fail('i= given twice in one media section');
          current.information = value;
        } else {
          if (sd.information !== null) at.fail('i= given twice');
          sd.information = value;
        }
        break;
      case 'u':
        if (sd.uri !== null) at.fail('u= given twice');
        sd.uri = value;
        break;
      case 'e':
        sd.emails.push(value);
        break;
      case 'p':
        sd.phones.push(value);
        break;
      case 'c': {
        const c = parseConnection(value, at);
        if (current !== null) {
          // Several c= lines per section exist only for layered multicast, which a gateway
          // never receives; refusing them keeps "the remote address" unambiguous.
          if (current.connection !== null) at.fail('more than one c= line in a media section');
          current.connection = c;
        } else {
          if (sd.connection !== null) at.fail('c= given twice');
          sd.connection = c;
        }
        break;
      }
      case 'b':
        if (!/^[A-Za-z0-9-]+:\d+$/.test(value)) at.fail('b= must be <bwtype>:<bandwidth>');
        (current ?? sd).bandwidths.push(value);
        break;
      case 't': {
        const f = splitFields(value);
        if (f.length !== 2 || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[1]!)) at.fail('t= needs two numbers: start stop');
        sd.timing.push({ start: f[0]!, stop: f[1]!, repeats: [] });
        break;
      }
      case 'r': {
        const last = sd.timing[sd.timing.length - 1];
        if (last === undefined) at.fail('r= without a preceding t=');
        last.repeats.push(value);
        break;
      }
      case 'z':
        if (sd.timeZones !== null) at.fail('z= given twice');
        sd.timeZones = value;
        break;
      case 'k':
        if (current !== null) {
          if (current.key !== null) at.fail('k= given twice in one media section');
          current.key = value;
        } else {
          if (sd.key !== null) at.fail('k= given twice');
          sd.key = value;
        }
        break;
      case 'a':
        applyAttribute(value, at, current, sd);
        break;
      case 'm':
        current = parseMediaLine(value, at);
        sd.media.push(current);
        break;
    }
  }

  if (version === null) throw new SdpError('SDP body is empty (no v= line)');
  if (origin === null) throw new SdpError('SDP has no o= line');
  if (sessionName === null) throw new SdpError('SDP has no s= line');
  if (sd.timing.length === 0) throw new SdpError('SDP has no t= line');
  for (let i = 0; i < sd.media.length; i++) {
    const m = sd.media[i]!;
    // rtpmap and fmtp in m= format order (the order that means something, and the order the
    // serializer writes), so parse → serialize → parse gives back the same structure.
    const rank = (format: string): number => {
      const k = m.formats.indexOf(format);
      return k === -1 ? m.formats.length : k;
    };
    m.rtpmaps.sort((a, b) => rank(String(a.payloadType)) - rank(String(b.payloadType)));
    m.fmtps.sort((a, b) => rank(a.format) - rank(b.format));
    // RFC 4566 §5.7: c= at session level or in every media section. A rejected stream (port 0)
    // carries no media, so a missing c= there is harmless and some stacks omit it.
    if (m.port !== 0 && m.connection === null && sd.connection === null) {
      throw new SdpError(`SDP media section ${i + 1} (m=${m.type}) has no c= line and there is no session-level c=`);
    }
  }
  return { version, origin, sessionName, ...sd };
}

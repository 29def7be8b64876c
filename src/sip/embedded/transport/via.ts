/**
 * The two Via jobs of the transport layer:
 *
 * - On a received request, stamp the top Via (RFC 3261 §18.2.1, RFC 3581 §4): add `received`
 *   with the source IP when it differs from the sent-by host, and — when the client asked with a
 *   valueless `rport` — fill `rport` with the source port and add `received` unconditionally.
 * - On a response we send, pick the destination from the top Via (RFC 3261 §18.2.2, RFC 3581
 *   §4): reliable → the connection the request came in on (handled by the caller), else the
 *   `received` address (if present) and `rport` port (if filled), else the sent-by.
 *
 * Stamping edits the header text directly instead of parsing and re-serialising the Via: it runs
 * for every request and the rest of the Via must reach the response byte for byte.
 */
import type { SipHeaders } from '../message/types.js';
import type { SendTarget, TransportProtocol } from './types.js';

/** Default ports by transport (RFC 3261 §19.1.2: 5060, 5061 for TLS). */
export function defaultPort(transport: TransportProtocol): number {
  return transport === 'tls' ? 5061 : 5060;
}

/** Index of the first `ch` outside a quoted string at or after `from`, or -1. */
function indexOutsideQuotes(s: string, ch: number, from: number): number {
  let quoted = false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === ch) return i;
  }
  return -1;
}

/** Host of a sent-by (`host`, `host:port`, `[v6]`, `[v6]:port`), without brackets, lower-cased. */
function sentByHost(sentBy: string): string {
  if (sentBy.startsWith('[')) {
    const end = sentBy.indexOf(']');
    return (end < 0 ? sentBy.slice(1) : sentBy.slice(1, end)).toLowerCase();
  }
  const colon = sentBy.indexOf(':');
  return (colon < 0 ? sentBy : sentBy.slice(0, colon)).toLowerCase();
}

/**
 * Returns the first via-parm of a Via header value with `received`/`rport` stamped for a request
 * from `address:port`, followed by the untouched rest of the value. Returns `value` itself when
 * nothing needs to change (the common case for well-behaved clients without `rport`).
 */
export function stampViaValue(value: string, address: string, port: number): string {
  const comma = indexOutsideQuotes(value, 0x2c /* , */, 0);
  const first = comma < 0 ? value : value.slice(0, comma);
  const rest = comma < 0 ? '' : value.slice(comma);
  const semi = indexOutsideQuotes(first, 0x3b /* ; */, 0);
  const head = (semi < 0 ? first : first.slice(0, semi)).trimEnd();
  // head = "SIP/2.0/UDP host:port" (protocol and sent-by separated by LWS).
  const sp = head.search(/\s\S+$/);
  const sentBy = sp < 0 ? '' : head.slice(sp + 1);
  const host = sentByHost(sentBy);

  let hasRport = false;
  const kept: string[] = [];
  if (semi >= 0) {
    let i = semi;
    while (i >= 0 && i < first.length) {
      const next = indexOutsideQuotes(first, 0x3b, i + 1);
      const raw = first.slice(i + 1, next < 0 ? first.length : next).trim();
      i = next;
      const eq = raw.indexOf('=');
      const name = (eq < 0 ? raw : raw.slice(0, eq)).trim().toLowerCase();
      if (name === 'received') continue; // replaced below, never trusted from the client
      if (name === 'rport') {
        hasRport = true;
        continue;
      }
      kept.push(raw);
    }
  }
  const needReceived = hasRport || host !== address.toLowerCase();
  let out = head;
  for (const p of kept) out += ';' + p;
  // A client-supplied received= is always dropped: left in place it would steer our responses
  // to any address the client names (a reflection attack needing no spoofing).
  if (!needReceived) return out + rest;
  out += ';received=' + address;
  if (hasRport) out += ';rport=' + port;
  return out + rest;
}

/** Stamps the topmost Via of a received request in place (see stampViaValue). */
export function stampTopVia(headers: SipHeaders, address: string, port: number): void {
  for (const h of headers.list) {
    if (h.name !== 'via') continue;
    h.value = stampViaValue(h.value, address, port);
    return;
  }
}

/** What response routing needs from a parsed top Via. */
export interface ViaForRouting {
  transport: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;
}

/**
 * Destination of a response per its top Via when there is no usable connection
 * (RFC 3261 §18.2.2 and RFC 3581 §4). `maddr` (multicast) is not supported and is ignored.
 */
export function responseDestination(via: ViaForRouting, transport: TransportProtocol): SendTarget {
  const received = via.params.get('received');
  const sentByPort = via.port ?? defaultPort(transport);
  let host = received ?? via.host;
  if (host.startsWith('[')) host = host.slice(1, -1);
  let port = sentByPort;
  if (!isReliable(transport) && received !== undefined && received !== null) {
    const rport = via.params.get('rport');
    if (rport !== undefined && rport !== null) {
      const n = Number(rport);
      if (Number.isInteger(n) && n > 0 && n < 65_536) port = n;
    }
  }
  return { host, port, transport };
}

export function isReliable(transport: TransportProtocol): boolean {
  return transport !== 'udp';
}

/** Maps a Via's transport token to ours; undefined for ones we do not speak (SCTP, WS …). */
export function viaTransport(token: string): TransportProtocol | undefined {
  switch (token.toUpperCase()) {
    case 'UDP':
      return 'udp';
    case 'TCP':
      return 'tcp';
    case 'TLS':
      return 'tls';
    default:
      return undefined;
  }
}

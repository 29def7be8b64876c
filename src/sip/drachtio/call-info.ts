import type Srf from 'drachtio-srf';
import type { DigestResponse, IncomingCallInfo, SipTransport } from '../sip-engine.js';
import { parseDigestCredentials } from './digest-credentials.js';
import { RawHeaders } from './raw-headers.js';
import type { ListeningAddress } from './hostports.js';
import { parseNameAddr, uriUser } from './sip-address.js';

/**
 * Builds the port's IncomingCallInfo from an INVITE as drachtio-srf delivers it. The source
 * address, port and transport come from drachtio-server's metadata (the packet's real origin,
 * not the Via), exactly what trunk CIDR checks need.
 */
export function buildCallInfo(req: Srf.SrfRequest, listeners: ReadonlyArray<ListeningAddress> = []): IncomingCallInfo {
  const headers = RawHeaders.parse(req.raw ?? '');
  const get = (name: string): string | undefined => headers.first(name) ?? req.get(name);

  const from = parseNameAddr(get('From') ?? '');
  const to = parseNameAddr(get('To') ?? '');
  const requestUri = req.uri;
  const transport = transportOf(req.protocol);

  return {
    callId: get('Call-ID') ?? '',
    requestUri,
    calledUser: uriUser(requestUri) ?? uriUser(to.uri),
    fromUri: from.uri,
    fromUser: uriUser(from.uri),
    fromDisplayName: from.displayName,
    toUri: to.uri,
    userAgent: get('User-Agent') ?? null,
    source: {
      address: req.source_address,
      port: Number(req.source_port),
      transport,
    },
    localAddress: localAddressOf(req.receivedOn, transport, listeners),
    sdp: sdpOf(req, get('Content-Type')),
    digest: digestOf(get('Authorization'), get('Proxy-Authorization')),
    header: (name: string) => get(name),
  };
}

/**
 * drachtio-server names the transport udp, tcp, tls, ws or wss. WebSocket is a stream transport
 * (ws over TCP, wss over TLS); the port only distinguishes the three carriers use.
 */
export function transportOf(protocol: string | undefined): SipTransport {
  const p = (protocol ?? '').toLowerCase();
  if (p === 'tls' || p === 'wss') return 'tls';
  if (p === 'tcp' || p === 'ws') return 'tcp';
  return 'udp';
}

/**
 * Our address the INVITE arrived on. drachtio-server ≥ 0.8.x says so per request (`receivedOn`);
 * older servers only list their listeners when we connect, so take the one of this transport.
 */
export function localAddressOf(
  receivedOn: string | undefined,
  transport: SipTransport,
  listeners: ReadonlyArray<ListeningAddress>,
): string {
  if (receivedOn) {
    const colon = receivedOn.lastIndexOf(':');
    const host = colon > 0 ? receivedOn.slice(0, colon) : receivedOn;
    if (host !== '') return host.replace(/^\[(.*)\]$/, '$1');
  }
  const same = listeners.find((l) => l.transport === transport) ?? listeners[0];
  return same?.address ?? '0.0.0.0';
}

function sdpOf(req: Srf.SrfRequest, contentType: string | undefined): string | null {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('application/sdp')) return req.body !== '' ? req.body : null;
  if (ct.startsWith('multipart/')) {
    // e.g. SIP-I/SIP-T: ISUP beside the SDP. drachtio-srf has already split the parts.
    const part = (req.payload ?? []).find((p) => (p.type ?? '').toLowerCase().startsWith('application/sdp'));
    return part?.content ? part.content : null;
  }
  return null;
}

function digestOf(authorization: string | undefined, proxyAuthorization: string | undefined): DigestResponse | null {
  if (authorization !== undefined) {
    const d = parseDigestCredentials('authorization', authorization);
    if (d) return d;
  }
  if (proxyAuthorization !== undefined) return parseDigestCredentials('proxy-authorization', proxyAuthorization);
  return null;
}

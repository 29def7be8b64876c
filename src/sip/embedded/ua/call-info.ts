import { parseDigestCredentials, parseNameAddr, parseUri } from '../message/index.js';
import type { SipRequest } from '../message/types.js';
import type { ReceivedSource } from '../transport/types.js';
import type { DigestResponse, IncomingCallInfo } from '../../sip-engine.js';

/** The port's view of an INVITE. Throws (a SipParseError or TypeError) when a needed header is unusable. */
export function callInfoFrom(invite: SipRequest, source: ReceivedSource): IncomingCallInfo {
  const h = invite.headers;
  const from = parseNameAddr(h.get('from') ?? '');
  const to = parseNameAddr(h.get('to') ?? '');
  const ruri = parseUri(invite.uri);
  const userOf = (u: ReturnType<typeof parseUri>): string | null =>
    u.kind === 'sip' ? (u.user ?? null) : u.kind === 'tel' ? u.number : null;
  const contentType = (h.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const sdp = invite.body.length > 0 && contentType === 'application/sdp' ? invite.body.toString('utf8') : null;
  return {
    callId: h.get('call-id') ?? '',
    requestUri: invite.uri,
    calledUser: userOf(ruri) || userOf(to.parsedUri) || null,
    fromUri: from.uri,
    fromUser: userOf(from.parsedUri),
    fromDisplayName: from.displayName ?? null,
    toUri: to.uri,
    userAgent: h.get('user-agent') ?? null,
    source: { address: source.address, port: source.port, transport: source.transport },
    localAddress: source.localAddress,
    sdp,
    digest: digestOf(invite),
    header: (name: string) => h.get(name),
  };
}

function digestOf(invite: SipRequest): DigestResponse | null {
  for (const header of ['authorization', 'proxy-authorization'] as const) {
    const value = invite.headers.get(header);
    if (value === undefined || !/^\s*digest\s/i.test(value)) continue;
    try {
      const c = parseDigestCredentials(value);
      return {
        header,
        username: c.username,
        realm: c.realm,
        nonce: c.nonce,
        uri: c.uri,
        response: c.response,
        algorithm: c.algorithm ?? null,
        qop: c.qop ?? null,
        nc: c.nc ?? null,
        cnonce: c.cnonce ?? null,
        opaque: c.opaque ?? null,
      };
    } catch {
      return null; // malformed credentials count as none: the caller gets a fresh challenge
    }
  }
  return null;
}

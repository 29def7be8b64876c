/**
 * Hold detection for an offer (usually a re-INVITE). Both styles seen from carriers count:
 * RFC 3264 §8.4 (a=sendonly, or a=inactive) and the older RFC 2543 one (c=0.0.0.0), which
 * RFC 3264 deprecates but PBXs and some carriers still send.
 */

import { parseSdp } from './parse.js';
import { effectiveConnection, effectiveDirection, type SdpMedia, type SessionDescription } from './types.js';

/** The stream a voice call is about: the first audio section that is not rejected. */
export function primaryAudio(sd: SessionDescription): SdpMedia | null {
  return sd.media.find((m) => m.type === 'audio' && m.port !== 0) ?? null;
}

/** c=0.0.0.0 (and its IPv6 cousin ::), the RFC 2543 way of saying "do not send to me". */
export function isNullAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || /^0{1,4}(:0{1,4}){7}$/.test(address);
}

/**
 * ICE (RFC 8839 §4.3.1) writes c=IN IP4 0.0.0.0 with port 9 as a placeholder when the real
 * addresses come as candidates: that is not a hold.
 */
export function usesIce(sd: SessionDescription, m: SdpMedia): boolean {
  const hasUfrag = (attrs: SessionDescription['attributes']): boolean => attrs.some((a) => a.name === 'ice-ufrag');
  return hasUfrag(m.attributes) || hasUfrag(sd.attributes);
}

/** True when the offer puts us on hold. Throws SdpError when given malformed text. */
export function isHold(offer: string | SessionDescription): boolean {
  const sd = typeof offer === 'string' ? parseSdp(offer) : offer;
  const m = primaryAudio(sd);
  if (m === null) return false;
  const dir = effectiveDirection(sd, m);
  if (dir === 'sendonly' || dir === 'inactive') return true;
  const c = effectiveConnection(sd, m);
  return c !== null && isNullAddress(c.address) && !usesIce(sd, m);
}

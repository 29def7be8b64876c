/**
 * What an SDP offer must be before it goes anywhere (rtpengine, our negotiator): at most
 * MAX_OFFER_BYTES of UTF-8, with no byte that was not UTF-8. Engine-agnostic: both SIP engines
 * hand the body over as a string, and bytes that were not UTF-8 arrive as U+FFFD (the embedded
 * engine decodes with replacement; drachtio-srf does the same), so U+FFFD is the mark of a body
 * that was not text. No legitimate SDP carries U+FFFD.
 *
 * Why 16 KB: a real offer for one audio stream is 0.3–2 KB (a Twilio or Telnyx offer is ~400
 * bytes; one with many codecs, SDES keys, a DTLS fingerprint and a dozen ICE candidates stays
 * under 5 KB). rtpengine gets the offer inside one UDP datagram (at most 65,507 bytes) and answers
 * with a rewritten SDP that can grow by its own attributes; 16 KB keeps three times the largest
 * real offer and a wide margin below the datagram limit. An offer that re-encodes past 64 KB
 * (PROTOS c07-sip case 0002464: 63 KB of non-ASCII bytes, each a 3-byte U+FFFD) is refused here
 * with 488 instead of reaching rtpengine.
 */
export const MAX_OFFER_BYTES = 16 * 1024;

export type OfferCheck = { ok: true } | { ok: false; why: string };

export function checkOffer(sdp: string): OfferCheck {
  // Quick bound first: a string of n UTF-16 units is at least n bytes of UTF-8.
  if (sdp.length > MAX_OFFER_BYTES || Buffer.byteLength(sdp, 'utf8') > MAX_OFFER_BYTES) {
    return { ok: false, why: `SDP offer larger than ${MAX_OFFER_BYTES} bytes` };
  }
  if (sdp.includes('\ufffd')) return { ok: false, why: 'SDP offer is not valid UTF-8' };
  return { ok: true };
}

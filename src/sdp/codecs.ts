/**
 * The audio codecs the gateway can terminate, and how an offered payload type maps to a codec
 * (its a=rtpmap, else RFC 3551's static table).
 */

import type { SdpMedia } from './types.js';

export interface CodecSpec {
  /** Encoding name as RFC 3551 / the IANA registry spell it (compared case-insensitively). */
  readonly name: string;
  /** RTP clock rate. G.722 says 8000 here although it samples at 16 kHz (RFC 3551 §4.5.2). */
  readonly clockRate: number;
  readonly channels: number;
  /** Static payload type, or null for a dynamic one (the offerer's number is used). */
  readonly staticPayloadType: number | null;
}

export const TELEPHONE_EVENT = 'telephone-event';

/** What we support, in our order of preference (the offerer's order still decides, RFC 3264 §6.1). */
export const DEFAULT_CODECS: readonly CodecSpec[] = Object.freeze([
  { name: 'PCMU', clockRate: 8000, channels: 1, staticPayloadType: 0 },
  { name: 'PCMA', clockRate: 8000, channels: 1, staticPayloadType: 8 },
  { name: 'G722', clockRate: 8000, channels: 1, staticPayloadType: 9 },
  // RFC 7587 §7: opus is always written opus/48000/2, whatever is actually sent.
  { name: 'opus', clockRate: 48000, channels: 2, staticPayloadType: null },
  { name: TELEPHONE_EVENT, clockRate: 8000, channels: 1, staticPayloadType: null },
]);

/** RFC 3551 §6 static audio payload types a peer may offer without an a=rtpmap. */
const STATIC_AUDIO: ReadonlyMap<number, { name: string; clockRate: number; channels: number }> = new Map([
  [0, { name: 'PCMU', clockRate: 8000, channels: 1 }],
  [3, { name: 'GSM', clockRate: 8000, channels: 1 }],
  [4, { name: 'G723', clockRate: 8000, channels: 1 }],
  [5, { name: 'DVI4', clockRate: 8000, channels: 1 }],
  [6, { name: 'DVI4', clockRate: 16000, channels: 1 }],
  [7, { name: 'LPC', clockRate: 8000, channels: 1 }],
  [8, { name: 'PCMA', clockRate: 8000, channels: 1 }],
  [9, { name: 'G722', clockRate: 8000, channels: 1 }],
  [10, { name: 'L16', clockRate: 44100, channels: 2 }],
  [11, { name: 'L16', clockRate: 44100, channels: 1 }],
  [12, { name: 'QCELP', clockRate: 8000, channels: 1 }],
  [13, { name: 'CN', clockRate: 8000, channels: 1 }],
  [14, { name: 'MPA', clockRate: 90000, channels: 1 }],
  [15, { name: 'G728', clockRate: 8000, channels: 1 }],
  [16, { name: 'DVI4', clockRate: 11025, channels: 1 }],
  [17, { name: 'DVI4', clockRate: 22050, channels: 1 }],
  [18, { name: 'G729', clockRate: 8000, channels: 1 }],
]);

/** One format of an offered media section, resolved to a codec description. */
export interface OfferedFormat {
  readonly payloadType: number;
  readonly name: string;
  readonly clockRate: number;
  readonly channels: number;
  /** The format's a=fmtp parameters, or null. */
  readonly fmtp: string | null;
}

/**
 * Resolves the formats of an RTP media section in m= order. A dynamic payload type without an
 * rtpmap cannot be interpreted and is left out.
 */
export function offeredFormats(m: SdpMedia): OfferedFormat[] {
  const out: OfferedFormat[] = [];
  for (const fmt of m.formats) {
    if (!/^\d+$/.test(fmt)) continue;
    const pt = Number(fmt);
    const map = m.rtpmaps.find((r) => r.payloadType === pt);
    const fmtp = m.fmtps.find((f) => f.format === fmt)?.params ?? null;
    if (map !== undefined) {
      // RFC 7587 §7 requires opus/48000/2; a peer that leaves the /2 out still means Opus.
      const channels = map.channels ?? (map.encoding.toLowerCase() === 'opus' ? 2 : 1);
      out.push({ payloadType: pt, name: map.encoding, clockRate: map.clockRate, channels, fmtp });
      continue;
    }
    const known = STATIC_AUDIO.get(pt);
    if (known !== undefined) out.push({ payloadType: pt, ...known, fmtp });
  }
  return out;
}

/** Whether an offered format is the given codec (name case-insensitive, rate and channels exact). */
export function formatMatches(f: OfferedFormat, c: CodecSpec): boolean {
  return f.name.toLowerCase() === c.name.toLowerCase() && f.clockRate === c.clockRate && f.channels === c.channels;
}

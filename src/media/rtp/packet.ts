/**
 * RTP packet parsing and writing (RFC 3550 §5.1): version, padding, header extension (§5.3.1),
 * CSRC list, marker, payload type, sequence number, timestamp, SSRC.
 *
 * `parseRtp` is on the per-packet hot path: it never throws and never copies. It returns null
 * for anything that is not a well-formed RTP packet (wrong version, truncated header, bad
 * padding, an RTCP packet on a muxed port) and views into the caller's buffer for the payload
 * and extension data, so the buffer must not be reused while the packet is in use.
 */

export interface RtpHeaderExtension {
  /** The 16-bit "defined by profile" field (0xBEDE for RFC 8285 one-byte elements). */
  readonly profile: number;
  /** The extension data, a multiple of 4 bytes (a view into the packet). */
  readonly data: Uint8Array;
}

export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  readonly extension: RtpHeaderExtension | null;
  /** The payload without header and padding (a view into the packet). */
  readonly payload: Uint8Array;
  /** Number of padding bytes the packet carried (0 when the P bit was clear). */
  readonly paddingLength: number;
}

/** What `writeRtp` needs; omitted optional fields are written as absent/zero. */
export interface RtpPacketInit {
  readonly marker?: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs?: readonly number[];
  readonly extension?: RtpHeaderExtension | null;
  readonly payload: Uint8Array;
  /** Padding bytes to append (0–255; the last one holds the count, RFC 3550 §5.1). */
  readonly paddingLength?: number;
}

export const RTP_VERSION = 2;
export const RTP_HEADER_SIZE = 12;

/**
 * True for RTCP on an RTP/RTCP-muxed port (RFC 5761 §4): its second byte, read as marker +
 * payload type, falls in 192–223 (packet types SR 200 … APP 204 and the range around them).
 */
export function isRtcp(buf: Uint8Array): boolean {
  const b1 = buf[1];
  return buf.length >= 2 && b1 !== undefined && b1 >= 192 && b1 <= 223;
}

const readU16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const readU32 = (b: Uint8Array, o: number): number =>
  (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Parses one RTP packet; null when `buf` is not well-formed RTP. Never throws. */
export function parseRtp(buf: Uint8Array): RtpPacket | null {
  const len = buf.length;
  if (len < RTP_HEADER_SIZE) return null;
  const b0 = buf[0] ?? 0;
  const b1 = buf[1] ?? 0;
  if (b0 >> 6 !== RTP_VERSION) return null;
  if (b1 >= 192 && b1 <= 223) return null; // RTCP muxed on the same port
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;

  let offset = RTP_HEADER_SIZE + csrcCount * 4;
  if (offset > len) return null;
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(readU32(buf, RTP_HEADER_SIZE + i * 4));

  let extension: RtpHeaderExtension | null = null;
  if (hasExtension) {
    if (offset + 4 > len) return null;
    const profile = readU16(buf, offset);
    const words = readU16(buf, offset + 2);
    const end = offset + 4 + words * 4;
    if (end > len) return null;
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }

  let paddingLength = 0;
  if (hasPadding) {
    paddingLength = buf[len - 1] ?? 0;
    // The count includes itself, so 0 is invalid; it may not eat into the header.
    if (paddingLength === 0 || offset + paddingLength > len) return null;
  }

  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: readU16(buf, 2),
    timestamp: readU32(buf, 4),
    ssrc: readU32(buf, 8),
    csrcs,
    extension,
    payload: buf.subarray(offset, len - paddingLength),
    paddingLength,
  };
}

function checkInit(p: RtpPacketInit): void {
  const u = (v: number, max: number): boolean => Number.isInteger(v) && v >= 0 && v <= max;
  if (!u(p.payloadType, 127)) throw new TypeError(`payloadType must be 0..127, got ${p.payloadType}`);
  if (!u(p.sequenceNumber, 0xffff)) throw new TypeError(`sequenceNumber must be 0..65535, got ${p.sequenceNumber}`);
  if (!u(p.timestamp, 0xffffffff)) throw new TypeError(`timestamp must be a 32-bit unsigned integer, got ${p.timestamp}`);
  if (!u(p.ssrc, 0xffffffff)) throw new TypeError(`ssrc must be a 32-bit unsigned integer, got ${p.ssrc}`);
  const csrcs = p.csrcs ?? [];
  if (csrcs.length > 15) throw new TypeError('at most 15 CSRCs fit in an RTP header');
  for (const c of csrcs) if (!u(c, 0xffffffff)) throw new TypeError(`csrc must be a 32-bit unsigned integer, got ${c}`);
  if (p.extension && (p.extension.data.length % 4 !== 0 || !u(p.extension.profile, 0xffff)))
    throw new TypeError('extension data must be a multiple of 4 bytes and profile 0..65535');
  if (p.paddingLength !== undefined && !u(p.paddingLength, 255))
    throw new TypeError(`paddingLength must be 0..255, got ${p.paddingLength}`);
}

/** The size in bytes `writeRtp` produces for `p`. */
export function rtpPacketSize(p: RtpPacketInit): number {
  const ext = p.extension ? 4 + p.extension.data.length : 0;
  return RTP_HEADER_SIZE + (p.csrcs?.length ?? 0) * 4 + ext + p.payload.length + (p.paddingLength ?? 0);
}

/**
 * Writes `p` into `out` at `offset` and returns the number of bytes written. Throws TypeError
 * for out-of-range fields and RangeError when `out` is too small (these are programming
 * errors on the sending side, unlike a malformed packet received from the network).
 */
export function writeRtpInto(p: RtpPacketInit, out: Uint8Array, offset = 0): number {
  checkInit(p);
  const size = rtpPacketSize(p);
  if (offset < 0 || offset + size > out.length) throw new RangeError(`RTP packet needs ${size} bytes`);
  const csrcs = p.csrcs ?? [];
  const padding = p.paddingLength ?? 0;
  let o = offset;
  out[o++] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (p.extension ? 0x10 : 0) | csrcs.length;
  out[o++] = (p.marker ? 0x80 : 0) | p.payloadType;
  out[o++] = p.sequenceNumber >>> 8;
  out[o++] = p.sequenceNumber & 0xff;
  writeU32(out, o, p.timestamp);
  writeU32(out, o + 4, p.ssrc);
  o += 8;
  for (const c of csrcs) {
    writeU32(out, o, c);
    o += 4;
  }
  if (p.extension) {
    const words = p.extension.data.length / 4;
    out[o++] = p.extension.profile >>> 8;
    out[o++] = p.extension.profile & 0xff;
    out[o++] = words >>> 8;
    out[o++] = words & 0xff;
    out.set(p.extension.data, o);
    o += p.extension.data.length;
  }
  out.set(p.payload, o);
  o += p.payload.length;
  if (padding > 0) {
    out.fill(0, o, o + padding - 1);
    o += padding;
    out[o - 1] = padding;
  }
  return o - offset;
}

/** Writes `p` into a new buffer (a Buffer, so it can go straight to `dgram.send`). */
export function writeRtp(p: RtpPacketInit): Buffer {
  const out = Buffer.allocUnsafe(rtpPacketSize(p));
  writeRtpInto(p, out);
  return out;
}

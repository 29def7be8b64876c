/**
 * RFC 3264 answerer for one voice stream.
 *
 * - The first audio section that is not rejected, uses a transport profile we terminate and
 *   shares a codec with us is accepted; every other m= line is answered with port 0 (§6: the
 *   answer has exactly as many m= lines as the offer, in the same order).
 * - Codec: the first one in the offer's m= order that we support (§6.1: the answerer SHOULD
 *   prefer the offerer's order), answered with the offer's payload type. Only one codec goes in
 *   the answer, so the far end never switches codecs mid-call.
 * - DTMF: telephone-event (RFC 4733) is kept with the offer's payload type and fmtp.
 * - Direction (§6.1): sendonly → recvonly, recvonly → sendonly, inactive → inactive,
 *   sendrecv → sendrecv. An RFC 2543 hold (c=0.0.0.0) means the far end cannot receive, so we
 *   never answer that we send: sendrecv → recvonly, recvonly → inactive.
 * - SRTP (RTP/SAVP, DTLS) is rtpengine's job: by the time an offer reaches our own endpoint it is
 *   plain RTP. A secure-only offer that reaches this function is therefore a 488.
 */

import { DEFAULT_CODECS, TELEPHONE_EVENT, formatMatches, offeredFormats, type CodecSpec, type OfferedFormat } from './codecs.js';
import { isNullAddress, usesIce } from './hold.js';
import type { LocalSdpSession } from './local-session.js';
import { emptyMedia, isRtpProto, parseSdp } from './parse.js';
import { serializeSdp } from './serialize.js';
import {
  SdpError,
  effectiveConnection,
  effectiveDirection,
  type SdpDirection,
  type SdpMedia,
  type SessionDescription,
} from './types.js';

/** Transport profiles we terminate ourselves (RFC 3551 AVP and RFC 4585 AVPF; no SRTP). */
export const DEFAULT_PROTOS: readonly string[] = Object.freeze(['RTP/AVP', 'RTP/AVPF']);

/** Packetisation we send and ask for (RFC 4566 §6: a=ptime). */
export const ANSWER_PTIME_MS = 20;

export interface NegotiateOptions {
  /** Where we receive RTP: written as c= and the accepted m= port. */
  readonly local: { readonly address: string; readonly port: number };
  /** This dialog's o= session; its version moves on when the answer changes. */
  readonly session: LocalSdpSession;
  /** What we support (names from DEFAULT_CODECS); default DEFAULT_CODECS. */
  readonly codecs?: readonly CodecSpec[];
  /** Transport profiles accepted; default DEFAULT_PROTOS. */
  readonly protos?: readonly string[];
  /**
   * The codec in use before this offer (a re-INVITE): kept when the new offer still has it, so
   * hold/unhold or a session refresh does not change codec mid-call.
   */
  readonly current?: { readonly name: string; readonly clockRate: number; readonly channels: number } | null;
}

export interface NegotiatedCodec {
  readonly name: string;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels: number;
}

export interface NegotiationSuccess {
  readonly ok: true;
  /** The answer SDP (CRLF lines). */
  readonly answer: string;
  /** The codec, named as in our CodecSpec list (`PCMU`, `opus`…) whatever case the offer used. */
  readonly codec: NegotiatedCodec;
  /** telephone-event payload type (the offer's), or null when DTMF was not offered. */
  readonly dtmfPayloadType: number | null;
  /** telephone-event RTP clock rate (8000, or the codec's own, e.g. 48000 with Opus), or null. */
  readonly dtmfClockRate: number | null;
  /**
   * Where to send RTP: the offer's connection address and port (0.0.0.0 while on RFC 2543 hold).
   * RFC 4566 allows a host name in c=; resolving it is the caller's business.
   */
  readonly remote: { readonly address: string; readonly port: number };
  /** Our direction in the answer. */
  readonly direction: SdpDirection;
  /** Index of the accepted m= line in the offer (and in the answer). */
  readonly mediaIndex: number;
}

export interface NegotiationFailure {
  readonly ok: false;
  /** 488 Not Acceptable Here (RFC 3261 §21.4.26). */
  readonly status: 488;
  /** Why, short enough for a reason phrase or a Warning header; built only from parsed tokens. */
  readonly reason: string;
}

export type NegotiationResult = NegotiationSuccess | NegotiationFailure;

const ANSWER_DIRECTION: Readonly<Record<SdpDirection, SdpDirection>> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

/** What we answer when the far end cannot receive (c=0.0.0.0): never a direction that sends. */
const ANSWER_DIRECTION_NULL_ADDRESS: Readonly<Record<SdpDirection, SdpDirection>> = {
  sendrecv: 'recvonly',
  sendonly: 'recvonly',
  recvonly: 'inactive',
  inactive: 'inactive',
};

/** Longest reason returned: it may end up in a reason phrase or a Warning header. */
const REASON_MAX = 200;

function fail(reason: string): NegotiationFailure {
  // Parts of the reason come from the offer: keep it printable and short.
  // eslint-disable-next-line no-control-regex
  const clean = reason.replace(/[\x00-\x1f\x7f]/g, '?');
  return { ok: false, status: 488, reason: clean.length > REASON_MAX ? `${clean.slice(0, REASON_MAX - 1)}…` : clean };
}

function validateOptions(o: NegotiateOptions): void {
  const { address, port } = o.local;
  if (typeof address !== 'string' || !/^[0-9A-Za-z.:-]+$/.test(address)) throw new TypeError('negotiate: local.address must be an IP address');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError('negotiate: local.port must be 1-65535');
}

interface Choice {
  readonly index: number;
  readonly media: SdpMedia;
  /** The offered format, with our spelling of its name (encoding names are case-insensitive). */
  readonly codec: OfferedFormat;
  readonly dtmf: OfferedFormat | null;
}

function pickCodec(
  formats: readonly OfferedFormat[],
  ours: readonly CodecSpec[],
  current: NegotiateOptions['current'],
): { format: OfferedFormat; spec: CodecSpec } | null {
  const audio = ours.filter((c) => c.name.toLowerCase() !== TELEPHONE_EVENT);
  const specOf = (f: OfferedFormat): CodecSpec | undefined => audio.find((c) => formatMatches(f, c));
  if (current) {
    const keep = formats.find(
      (f) => f.name.toLowerCase() === current.name.toLowerCase() && f.clockRate === current.clockRate && f.channels === current.channels,
    );
    const spec = keep === undefined ? undefined : specOf(keep);
    if (keep !== undefined && spec !== undefined) return { format: keep, spec };
  }
  for (const format of formats) {
    const spec = specOf(format);
    if (spec !== undefined) return { format, spec };
  }
  return null;
}

/**
 * telephone-event at the chosen codec's clock rate if offered (RFC 4733 §2.1 wants them equal),
 * else at 8000 Hz; only when we list telephone-event ourselves.
 */
function pickDtmf(formats: readonly OfferedFormat[], ours: readonly CodecSpec[], codec: OfferedFormat): OfferedFormat | null {
  if (!ours.some((c) => c.name.toLowerCase() === TELEPHONE_EVENT)) return null;
  const events = formats.filter((f) => f.name.toLowerCase() === TELEPHONE_EVENT);
  return events.find((f) => f.clockRate === codec.clockRate) ?? events.find((f) => f.clockRate === 8000) ?? null;
}

function describeOffered(formats: readonly OfferedFormat[], m: SdpMedia): string {
  const names = formats.filter((f) => f.name.toLowerCase() !== TELEPHONE_EVENT).map((f) => `${f.name}/${f.clockRate}`);
  if (names.length > 0) return names.join(', ');
  return m.formats.length > 0 ? `payload types ${m.formats.join(' ')} (no rtpmap)` : 'nothing';
}

/**
 * Answers an offer. Malformed SDP is a failure too (488 with the parser's message), so the call
 * controller has one path; it can call parseSdp itself first when it wants 400 instead.
 */
export function negotiate(offer: string | SessionDescription, options: NegotiateOptions): NegotiationResult {
  validateOptions(options);
  let sd: SessionDescription;
  try {
    sd = typeof offer === 'string' ? parseSdp(offer) : offer;
  } catch (err) {
    if (err instanceof SdpError) return fail(`malformed SDP: ${err.message}`);
    throw err;
  }
  const ours = options.codecs ?? DEFAULT_CODECS;
  const protos = (options.protos ?? DEFAULT_PROTOS).map((p) => p.toUpperCase());

  const audio = sd.media.map((m, index) => ({ m, index })).filter(({ m }) => m.type === 'audio' && m.port !== 0);
  if (audio.length === 0) return fail('no audio stream in the offer');
  const usable = audio.filter(({ m }) => isRtpProto(m.proto) && protos.includes(m.proto.toUpperCase()));
  if (usable.length === 0) {
    const offered = [...new Set(audio.map(({ m }) => m.proto))].join(', ');
    return fail(`audio offered only over ${offered}; this endpoint takes ${protos.join(' or ')}`);
  }

  let choice: Choice | null = null;
  for (const { m, index } of usable) {
    const formats = offeredFormats(m);
    const picked = pickCodec(formats, ours, options.current);
    if (picked !== null) {
      const codec: OfferedFormat = { ...picked.format, name: picked.spec.name };
      choice = { index, media: m, codec, dtmf: pickDtmf(formats, ours, codec) };
      break;
    }
  }
  if (choice === null) {
    const first = usable[0]!.m;
    const supported = ours.filter((c) => c.name.toLowerCase() !== TELEPHONE_EVENT).map((c) => c.name);
    return fail(`no common codec: offered ${describeOffered(offeredFormats(first), first)}; supported ${supported.join(', ')}`);
  }

  const conn = effectiveConnection(sd, choice.media);
  // parseSdp guarantees a connection for a section with a non-zero port; a hand-built
  // SessionDescription might not have one.
  if (conn === null) return fail(`audio stream ${choice.index + 1} has no connection address`);
  const offerDir = effectiveDirection(sd, choice.media);
  const nullAddress = isNullAddress(conn.address) && !usesIce(sd, choice.media);
  const direction = (nullAddress ? ANSWER_DIRECTION_NULL_ADDRESS : ANSWER_DIRECTION)[offerDir];

  const answer = buildAnswer(sd, choice, direction, options);
  return {
    ok: true,
    answer,
    codec: {
      name: choice.codec.name,
      payloadType: choice.codec.payloadType,
      clockRate: choice.codec.clockRate,
      channels: choice.codec.channels,
    },
    dtmfPayloadType: choice.dtmf?.payloadType ?? null,
    dtmfClockRate: choice.dtmf?.clockRate ?? null,
    remote: { address: conn.address, port: choice.media.port },
    direction,
    mediaIndex: choice.index,
  };
}

function buildAnswer(offer: SessionDescription, choice: Choice, direction: SdpDirection, options: NegotiateOptions): string {
  const { address, port } = options.local;
  const addrType = address.includes(':') ? 'IP6' : 'IP4';
  const session = options.session;
  const media: SdpMedia[] = offer.media.map((m, i) => {
    // §6: a rejected stream still lists at least one format; the offer's first will do.
    const base: SdpMedia = emptyMedia(m.type, 0, m.proto, m.formats.slice(0, 1));
    if (i !== choice.index) return base;
    const { codec, dtmf } = choice;
    const accepted: SdpMedia = {
      ...base,
      port,
      formats: dtmf === null ? [String(codec.payloadType)] : [String(codec.payloadType), String(dtmf.payloadType)],
      rtpmaps: [{ payloadType: codec.payloadType, encoding: codec.name, clockRate: codec.clockRate, channels: codec.channels === 1 ? null : codec.channels }],
      ptime: ANSWER_PTIME_MS,
      direction,
    };
    if (dtmf !== null) {
      accepted.rtpmaps.push({ payloadType: dtmf.payloadType, encoding: dtmf.name, clockRate: dtmf.clockRate, channels: null });
      if (dtmf.fmtp !== null) accepted.fmtps.push({ format: String(dtmf.payloadType), params: dtmf.fmtp });
    }
    return accepted;
  });
  const sd: SessionDescription = {
    version: 0,
    origin: { username: session.username, sessionId: session.sessionId, sessionVersion: 'VERSION', netType: 'IN', addrType, address },
    sessionName: session.sessionName,
    information: null,
    uri: null,
    emails: [],
    phones: [],
    connection: { netType: 'IN', addrType, address, suffix: null },
    bandwidths: [],
    timing: [{ start: '0', stop: '0', repeats: [] }],
    timeZones: null,
    key: null,
    direction: null,
    attributes: [],
    media,
  };
  // The version is chosen from the rest of the body: unchanged body, unchanged version.
  const shape = serializeSdp(sd);
  sd.origin.sessionVersion = session.versionFor(shape);
  return serializeSdp(sd);
}

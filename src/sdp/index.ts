/** SDP (RFC 4566) and offer/answer (RFC 3264) for one voice stream. Pure: no I/O, imports nothing outside. */
export * from './types.js';
export { parseSdp, isRtpProto } from './parse.js';
export { serializeSdp } from './serialize.js';
export { DEFAULT_CODECS, TELEPHONE_EVENT, offeredFormats, type CodecSpec, type OfferedFormat } from './codecs.js';
export { LocalSdpSession, type LocalSdpSessionOptions } from './local-session.js';
export { isHold, isNullAddress, primaryAudio, usesIce } from './hold.js';
export {
  ANSWER_PTIME_MS,
  DEFAULT_PROTOS,
  negotiate,
  type NegotiateOptions,
  type NegotiatedCodec,
  type NegotiationFailure,
  type NegotiationResult,
  type NegotiationSuccess,
} from './negotiate.js';

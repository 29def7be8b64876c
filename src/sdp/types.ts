/**
 * The shape of a parsed SDP body (RFC 4566). Only what a voice gateway acts on gets its own field
 * (origin, connection, media port/proto/formats, rtpmap, fmtp, ptime, maxptime, direction,
 * crypto); every other line is kept as written, in order, so an answer or a re-serialised offer
 * loses nothing a peer might care about.
 */

/** RFC 3264 §5.1 stream direction. */
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` */
export interface SdpOrigin {
  username: string;
  /** Kept as a string: session ids are often NTP timestamps beyond 2^53. */
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

/** `c=<nettype> <addrtype> <connection-address>` */
export interface SdpConnection {
  netType: string;
  addrType: string;
  /** The address without any multicast `/ttl/count` suffix. */
  address: string;
  /** The multicast `ttl[/count]` suffix as written (without the leading slash), else null. */
  suffix: string | null;
}

/** `t=<start-time> <stop-time>` with its `r=` lines (kept verbatim). */
export interface SdpTiming {
  start: string;
  stop: string;
  repeats: string[];
}

/** An attribute this module does not interpret: `a=name` or `a=name:value`. */
export interface SdpAttribute {
  name: string;
  value: string | null;
}

/** `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` */
export interface SdpRtpMap {
  payloadType: number;
  encoding: string;
  clockRate: number;
  /** Encoding parameters (audio: channel count) as written, else null (meaning 1 for audio). */
  channels: number | null;
}

/** `a=fmtp:<format> <format specific parameters>` */
export interface SdpFmtp {
  format: string;
  params: string;
}

export interface SdpMedia {
  /** `audio`, `video`, `application`… */
  type: string;
  port: number;
  /** The `/<number of ports>` of the m= line, else null. */
  portCount: number | null;
  /** `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`… as written. */
  proto: string;
  /** Formats in the offerer's order (payload types for RTP profiles), as written. */
  formats: string[];
  information: string | null;
  connection: SdpConnection | null;
  bandwidths: string[];
  key: string | null;
  rtpmaps: SdpRtpMap[];
  fmtps: SdpFmtp[];
  ptime: number | null;
  maxptime: number | null;
  /** The direction attribute of this section, or null when it has none (see effectiveDirection). */
  direction: SdpDirection | null;
  /** `a=crypto:` values (RFC 4568 SDES), verbatim and in order. */
  crypto: string[];
  /** Every other attribute, in order. */
  attributes: SdpAttribute[];
}

export interface SessionDescription {
  version: number;
  origin: SdpOrigin;
  sessionName: string;
  information: string | null;
  uri: string | null;
  emails: string[];
  phones: string[];
  connection: SdpConnection | null;
  bandwidths: string[];
  timing: SdpTiming[];
  timeZones: string | null;
  key: string | null;
  /** Session-level direction attribute, or null. */
  direction: SdpDirection | null;
  attributes: SdpAttribute[];
  media: SdpMedia[];
}

/** A malformed SDP body. The call controller answers 488 (or 400 when the SIP layer prefers). */
export class SdpError extends Error {
  /** 1-based line number of the offending line, or null when the problem is not one line. */
  readonly line: number | null;

  constructor(message: string, line: number | null = null) {
    super(message);
    this.name = 'SdpError';
    this.line = line;
  }
}

/** The direction that applies to a media section: its own, else the session's, else sendrecv. */
export function effectiveDirection(sd: SessionDescription, m: SdpMedia): SdpDirection {
  return m.direction ?? sd.direction ?? 'sendrecv';
}

/** The connection that applies to a media section: its own c=, else the session-level one. */
export function effectiveConnection(sd: SessionDescription, m: SdpMedia): SdpConnection | null {
  return m.connection ?? sd.connection;
}

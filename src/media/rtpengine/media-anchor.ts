/**
 * The call-level media API the call controller uses: rtpengine anchors the carrier leg and hands
 * a plain RTP leg on loopback to our own RTP endpoint.
 *
 *   carrier INVITE ──offer()──▶ SDP for our endpoint (RTP/AVP, 127.0.0.1, no ICE, no crypto)
 *   our answer     ──answer()─▶ SDP for the carrier's 200 OK (SRTP/DTLS as the carrier offered)
 *   hang-up        ──delete()─▶ (idempotent; every way a call ends calls it)
 *
 * Choices, checked against rtpengine 10.5:
 * - Carrier leg: whatever the carrier offered (RTP/AVP, RTP/SAVP with SDES, UDP/TLS/RTP/SAVP
 *   with DTLS) — in an answer rtpengine goes back to the protocol originally offered. ICE is
 *   removed towards both sides (`ICE: remove`).
 * - NAT: rtpengine's RTP is symmetric by default (it learns where a carrier's packets really come
 *   from and sends there; the `symmetric` flag is a no-op). By default the SDP address is trusted
 *   as the initial destination. `received-from` is only used as the media address together with
 *   the `SIP-source-address` flag, so a carrier known to write private addresses into its SDP can
 *   be anchored with `ignoreSdpAddress` and its SIP source address.
 * - Internal leg: `transport-protocol: RTP/AVP` strips SRTP; `direction: [carrier, internal]`
 *   puts it on the loopback interface when rtpengine has named interfaces; rtcp-mux is offered so
 *   that RTCP can share our endpoint's single socket (if our answer omits a=rtcp-mux, rtpengine
 *   sends RTCP to port + 1).
 * - Codecs: when the carrier offers none of the codecs we decode (PCMU, PCMA, G722, opus), we ask
 *   rtpengine to transcode (`codec: { transcode: ['PCMU'] }`); the carrier keeps its codec.
 * - Strict source (`strict-source` in offer and answer): once rtpengine has learned where a
 *   side's media comes from, packets from any other address or port are dropped, not forwarded
 *   (its default forwards them; `media-handover` would even move the call to them). Anyone who
 *   learns the port cannot inject audio into the call or take its media over. Learning is
 *   `heuristic`: rtpengine watches the first seconds (3 s after signalling, then it commits on
 *   the next packet; 4–5 s measured here) and prefers a source matching the SDP's address and
 *   port, then its address, then its port, then any (NAT), so a stranger spraying the port
 *   range does not win over the carrier. During that learning phase rtpengine still forwards
 *   what arrives from anywhere: the remaining window (`immediate` would close it by trusting
 *   the first packet, which a stranger can send first).
 * - delete uses `delete-delay: 0`, so a deleted call leaves `list` at once whatever the daemon's
 *   delete-delay (config/rtpengine.conf keeps 30 s for a production rtpengine).
 */
import { isIPv6 } from 'node:net';
import type { NgClient, NgOfferParams, NgQueryResult } from './ng-client.js';
import type { RtpengineInterfaces } from './open-rtpengine.js';
import { RtpengineError } from './rtpengine-error.js';

export interface MediaAnchorOptions {
  /** Named interfaces of the rtpengine (managed mode always has them). */
  interfaces?: RtpengineInterfaces | undefined;
  /** Codecs our endpoint decodes, by SDP encoding name (case-insensitive). */
  decodableCodecs?: readonly string[];
  /** What rtpengine transcodes to when the carrier offers none of them (default PCMU). */
  transcodeTo?: string;
  /** Passed as `list` limit by activeSessions() (default 1000; keep the reply within a datagram). */
  listLimit?: number;
}

export interface AnchorOfferInput {
  callId: string;
  fromTag: string;
  /** The carrier's SDP offer. */
  sdp: string;
  viaBranch?: string;
  /** The SIP source address of the INVITE (sent as `received-from`). */
  carrierSource?: string;
  /** Ignore the SDP's address and use `carrierSource` instead (`SIP-source-address`). */
  ignoreSdpAddress?: boolean;
}

export interface AnchorOfferResult {
  /** SDP to give our own endpoint: plain RTP/AVP on the internal interface. */
  sdp: string;
  /** True when we asked rtpengine to transcode because no decodable codec was offered. */
  transcoding: boolean;
  warning?: string;
}

export interface AnchorAnswerInput {
  callId: string;
  fromTag: string;
  toTag: string;
  /** Our endpoint's SDP answer (plain RTP/AVP on 127.0.0.1). */
  sdp: string;
}

export interface AnchorAnswerResult {
  /** SDP for the carrier (the 200 OK). */
  sdp: string;
  warning?: string;
}

export const DEFAULT_DECODABLE_CODECS: readonly string[] = ['PCMU', 'PCMA', 'G722', 'opus'];

/** Encoding names of the RTP/AVP static payload types (RFC 3551 table 4) that carriers send. */
const STATIC_PAYLOAD_TYPES: Readonly<Record<string, string>> = {
  '0': 'PCMU',
  '3': 'GSM',
  '4': 'G723',
  '8': 'PCMA',
  '9': 'G722',
  '13': 'CN',
  '18': 'G729',
};

export class MediaAnchor {
  private readonly client: NgClient;
  private readonly interfaces: RtpengineInterfaces | undefined;
  private readonly decodable: ReadonlySet<string>;
  private readonly transcodeTo: string;
  private readonly listLimit: number;
  /** Calls offered through this anchor and not yet deleted. */
  private readonly tracked = new Set<string>();

  constructor(client: NgClient, options: MediaAnchorOptions = {}) {
    this.client = client;
    this.interfaces = options.interfaces;
    this.decodable = new Set((options.decodableCodecs ?? DEFAULT_DECODABLE_CODECS).map((c) => c.toLowerCase()));
    this.transcodeTo = options.transcodeTo ?? 'PCMU';
    this.listLimit = options.listLimit ?? 1000;
    if (this.decodable.size === 0) throw new TypeError('decodableCodecs must name at least one codec');
  }

  /** Anchors the carrier's offer; resolves with the SDP for our endpoint. */
  async offer(input: AnchorOfferInput): Promise<AnchorOfferResult> {
    requireText('callId', input.callId);
    requireText('fromTag', input.fromTag);
    requireText('sdp', input.sdp);
    const offered = audioCodecs(input.sdp);
    const transcoding = !offered.some((c) => this.decodable.has(c.toLowerCase()));
    const params: NgOfferParams = {
      sdp: input.sdp,
      'call-id': input.callId,
      'from-tag': input.fromTag,
      'transport-protocol': 'RTP/AVP',
      ICE: 'remove',
      replace: ['origin', 'session-connection'],
      'rtcp-mux': ['offer'],
      flags: ['strict-source'],
      'endpoint-learning': 'heuristic',
    };
    if (this.interfaces) params.direction = [this.interfaces.carrier, this.interfaces.internal];
    if (input.viaBranch !== undefined) params['via-branch'] = input.viaBranch;
    if (input.carrierSource !== undefined) params['received-from'] = [isIPv6(input.carrierSource) ? 'IP6' : 'IP4', input.carrierSource];
    if (input.ignoreSdpAddress) {
      if (input.carrierSource === undefined) throw new TypeError('ignoreSdpAddress needs carrierSource');
      params.flags = ['strict-source', 'SIP-source-address'];
    }
    if (transcoding) params.codec = { transcode: [this.transcodeTo] };
    this.tracked.add(input.callId);
    const result = await this.client.offer(params);
    return result.warning === undefined ? { sdp: result.sdp, transcoding } : { sdp: result.sdp, transcoding, warning: result.warning };
  }

  /** Passes our endpoint's answer; resolves with the SDP for the carrier. */
  async answer(input: AnchorAnswerInput): Promise<AnchorAnswerResult> {
    requireText('callId', input.callId);
    requireText('fromTag', input.fromTag);
    requireText('toTag', input.toTag);
    requireText('sdp', input.sdp);
    const result = await this.client.answer({
      sdp: input.sdp,
      'call-id': input.callId,
      'from-tag': input.fromTag,
      'to-tag': input.toTag,
      ICE: 'remove',
      replace: ['origin', 'session-connection'],
      flags: ['strict-source'],
    });
    return result.warning === undefined ? { sdp: result.sdp } : { sdp: result.sdp, warning: result.warning };
  }

  /**
   * Ends the call in rtpengine. Idempotent: a call rtpengine does not know (already deleted,
   * never offered, lost in an rtpengine restart) is not an error. Timeouts and socket failures
   * are (retryable), since the call may still be there.
   */
  async delete(input: { callId: string; fromTag?: string }): Promise<void> {
    requireText('callId', input.callId);
    try {
      await this.client.delete({
        'call-id': input.callId,
        ...(input.fromTag === undefined ? {} : { 'from-tag': input.fromTag }),
        'delete-delay': 0,
      });
    } catch (err) {
      if (!(err instanceof RtpengineError && err.reason === 'rejected' && /unknown call|not found/i.test(err.message))) throw err;
    }
    this.tracked.delete(input.callId);
  }

  /** Call-ids rtpengine currently holds (all of them, not only this anchor's). */
  activeSessions(): Promise<string[]> {
    return this.client.list({ limit: this.listLimit });
  }

  /** rtpengine's view of one call, or undefined when it does not know it. */
  async session(callId: string): Promise<NgQueryResult | undefined> {
    try {
      return await this.client.query({ 'call-id': callId });
    } catch (err) {
      if (err instanceof RtpengineError && err.reason === 'rejected') return undefined;
      throw err;
    }
  }

  /** Calls offered through this anchor and not yet deleted. */
  trackedCalls(): string[] {
    return [...this.tracked];
  }

  /**
   * Forgets every tracked call and returns their ids: after rtpengine died and came back, those
   * calls have no media anymore and the caller ends them (BYE) without a `delete`.
   */
  forgetAll(): string[] {
    const ids = [...this.tracked];
    this.tracked.clear();
    return ids;
  }
}

function requireText(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
}

/** Encoding names offered in the SDP's audio sections (rtpmap names, else static payload types). */
export function audioCodecs(sdp: string): string[] {
  const names: string[] = [];
  const lines = sdp.split(/\r?\n/);
  let inAudio = false;
  let payloadTypes: string[] = [];
  const rtpmap = new Map<string, string>();
  const flush = (): void => {
    for (const pt of payloadTypes) {
      const name = rtpmap.get(pt) ?? STATIC_PAYLOAD_TYPES[pt];
      if (name !== undefined && !names.includes(name)) names.push(name);
    }
    payloadTypes = [];
    rtpmap.clear();
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (inAudio) flush();
      const parts = line.slice(2).trim().split(/\s+/);
      inAudio = parts[0] === 'audio' && parts[1] !== '0';
      payloadTypes = inAudio ? parts.slice(3) : [];
    } else if (inAudio && line.startsWith('a=rtpmap:')) {
      const m = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(line);
      if (m) rtpmap.set(m[1]!, m[2]!);
    }
  }
  if (inAudio) flush();
  return names;
}

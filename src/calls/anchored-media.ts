import type { Logger } from '../core/logger.js';
import {
  parseSdp,
  serializeSdp,
  type NegotiatedCodec,
} from '../sdp/index.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';
import { NegotiatedLeg, type LegEndpoint, type LegOptions } from './leg-endpoint.js';
import { isRejected, isRetryable, type MediaAnchorPort } from './media-anchor-port.js';

/** Where our internal leg lives: rtpengine's `internal` interface talks to us on loopback only. */
export const INTERNAL_ADDRESS = '127.0.0.1';

/** Identifies the call towards rtpengine: our own call id (never the SIP Call-ID) and two tags of ours. */
export interface AnchorIds {
  callId: string;
  /** The carrier side's tag. */
  fromTag: string;
  /** Our side's tag as rtpengine knows it (stable for the life of the call). */
  toTag: string;
  /** Source address of the INVITE (rtpengine's `received-from`). */
  carrierSource?: string;
  viaBranch?: string;
}

export type MediaAnswer = { ok: true; sdp: string } | { ok: false; status: number; reason: string; why: string; retryable: boolean };

/**
 * A call's media behind rtpengine. rtpengine faces the carrier (RTP or SRTP, whatever it
 * offered); our endpoint (the echo, or the Realtime bridge's RTP endpoint; see
 * leg-endpoint.ts) gets a plain RTP/AVP leg on 127.0.0.1:
 *
 *   carrier offer → anchor.offer → internal offer → negotiate (our endpoint) → + a=rtcp-mux
 *                 → anchor.answer → the SDP for the carrier's 200 OK
 *
 * Every rtpengine command of the call runs in one queue, so a `delete` can never overtake the
 * offer it undoes. `release()` closes the endpoint and deletes the call in rtpengine exactly once,
 * whatever way the call ended; after `mediaLost()` (rtpengine died and forgot the call) it only
 * closes the endpoint.
 *
 * re-INVITEs (hold, unhold, a new codec or transport) go through rtpengine like the first offer:
 * offer → our endpoint renegotiates → answer, and the 200 carries what rtpengine answered.
 */
export class AnchoredMedia<E extends LegEndpoint = LegEndpoint> {
  private carrierSdp: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private anchored = false;
  private lost = false;
  private releasing: Promise<void> | undefined;

  private constructor(
    private readonly leg: NegotiatedLeg<E>,
    private readonly anchor: MediaAnchorPort,
    private readonly ids: AnchorIds,
    private readonly log: Logger,
  ) {}

  get endpoint(): E {
    return this.leg.endpoint;
  }

  /**
   * Binds our internal-leg socket on 127.0.0.1 from the allocator's range and builds the
   * endpoint on it (the echo by default). `codecs` limits what our endpoint accepts.
   */
  static async open<E extends LegEndpoint>(
    rtp: RtpPortAllocator,
    anchor: MediaAnchorPort,
    ids: AnchorIds,
    log: Logger,
    options: LegOptions<E> = {},
  ): Promise<AnchoredMedia<E>> {
    return new AnchoredMedia(await NegotiatedLeg.bind(rtp, options), anchor, ids, log);
  }

  /** The initial offer/answer through rtpengine: resolves with the SDP for the carrier's 200. */
  answer(carrierOffer: string): Promise<MediaAnswer> {
    return this.enqueue(async () => {
      if (this.releasing) return refuse(500, 'Server Internal Error', 'call ended during setup', false);
      this.anchored = true;
      let internalOffer: string;
      try {
        const r = await this.anchor.offer({ ...this.offerIds(), sdp: carrierOffer });
        if (r.warning) this.log.info({ warning: r.warning }, 'rtpengine offer warning');
        if (r.transcoding) this.log.info('rtpengine transcodes: the carrier offered no codec we decode');
        internalOffer = r.sdp;
      } catch (err) {
        return anchorFailure('offer', err);
      }
      const ours = this.negotiateInternal(internalOffer);
      if (!ours.ok) return refuse(488, 'Not Acceptable Here', ours.reason, false);
      try {
        const r = await this.anchor.answer({ callId: this.ids.callId, fromTag: this.ids.fromTag, toTag: this.ids.toTag, sdp: ours.sdp });
        if (r.warning) this.log.info({ warning: r.warning }, 'rtpengine answer warning');
        this.carrierSdp = r.sdp;
        return { ok: true, sdp: r.sdp };
      } catch (err) {
        return anchorFailure('answer', err);
      }
    });
  }

  /** The re-INVITE hook: rtpengine's answer for the carrier, or null (→ 488). */
  reinvite(offer: string | null): Promise<string | null> {
    if (offer === null) return Promise.resolve(this.carrierSdp);
    return this.enqueue(async () => {
      if (this.releasing || this.lost || this.carrierSdp === null) return null;
      try {
        const r = await this.anchor.offer({ ...this.offerIds(), sdp: offer });
        const ours = this.negotiateInternal(r.sdp);
        if (!ours.ok) {
          this.log.info({ why: ours.reason }, 're-INVITE: no acceptable media on the internal leg');
          return null;
        }
        const a = await this.anchor.answer({ callId: this.ids.callId, fromTag: this.ids.fromTag, toTag: this.ids.toTag, sdp: ours.sdp });
        this.carrierSdp = a.sdp;
        return a.sdp;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 're-INVITE: rtpengine update failed');
        return null;
      }
    });
  }

  /** How long the caller has been silent although it should be sending (media-inactivity timeout). */
  silentForMs(): number {
    return this.endpoint.silentForMs();
  }

  get stats(): Record<string, unknown> & { received: number; sent: number; codec: string | null; anchored: true } {
    return { ...this.endpoint.stats, codec: this.leg.codecLabel, anchored: true };
  }

  /** The codec negotiated on our leg (null before the answer). */
  get negotiatedCodec(): NegotiatedCodec | null {
    return this.leg.negotiatedCodec;
  }

  /** Resolves once every rtpengine command queued so far has settled (re-INVITE updates included). */
  settled(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  /** rtpengine lost this call (it died): nothing to delete there any more. */
  mediaLost(): void {
    this.lost = true;
  }

  /**
   * Closes our endpoint at once and deletes the call in rtpengine once every command queued
   * before has settled. Idempotent; never rejects (a failed delete is logged: rtpengine's own
   * timeouts end what is left).
   */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      this.endpoint.close();
      await this.enqueue(async () => {
        if (!this.anchored || this.lost) return;
        try {
          await this.anchor.delete({ callId: this.ids.callId, fromTag: this.ids.fromTag });
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'rtpengine delete failed; its timeouts will end the session');
        }
      });
    })();
    return this.releasing;
  }

  private offerIds(): { callId: string; fromTag: string; carrierSource?: string; viaBranch?: string } {
    const { callId, fromTag, carrierSource, viaBranch } = this.ids;
    return {
      callId,
      fromTag,
      ...(carrierSource === undefined ? {} : { carrierSource }),
      ...(viaBranch === undefined ? {} : { viaBranch }),
    };
  }

  /** Our endpoint answers rtpengine's internal-leg offer; updates where and whether we send. */
  private negotiateInternal(offer: string): { ok: true; sdp: string } | { ok: false; reason: string } {
    const r = this.leg.answer(offer, INTERNAL_ADDRESS);
    if (!r.ok) return { ok: false, reason: r.reason };
    // rtpengine offers rtcp-mux; without it in our answer it would send RTCP to our port + 1.
    return { ok: true, sdp: offersRtcpMux(offer) ? withRtcpMux(r.answer, r.mediaIndex) : r.answer };
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function refuse(status: number, reason: string, why: string, retryable: boolean): MediaAnswer {
  return { ok: false, status, reason, why, retryable };
}

/** rtpengine down or slow → 503 (the carrier retries elsewhere or later); it refused → 488; else 500. */
function anchorFailure(command: string, err: unknown): MediaAnswer {
  const why = `rtpengine ${command}: ${(err as Error).message}`;
  if (isRetryable(err)) return refuse(503, 'Service Unavailable', why, true);
  if (isRejected(err)) return refuse(488, 'Not Acceptable Here', why, false);
  return refuse(500, 'Server Internal Error', why, false);
}

function offersRtcpMux(sdp: string): boolean {
  return /^a=rtcp-mux\s*$/m.test(sdp);
}

function withRtcpMux(answer: string, mediaIndex: number): string {
  const sd = parseSdp(answer);
  const m = sd.media[mediaIndex];
  if (!m || m.attributes.some((a) => a.name === 'rtcp-mux')) return answer;
  m.attributes.push({ name: 'rtcp-mux', value: null });
  return serializeSdp(sd);
}

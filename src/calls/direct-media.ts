import type { NegotiatedCodec } from '../sdp/index.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';
import { NegotiatedLeg, type LegEndpoint, type LegOptions } from './leg-endpoint.js';

/**
 * A call's media without rtpengine (rtpengine.mode = "off"): our endpoint faces the carrier
 * with plain RTP: an RTP socket from the range, the SDP answer for the caller's offer, and
 * re-INVITE handling (hold stops sending, unhold resumes it, the codec stays).
 */
export class DirectMedia<E extends LegEndpoint = LegEndpoint> {
  private constructor(
    private readonly leg: NegotiatedLeg<E>,
    private readonly sdpAddress: string,
  ) {}

  static async open<E extends LegEndpoint>(rtp: RtpPortAllocator, sdpAddress: string, options: LegOptions<E> = {}): Promise<DirectMedia<E>> {
    return new DirectMedia(await NegotiatedLeg.bind(rtp, options), sdpAddress);
  }

  get endpoint(): E {
    return this.leg.endpoint;
  }

  /** The codec negotiated (null before the answer). */
  get negotiatedCodec(): NegotiatedCodec | null {
    return this.leg.negotiatedCodec;
  }

  /** Our answer to an offer (initial or re-INVITE), or the 488 reason. */
  answer(offer: string): { ok: true; sdp: string } | { ok: false; reason: string } {
    const r = this.leg.answer(offer, this.sdpAddress);
    return r.ok ? { ok: true, sdp: r.answer } : { ok: false, reason: r.reason };
  }

  /** How long the caller has been silent although it should be sending (media-inactivity timeout). */
  silentForMs(): number {
    return this.leg.endpoint.silentForMs();
  }

  get stats(): Record<string, unknown> & { received: number; sent: number; codec: string | null } {
    return { ...this.leg.endpoint.stats, codec: this.leg.codecLabel };
  }

  close(): void {
    this.leg.endpoint.close();
  }
}

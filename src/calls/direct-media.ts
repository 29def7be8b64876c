import { negotiate, LocalSdpSession, type NegotiatedCodec } from '../sdp/index.js';
import type { CodecSpec } from '../sdp/codecs.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';
import { echoLeg, type LegEndpoint, type LegEndpointFactory } from './leg-endpoint.js';

/**
 * A call's media without rtpengine (rtpengine.mode = "off"): our endpoint faces the carrier
 * with plain RTP: an RTP socket from the range, the SDP answer for the caller's offer, and
 * re-INVITE handling (hold stops sending, unhold resumes it, the codec stays).
 */
export class DirectMedia<E extends LegEndpoint = LegEndpoint> {
  private codec: NegotiatedCodec | null = null;
  private readonly session = new LocalSdpSession();

  private constructor(
    readonly endpoint: E,
    private readonly sdpAddress: string,
    private readonly codecs: readonly CodecSpec[] | undefined,
  ) {}

  static async open<E extends LegEndpoint>(
    rtp: RtpPortAllocator,
    sdpAddress: string,
    options: { endpoint?: LegEndpointFactory<E>; codecs?: readonly CodecSpec[] } = {},
  ): Promise<DirectMedia<E>> {
    const bound = await rtp.bind();
    const factory = options.endpoint ?? (echoLeg as unknown as LegEndpointFactory<E>);
    return new DirectMedia(factory(bound), sdpAddress, options.codecs);
  }

  /** The codec negotiated (null before the answer). */
  get negotiatedCodec(): NegotiatedCodec | null {
    return this.codec;
  }

  /** Our answer to an offer (initial or re-INVITE), or the 488 reason. */
  answer(offer: string): { ok: true; sdp: string } | { ok: false; reason: string } {
    const r = negotiate(offer, {
      local: { address: this.sdpAddress, port: this.endpoint.port },
      session: this.session,
      current: this.codec,
      ...(this.codecs ? { codecs: this.codecs } : {}),
    });
    if (!r.ok) return { ok: false, reason: r.reason };
    this.codec = r.codec;
    this.endpoint.apply(r);
    return { ok: true, sdp: r.answer };
  }

  /** How long the caller has been silent although it should be sending (media-inactivity timeout). */
  silentForMs(): number {
    return this.endpoint.silentForMs();
  }

  get stats(): Record<string, unknown> & { received: number; sent: number; codec: string | null } {
    return { ...this.endpoint.stats, codec: this.codec && `${this.codec.name}/${this.codec.clockRate}` };
  }

  close(): void {
    this.endpoint.close();
  }
}

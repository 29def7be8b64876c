import { negotiate, LocalSdpSession, type NegotiatedCodec } from '../sdp/index.js';
import { EchoEndpoint } from '../media/echo-endpoint.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';

/**
 * Media of the diagnostic echo agent: an RTP socket from the range, the SDP answer for the
 * caller's offer, and re-INVITE handling (hold stops the echo, unhold resumes it, the codec
 * stays). Issue 4 moves this behind rtpengine; the SDP side stays the same.
 */
export class EchoMedia {
  private codec: NegotiatedCodec | null = null;
  private readonly session = new LocalSdpSession();

  private constructor(
    private readonly endpoint: EchoEndpoint,
    private readonly sdpAddress: string,
  ) {}

  static async open(rtp: RtpPortAllocator, sdpAddress: string): Promise<EchoMedia> {
    const { socket, port, release } = await rtp.bind();
    return new EchoMedia(new EchoEndpoint(socket, port, release, null), sdpAddress);
  }

  /** Our answer to an offer (initial or re-INVITE), or the 488 reason. */
  answer(offer: string): { ok: true; sdp: string } | { ok: false; reason: string } {
    const r = negotiate(offer, {
      local: { address: this.sdpAddress, port: this.endpoint.port },
      session: this.session,
      current: this.codec,
    });
    if (!r.ok) return { ok: false, reason: r.reason };
    this.codec = r.codec;
    const sending = r.direction === 'sendrecv' || r.direction === 'sendonly';
    const remote = r.remote.address === '0.0.0.0' || r.remote.port === 0 ? null : r.remote;
    this.endpoint.update(remote, sending, r.direction === 'sendrecv' || r.direction === 'recvonly');
    return { ok: true, sdp: r.answer };
  }

  /** How long the caller has been silent although it should be sending (media-inactivity timeout). */
  silentForMs(): number {
    return this.endpoint.silentForMs();
  }

  get stats(): { received: number; sent: number; codec: string | null } {
    return { ...this.endpoint.stats, codec: this.codec && `${this.codec.name}/${this.codec.clockRate}` };
  }

  close(): void {
    this.endpoint.close();
  }
}

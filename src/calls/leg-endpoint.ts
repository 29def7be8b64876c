/**
 * The seam between a call's SDP handling (direct-media.ts, anchored-media.ts) and the endpoint
 * that moves its RTP: the echo (the diagnostic agent) or the RTP endpoint the Realtime bridge
 * feeds. The media classes negotiate; the endpoint applies what was agreed.
 */
import type { Socket } from 'node:dgram';
import { EchoEndpoint } from '../media/echo-endpoint.js';
import { RtpEndpoint, type RtpEndpointOptions } from '../media/rtp-endpoint.js';
import { LocalSdpSession, negotiate, type NegotiatedCodec, type NegotiationResult, type NegotiationSuccess } from '../sdp/index.js';
import type { CodecSpec } from '../sdp/codecs.js';
import type { RtpPortAllocator } from '../media/port-allocator.js';

export interface LegEndpoint {
  readonly port: number;
  /** Applies a successful negotiation (the answer, or a re-INVITE's). */
  apply(negotiated: NegotiationSuccess): void;
  /** How long the far end has been silent although it should be sending. */
  silentForMs(): number;
  close(): void;
  readonly stats: { readonly received: number; readonly sent: number } & Record<string, unknown>;
}

/** A socket bound from the RTP port range. */
export interface BoundSocket {
  readonly socket: Socket;
  readonly port: number;
  readonly release: () => void;
}

export type LegEndpointFactory<E extends LegEndpoint> = (bound: BoundSocket) => E;

/** Where to send, whether we send, whether the far end should: from the negotiated direction. */
export function legDirection(n: NegotiationSuccess): {
  remote: { address: string; port: number } | null;
  sending: boolean;
  receiving: boolean;
} {
  return {
    remote: n.remote.address === '0.0.0.0' || n.remote.port === 0 ? null : n.remote,
    sending: n.direction === 'sendrecv' || n.direction === 'sendonly',
    receiving: n.direction === 'sendrecv' || n.direction === 'recvonly',
  };
}

/** The echo agent's endpoint. */
export class EchoLeg implements LegEndpoint {
  constructor(private readonly echo: EchoEndpoint) {}
  get port(): number {
    return this.echo.port;
  }
  apply(n: NegotiationSuccess): void {
    const d = legDirection(n);
    this.echo.update(d.remote, d.sending, d.receiving);
  }
  silentForMs(): number {
    return this.echo.silentForMs();
  }
  close(): void {
    this.echo.close();
  }
  get stats(): { received: number; sent: number } {
    return { ...this.echo.stats };
  }
}

export const echoLeg: LegEndpointFactory<EchoLeg> = ({ socket, port, release }) =>
  new EchoLeg(new EchoEndpoint(socket, port, release, null));

/** The Realtime bridge's endpoint: reorder buffer in, paced frames out, DTMF both ways. */
export class RealtimeLeg implements LegEndpoint {
  constructor(readonly rtp: RtpEndpoint) {}
  get port(): number {
    return this.rtp.port;
  }
  apply(n: NegotiationSuccess): void {
    const d = legDirection(n);
    this.rtp.configure({
      payloadType: n.codec.payloadType,
      clockRate: n.codec.clockRate,
      timestampPerFrame: (n.codec.clockRate * 20) / 1000,
      dtmfPayloadType: n.dtmfPayloadType,
      dtmfClockRate: n.dtmfClockRate,
      ...d,
    });
  }
  silentForMs(): number {
    return this.rtp.silentForMs();
  }
  close(): void {
    this.rtp.close();
  }
  get stats(): { received: number; sent: number } & Record<string, unknown> {
    return { ...this.rtp.stats };
  }
}

export function realtimeLeg(options: RtpEndpointOptions): LegEndpointFactory<RealtimeLeg> {
  return ({ socket, port, release }) => new RealtimeLeg(new RtpEndpoint(socket, port, release, options));
}

export interface LegOptions<E extends LegEndpoint> {
  /** Builds the endpoint on the bound socket; default the echo. */
  readonly endpoint?: LegEndpointFactory<E>;
  /** What our endpoint accepts; default every codec the SDP layer knows. */
  readonly codecs?: readonly CodecSpec[];
}

/**
 * Our side of the SDP for one endpoint: its socket from the RTP range, this dialog's o= session,
 * the codec in use (kept across re-INVITEs), and the codecs it accepts. Shared by the direct and
 * the rtpengine-anchored media of a call.
 */
export class NegotiatedLeg<E extends LegEndpoint> {
  private codec: NegotiatedCodec | null = null;
  private readonly session = new LocalSdpSession();

  private constructor(
    readonly endpoint: E,
    private readonly codecs: readonly CodecSpec[] | undefined,
  ) {}

  static async bind<E extends LegEndpoint>(rtp: RtpPortAllocator, options: LegOptions<E> = {}): Promise<NegotiatedLeg<E>> {
    const bound = await rtp.bind();
    const factory = options.endpoint ?? (echoLeg as unknown as LegEndpointFactory<E>);
    return new NegotiatedLeg(factory(bound), options.codecs);
  }

  /** The codec negotiated (null before the first answer). */
  get negotiatedCodec(): NegotiatedCodec | null {
    return this.codec;
  }

  /** "PCMU/8000" style, for stats and logs. */
  get codecLabel(): string | null {
    return this.codec && `${this.codec.name}/${this.codec.clockRate}`;
  }

  /** Answers an offer with our endpoint at `address`; on success the endpoint applies it. */
  answer(offer: string, address: string): NegotiationResult {
    const r = negotiate(offer, {
      local: { address, port: this.endpoint.port },
      session: this.session,
      current: this.codec,
      ...(this.codecs ? { codecs: this.codecs } : {}),
    });
    if (r.ok) {
      this.codec = r.codec;
      this.endpoint.apply(r);
    }
    return r;
  }
}

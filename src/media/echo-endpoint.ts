import type { Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

/**
 * The diagnostic echo agent's media: every RTP packet the caller sends comes straight back, the
 * equivalent of Asterisk's Echo() that operators use to test a trunk. The reply goes to the
 * address the packets actually come from (symmetric RTP, so callers behind NAT hear it), with our
 * own SSRC. On hold (a=sendonly/inactive from the caller) nothing is sent. Behind rtpengine the
 * socket is on 127.0.0.1 and "the caller" is rtpengine's internal leg.
 */
export class EchoEndpoint {
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private latched: { address: string; port: number } | undefined;
  private sending = true;
  /** Whether the caller is meant to send (not on inactive/recvonly hold): silence then means a dead call. */
  private receiving = true;
  private lastHeardAt: number;
  private closed = false;
  /** `foreignDropped`: packets from a source other than the latched one (not echoed). */
  readonly stats = { received: 0, sent: 0, foreignDropped: 0 };

  constructor(
    private readonly socket: Socket,
    readonly port: number,
    private readonly release: () => void,
    /** Where the SDP said to send, used until the first packet arrives. */
    private remote: { address: string; port: number } | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastHeardAt = now();
    socket.on('message', (packet, rinfo) => this.onPacket(packet, rinfo));
    socket.on('error', () => this.close());
  }

  /**
   * New SDP (answer or re-INVITE): the remote address, whether we may send, and whether the
   * caller is expected to send (false on hold with a=inactive or a=recvonly from the caller).
   */
  update(remote: { address: string; port: number } | null, sending: boolean, receiving: boolean): void {
    if (remote && (remote.address !== this.remote?.address || remote.port !== this.remote?.port)) {
      this.remote = remote;
      this.latched = undefined;
    }
    this.sending = sending;
    if (receiving && !this.receiving) this.lastHeardAt = this.now();
    this.receiving = receiving;
  }

  /** How long the caller has been silent although it should be sending; 0 while it need not send. */
  silentForMs(): number {
    return this.receiving && !this.closed ? this.now() - this.lastHeardAt : 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private onPacket(packet: Buffer, rinfo: { address: string; port: number }): void {
    if (this.closed || packet.length < 12 || packet[0]! >> 6 !== 2) return;
    // RTCP multiplexed on this port (RFC 5761 §4: second byte 192–223) is not media: echoing it
    // back with our SSRC written over its NTP timestamp would only confuse the far end.
    if (packet[1]! >= 192 && packet[1]! <= 223) return;
    // Latched on the first packet's source; anyone else who learns the port is not echoed (with
    // rtpengine.mode = "off" this socket faces the carrier side).
    const latched = this.latched;
    if (latched === undefined) this.latched = { address: rinfo.address, port: rinfo.port };
    else if (latched.port !== rinfo.port || latched.address !== rinfo.address) {
      this.stats.foreignDropped++;
      return;
    }
    this.stats.received++;
    this.lastHeardAt = this.now();
    if (!this.sending) return;
    const target = this.latched ?? this.remote;
    if (!target) return;
    packet.writeUInt32BE(this.ssrc, 8);
    this.socket.send(packet, target.port, target.address);
    this.stats.sent++;
  }
}

/**
 * The daemon's own RTP endpoint for one call: the one place in media that owns a UDP socket.
 * Behind rtpengine it sits on 127.0.0.1 and "the far end" is rtpengine's internal leg; without
 * rtpengine it faces the carrier directly (symmetric RTP latching covers callers behind NAT).
 * Once latched to a source, packets from any other source are dropped and counted
 * (`foreignDropped`) until a re-INVITE names a new remote.
 *
 *   inbound:  datagram → parseRtp → RFC 3550 stats → telephone-event? → DtmfReceiver → sink.onDtmf
 *                                                  → audio → ReorderBuffer → sink.onFrame
 *   outbound: enqueue(encoded 20 ms frame) → Pacer ─(shared FrameClock tick)→ RTP → sink.onSent
 *
 * Inbound packets are handed on the moment they are next in sequence (see reorder-buffer.ts): a
 * speech model needs audio in order, not on a clock, and what is held here is reply latency.
 * The frame tick gives up a gap lost for good (silence as long as the gap), and keeps feeding silence
 * while a caller who should be sending sends nothing (silence suppression), so the model's
 * voice activity detection sees the turn end.
 *
 * Outbound frames leave on the process-wide FrameClock (one timer for every call), so the
 * model's bursty deltas become a steady 50 packets a second with continuous timestamps;
 * `flush()` drops the queue at once for barge-in.
 *
 * No codec work here: the endpoint moves encoded payloads. Decoding, resampling and encoding are
 * the bridge's (audio-path.ts), which keeps this class about packets and time.
 */
import type { Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { FrameClock } from './frame-clock.js';
import { ReorderBuffer, type ReorderBufferStats, type ReorderFrame } from './reorder-buffer.js';
import { Pacer, type PacedPacket, type PacerStats } from './pacer.js';
import { DtmfReceiver, dtmfPackets, type DtmfPress } from './dtmf.js';
import { isRtcp, parseRtp, writeRtp } from './rtp/packet.js';
import { RtpReceiverStats, type RtpReceiverStatsJSON } from './rtp/stats.js';

/** What was negotiated for this leg (from the SDP answer). */
export interface RtpLegConfig {
  /** The audio codec's payload type (the offer's number). */
  readonly payloadType: number;
  readonly clockRate: number;
  /** RTP timestamp units per 20 ms frame (160 for G.711/G.722, 960 for Opus). */
  readonly timestampPerFrame: number;
  /** telephone-event payload type, or null when DTMF was not negotiated. */
  readonly dtmfPayloadType: number | null;
  readonly dtmfClockRate: number | null;
  /** Where to send until the first packet arrives (then: where packets come from). */
  readonly remote: { readonly address: string; readonly port: number } | null;
  /** False on hold (a=sendonly/inactive from us): nothing is sent, frames stay queued. */
  readonly sending: boolean;
  /** False when the far end is not meant to send (a=inactive, recvonly): no silence fill. */
  readonly receiving: boolean;
}

/** One inbound packet's audio, in sequence order; `payload` null for silence (write zeros). */
export interface InboundFrame {
  readonly kind: ReorderFrame['kind'];
  readonly payload: Uint8Array | null;
  /** For silence: how many samples at the RTP clock rate it stands for. */
  readonly samples?: number;
  /** Monotonic time the packet arrived (audio), or the time the frame was made up (silence). */
  readonly arrivalMs: number;
}

export interface RtpEndpointSink {
  onFrame(frame: InboundFrame): void;
  onDtmf?(press: DtmfPress): void;
  /** A packet left on the wire (`sentMs` on the monotonic clock). */
  onSent?(packet: PacedPacket, sentMs: number): void;
  /** Called on every frame tick before the due frames are taken: the moment to queue more. */
  beforeSend?(nowMs: number): void;
}

/**
 * A read-only tap on the audio (a call's recording): frames as delivered to the sink, packets as
 * they left. It must not block: it is called on the packet and tick paths.
 */
export interface RtpTap {
  inbound(frame: InboundFrame): void;
  outbound(payloadType: number, payload: Uint8Array, dueMs: number): void;
}

export interface RtpEndpointOptions {
  readonly frameClock: FrameClock;
  /** Monotonic milliseconds; default performance.now. */
  readonly now?: () => number;
  /** Reorder window: how long a later packet waits for a missing one. Default 40. */
  readonly reorderMs?: number;
  /** Feed silence after this long without a frame while the far end should send. Default 100. */
  readonly silenceFillAfterMs?: number;
}

export interface RtpEndpointStats {
  received: number;
  sent: number;
  /** Datagrams that were not RTP (garbage, or RTCP muxed on the port). */
  ignored: number;
  /** Datagrams from a source other than the latched one (dropped: spoofed or stray). */
  foreignDropped: number;
  rtp: RtpReceiverStatsJSON | null;
  reorder: ReorderBufferStats | null;
  pacer: PacerStats | null;
  dtmfReceived: number;
  dtmfSent: number;
  silenceFilled: number;
}

export class RtpEndpoint {
  private readonly ssrc = randomInt(0, 0x1_0000_0000);
  private readonly now: () => number;
  private leg: RtpLegConfig | null = null;
  private latched: { address: string; port: number } | undefined;
  private reorder: ReorderBuffer | null = null;
  private rtpStats: RtpReceiverStats | null = null;
  private pacer: Pacer | null = null;
  private readonly dtmf = new DtmfReceiver();
  private sink: RtpEndpointSink | null = null;
  private tap: RtpTap | null = null;
  private detachClock: (() => void) | null = null;
  private lastHeardAt: number;
  private lastFrameAt: number | null = null;
  private closed = false;
  private readonly counters = { received: 0, sent: 0, ignored: 0, foreignDropped: 0, dtmfSent: 0, silenceFilled: 0 };

  constructor(
    private readonly socket: Socket,
    readonly port: number,
    private readonly release: () => void,
    private readonly options: RtpEndpointOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.lastHeardAt = this.now();
    socket.on('message', (packet, rinfo) => this.onDatagram(packet, rinfo));
    socket.on('error', () => this.close());
  }

  /** Where inbound frames, key presses and sent packets are reported. */
  setSink(sink: RtpEndpointSink): void {
    this.sink = sink;
  }

  /** Attaches (or with null, detaches) a tap on both directions of audio. */
  setTap(tap: RtpTap | null): void {
    this.tap = tap;
  }

  /**
   * Applies a negotiated leg (the answer, or a re-INVITE's). A new codec starts a new jitter
   * buffer and pacer; hold/unhold and a new remote address keep them.
   */
  configure(leg: RtpLegConfig): void {
    const prev = this.leg;
    const codecChanged = prev === null || prev.payloadType !== leg.payloadType || prev.timestampPerFrame !== leg.timestampPerFrame;
    if (leg.remote && (leg.remote.address !== prev?.remote?.address || leg.remote.port !== prev?.remote?.port)) this.latched = undefined;
    if (leg.receiving && !(prev?.receiving ?? true)) this.lastHeardAt = this.now();
    this.leg = leg;
    if (codecChanged) {
      this.reorder = new ReorderBuffer({ clockRate: leg.clockRate, reorderMs: this.options.reorderMs ?? 40 });
      this.rtpStats = new RtpReceiverStats(leg.clockRate);
      const previous = this.pacer;
      this.pacer = new Pacer({
        ssrc: this.ssrc,
        payloadType: leg.payloadType,
        timestampPerFrame: leg.timestampPerFrame,
        startMs: this.options.frameClock.nextTickAt(),
        frameMs: this.options.frameClock.frameMs,
      });
      previous?.flush();
    }
    this.detachClock ??= this.options.frameClock.add((nowMs) => this.onTick(nowMs));
  }

  /** Queues one encoded 20 ms frame for the paced output; `tag` comes back in `onSent`. */
  enqueue(payload: Uint8Array, tag?: string): void {
    this.pacer?.enqueue(payload, tag);
  }

  /** Drops every queued frame at once (barge-in). Returns how many. */
  flush(): number {
    return this.pacer?.flush() ?? 0;
  }

  /** Drops the queued frames carrying `tag` (see Pacer.dropTagged). */
  dropTagged(tag: string): number {
    return this.pacer?.dropTagged(tag) ?? 0;
  }

  get queuedFrames(): number {
    return this.pacer?.queuedFrames ?? 0;
  }

  /** Sends one key press as RFC 4733 events in the audio's place. False when DTMF was not negotiated. */
  sendDtmf(digit: string, durationMs = 100): boolean {
    const leg = this.leg;
    if (!leg || leg.dtmfPayloadType === null || !this.pacer) return false;
    const packets = dtmfPackets(digit, {
      timestamp: 0, // the pacer stamps the event with its first slot's timestamp
      durationMs,
      updateIntervalMs: this.options.frameClock.frameMs,
      clockRate: leg.dtmfClockRate ?? 8000,
    });
    this.pacer.enqueueEvent(
      packets.map((p) => p.payload),
      leg.dtmfPayloadType,
    );
    this.counters.dtmfSent++;
    return true;
  }

  /** How long the far end has been silent although it should be sending (media-inactivity timeout). */
  silentForMs(): number {
    return (this.leg?.receiving ?? true) && !this.closed ? this.now() - this.lastHeardAt : 0;
  }

  get stats(): RtpEndpointStats {
    return {
      received: this.counters.received,
      sent: this.counters.sent,
      ignored: this.counters.ignored,
      foreignDropped: this.counters.foreignDropped,
      rtp: this.rtpStats?.toJSON() ?? null,
      reorder: this.reorder?.toJSON() ?? null,
      pacer: this.pacer?.toJSON() ?? null,
      dtmfReceived: this.dtmf.presses,
      dtmfSent: this.counters.dtmfSent,
      silenceFilled: this.counters.silenceFilled,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tap = null;
    this.detachClock?.();
    this.detachClock = null;
    this.pacer?.flush();
    this.release();
  }

  private onDatagram(buf: Buffer, rinfo: { address: string; port: number }): void {
    if (this.closed) return;
    const leg = this.leg;
    const packet = isRtcp(buf) ? null : parseRtp(buf);
    if (packet === null || leg === null) {
      this.counters.ignored++;
      return;
    }
    // Latching: the first RTP packet fixes the source; from then on only that source is heard.
    // Anyone else who learns the port (with rtpengine.mode = "off" it faces the carrier side)
    // could otherwise inject audio into the call, to the model.
    const latched = this.latched;
    if (latched === undefined) this.latched = { address: rinfo.address, port: rinfo.port };
    else if (latched.port !== rinfo.port || latched.address !== rinfo.address) {
      this.counters.foreignDropped++;
      return;
    }
    const arrivalMs = this.now();
    this.counters.received++;
    this.lastHeardAt = arrivalMs;
    if (packet.payloadType === leg.dtmfPayloadType) {
      const press = this.dtmf.push(packet);
      if (press !== null) this.sink?.onDtmf?.(press);
      return;
    }
    if (packet.payloadType !== leg.payloadType) {
      // Comfort noise (13) or a codec we did not negotiate: not audio for the model.
      this.counters.ignored++;
      return;
    }
    this.rtpStats!.record(packet, arrivalMs);
    const reorder = this.reorder!;
    reorder.push(packet, arrivalMs);
    this.drain(reorder, arrivalMs);
  }

  private drain(reorder: ReorderBuffer, atMs: number): void {
    for (let f = reorder.takeReady(); f !== null; f = reorder.takeReady()) this.deliver(f, atMs);
  }

  private deliver(frame: ReorderFrame, atMs: number): void {
    this.lastFrameAt = atMs;
    const inbound: InboundFrame = frame.kind === 'silence' ? { kind: 'silence', payload: null, samples: frame.samples, arrivalMs: atMs } : { kind: 'audio', payload: frame.payload, arrivalMs: atMs };
    this.sink?.onFrame(inbound);
    this.tap?.inbound(inbound);
  }

  /** The shared 20 ms tick: paced output, lost-slot concealment, silence fill. */
  private onTick(nowMs: number): void {
    const leg = this.leg;
    const pacer = this.pacer;
    if (this.closed || leg === null || pacer === null) return;
    this.sink?.beforeSend?.(nowMs);
    const packets = pacer.take(nowMs);
    const target = this.latched ?? leg.remote;
    for (const p of packets) {
      if (!leg.sending || target === null) continue;
      this.socket.send(writeRtp(p), target.port, target.address);
      this.counters.sent++;
      this.sink?.onSent?.(p, nowMs);
      // The slot's due time, not the (possibly late) tick: a catch-up burst keeps its spacing.
      this.tap?.outbound(p.payloadType, p.payload, p.dueMs);
    }
    const reorder = this.reorder!;
    const concealed = reorder.takeOverdue(nowMs);
    for (const f of concealed) this.deliver(f, nowMs);
    if (concealed.length > 0) this.drain(reorder, nowMs);
    const fillAfter = this.options.silenceFillAfterMs ?? 100;
    if (leg.receiving && this.lastFrameAt !== null && nowMs - this.lastFrameAt >= fillAfter && reorder.heldPackets === 0) {
      this.counters.silenceFilled++;
      // lastFrameAt moves by one frame, so exactly one silence frame goes per tick.
      const fill: InboundFrame = { kind: 'silence', payload: null, arrivalMs: nowMs };
      this.sink?.onFrame(fill);
      this.tap?.inbound(fill);
      this.lastFrameAt = nowMs - fillAfter + this.options.frameClock.frameMs;
    }
  }
}

/**
 * The inbound reorder/jitter buffer, sized for feeding a speech model rather than a human ear:
 * small depth, and it never stalls. It is a pure processor in the werift style: `push(packet,
 * arrivalMs)` when a packet arrives, `pop(nowMs)` once per 20 ms frame tick (driven by the
 * shared FrameClock), and `toJSON()` for statistics. No sockets, no timers.
 *
 * It holds encoded payloads, not PCM: decoding happens after the buffer, in playout order,
 * because stateful decoders (G.722's ADPCM) must see frames in order exactly once.
 *
 * Timeline. A packet's place is its *slot*: (timestamp - base) / samples-per-frame. Slots are
 * played one per tick. Once playing, every pop returns exactly one frame:
 * - the packet of the slot, if it arrived ("audio");
 * - otherwise a concealment frame: the last payload again ("repeat", at most `maxRepeatFrames`
 *   in a row, and only when configured) or silence ("silence", payload null: the consumer
 *   writes a frame of zeros).
 * When the slot is missing but later packets are waiting, that slot is lost: conceal and move
 * on. When nothing at all is waiting (underflow: network jitter or a sender pause), conceal but
 * hold the slot, which adds one frame of delay; the shrink rule takes it back out.
 *
 * Depth. `depth` is how many slots lie between playout and the newest packet. The target depth
 * is `minDepthMs` (fixed mode) or `minDepthMs + 3 × interarrival jitter`, capped by
 * `maxDepthMs` (adaptive mode). If the smallest depth seen over a window (`shrinkWindowMs`) is
 * above target, one frame is dropped; a depth above `maxDepthMs` (a burst after a stall, a
 * sender whose clock runs fast) is cut straight back to target.
 *
 * A loss burst that empties the buffer looks exactly like delay until the next packet comes, so
 * it costs the held frames as extra delay for a while: the price of never dropping a packet
 * that was only late. A talkspurt that starts on an empty buffer (marker bit, or a timestamp
 * far ahead after a pause) gets the full target margin back before it plays.
 *
 * Anomalies: duplicates and late packets (their slot already played) are dropped and counted;
 * 16-bit sequence and 32-bit timestamp wraps are unwrapped; an SSRC change starts a new
 * timeline (sequence and timestamp state reset) that plays after what is already buffered;
 * a big timestamp jump resyncs it, at once when the packet follows the newest one in sequence
 * (a sender that jumped its timestamp) or when the buffer was empty (a new talkspurt after a
 * pause), and otherwise only when a second packet confirms the jump (a lone stray is dropped).
 */
import { SequenceUnwrapper, TimestampUnwrapper } from './rtp/sequence.js';

export type ConcealmentMode = 'silence' | 'repeat';

export interface JitterBufferOptions {
  /** RTP clock rate of the stream (8000 for PCMU, PCMA and G.722). */
  readonly clockRate: number;
  /** Frame (and packet) duration; default 20. Packets are expected to carry one frame each. */
  readonly frameMs?: number;
  /** Depth to prime before playing, and the fixed depth; default 40. */
  readonly minDepthMs?: number;
  /** Upper bound of the depth; default 200. */
  readonly maxDepthMs?: number;
  /** Adapt the target depth to the measured jitter; default true. */
  readonly adaptive?: boolean;
  /** How a missing frame is concealed; default 'silence'. */
  readonly concealment?: ConcealmentMode;
  /** At most this many repeats in a row, then silence; default 3. */
  readonly maxRepeatFrames?: number;
  /** Window over which excess depth must persist before a frame is dropped; default 1000. */
  readonly shrinkWindowMs?: number;
}

/**
 * What the buffer needs of a packet (an `RtpPacket` fits). Feed it audio only: the endpoint
 * routes telephone-events (dtmf.ts) elsewhere by payload type.
 */
export interface JitterInput {
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly payloadType: number;
  readonly payload: Uint8Array;
  /** The RTP marker: the first packet of a talkspurt gets the full margin back. */
  readonly marker?: boolean;
}

export type JitterFrame =
  | {
      readonly kind: 'audio';
      readonly payload: Uint8Array;
      readonly payloadType: number;
      readonly timestamp: number;
      readonly sequenceNumber: number;
    }
  | { readonly kind: 'repeat'; readonly payload: Uint8Array; readonly payloadType: number }
  | { readonly kind: 'silence'; readonly payload: null };

export interface JitterBufferStats {
  state: 'idle' | 'priming' | 'playing';
  ssrc: number | null;
  received: number;
  played: number;
  concealed: number;
  /** Slots concealed because their packet never arrived while later ones did. */
  lost: number;
  /** Pops that found the buffer empty (jitter or sender pause). */
  underflows: number;
  late: number;
  duplicates: number;
  /** Packets dropped to bring the depth back to target. */
  discarded: number;
  /** Lone packets far outside the timeline, dropped. */
  outOfWindow: number;
  resyncs: number;
  ssrcChanges: number;
  depthMs: number;
  targetDepthMs: number;
  jitterMs: number;
}

interface Entry {
  readonly extSeq: number;
  readonly packet: JitterInput;
}

const SEEN_RING = 256;

export class JitterBuffer {
  private readonly frameMs: number;
  private readonly frameTs: number;
  private readonly minFrames: number;
  private readonly maxFrames: number;
  private readonly adaptive: boolean;
  private readonly concealment: ConcealmentMode;
  private readonly maxRepeat: number;
  private readonly shrinkTicks: number;
  /** Slots beyond which a packet is a timeline jump rather than early or late. */
  private readonly jumpFrames: number;

  private state: 'idle' | 'priming' | 'playing' = 'idle';
  private ssrc: number | null = null;
  private readonly seqs = new SequenceUnwrapper();
  private readonly tss = new TimestampUnwrapper();
  private baseTs = 0;
  private readonly buffer = new Map<number, Entry>();
  private nextSlot = 0;
  private highestSlot = -1;
  private highestExtSeq: number | null = null;
  private pendingJumpSeq: number | null = null;
  private primeUntilMs = 0;
  private readonly seen = new Float64Array(SEEN_RING).fill(NaN);
  private last: JitterInput | null = null;
  private repeats = 0;
  private windowMin = Infinity;
  private windowTicks = 0;
  private jitterMs = 0;
  private lastTransitMs: number | null = null;

  private readonly counters = {
    received: 0,
    played: 0,
    concealed: 0,
    lost: 0,
    underflows: 0,
    late: 0,
    duplicates: 0,
    discarded: 0,
    outOfWindow: 0,
    resyncs: 0,
    ssrcChanges: 0,
  };

  constructor(options: JitterBufferOptions) {
    const { clockRate } = options;
    const frameMs = options.frameMs ?? 20;
    const minDepthMs = options.minDepthMs ?? 40;
    const maxDepthMs = options.maxDepthMs ?? 200;
    if (!Number.isInteger(clockRate) || clockRate <= 0)
      throw new TypeError(`clockRate must be a positive integer, got ${clockRate}`);
    if (!(frameMs > 0) || !Number.isInteger((clockRate * frameMs) / 1000))
      throw new TypeError(`frameMs must give a whole number of samples at ${clockRate} Hz, got ${frameMs}`);
    if (!(minDepthMs >= 0) || !(maxDepthMs >= minDepthMs))
      throw new TypeError(`need 0 <= minDepthMs <= maxDepthMs, got ${minDepthMs} and ${maxDepthMs}`);
    const maxRepeat = options.maxRepeatFrames ?? 3;
    if (!Number.isInteger(maxRepeat) || maxRepeat < 0)
      throw new TypeError(`maxRepeatFrames must be an integer >= 0, got ${maxRepeat}`);
    const concealment = options.concealment ?? 'silence';
    if (concealment !== 'silence' && concealment !== 'repeat')
      throw new TypeError(`concealment must be 'silence' or 'repeat', got ${String(concealment)}`);
    this.frameMs = frameMs;
    this.frameTs = (clockRate * frameMs) / 1000;
    this.minFrames = Math.ceil(minDepthMs / frameMs);
    this.maxFrames = Math.max(this.minFrames, Math.floor(maxDepthMs / frameMs));
    this.adaptive = options.adaptive ?? true;
    this.concealment = concealment;
    this.maxRepeat = maxRepeat;
    this.shrinkTicks = Math.max(1, Math.round((options.shrinkWindowMs ?? 1000) / frameMs));
    this.jumpFrames = Math.max(50, 2 * this.maxFrames);
  }

  /** The depth the buffer steers towards, in frames. */
  private get targetFrames(): number {
    if (!this.adaptive) return this.minFrames;
    const wanted = Math.ceil((this.minFrames * this.frameMs + 3 * this.jitterMs) / this.frameMs);
    return Math.min(this.maxFrames, Math.max(this.minFrames, wanted));
  }

  private get depthFrames(): number {
    return this.buffer.size === 0 ? 0 : Math.max(0, this.highestSlot - this.nextSlot + 1);
  }

  /** Takes one received packet. `arrivalMs` is on the same monotonic clock as `pop`. */
  push(packet: JitterInput, arrivalMs: number): void {
    this.counters.received++;
    if (packet.ssrc !== this.ssrc) {
      if (this.ssrc !== null) this.counters.ssrcChanges++;
      this.ssrc = packet.ssrc;
      this.startTimeline(packet, arrivalMs, true);
      return;
    }
    if (this.state === 'idle') {
      this.startTimeline(packet, arrivalMs, true);
      return;
    }
    const extSeq = this.seqs.peek(packet.sequenceNumber);
    if (this.wasSeen(extSeq)) {
      this.counters.duplicates++;
      return;
    }
    const slot = this.slotOf(this.tss.peek(packet.timestamp));
    const ahead = slot - this.nextSlot;
    if (ahead < 0 && -ahead <= this.jumpFrames) {
      if (this.state === 'priming') {
        // Reordered packets before the first one received: start playout earlier.
        this.nextSlot = slot;
        this.accept(packet, slot, arrivalMs);
      } else {
        this.counters.late++;
        this.markSeen(extSeq);
      }
      return;
    }
    if (ahead >= this.jumpFrames || ahead < 0) {
      this.jump(packet, extSeq, arrivalMs);
      return;
    }
    if (packet.marker === true && this.state === 'playing' && this.buffer.size === 0 && ahead < this.targetFrames) {
      // A talkspurt starts (RFC 3551 §4.1) on an empty buffer: step playout back so it gets
      // the full target margin; the slots in between are silence anyway.
      this.nextSlot = slot - this.targetFrames;
    }
    this.accept(packet, slot, arrivalMs);
  }

  /**
   * Called once per frame tick. Returns null before the first packet and while priming; once
   * playing, always one frame.
   */
  pop(nowMs: number): JitterFrame | null {
    if (this.state === 'idle') return null;
    if (this.state === 'priming') {
      if (nowMs < this.primeUntilMs) return null;
      this.state = 'playing';
    }
    let frame: JitterFrame;
    const entry = this.buffer.get(this.nextSlot);
    if (entry !== undefined) {
      this.buffer.delete(this.nextSlot);
      this.nextSlot++;
      this.last = entry.packet;
      this.repeats = 0;
      this.counters.played++;
      frame = {
        kind: 'audio',
        payload: entry.packet.payload,
        payloadType: entry.packet.payloadType,
        timestamp: entry.packet.timestamp,
        sequenceNumber: entry.packet.sequenceNumber,
      };
    } else {
      frame = this.conceal();
      if (this.buffer.size > 0) {
        this.counters.lost++;
        this.nextSlot++;
      } else {
        // Underflow: hold the slot (adds a frame of delay) so a packet that is merely late
        // still plays instead of being dropped.
        this.counters.underflows++;
      }
    }
    this.shrinkIfDeep();
    return frame;
  }

  /** Forgets everything, as if newly created (counters are kept). */
  reset(): void {
    this.state = 'idle';
    this.ssrc = null;
    this.dropBuffered();
    this.seqs.reset();
    this.tss.reset();
    this.highestExtSeq = null;
    this.pendingJumpSeq = null;
    this.last = null;
    this.lastTransitMs = null;
    this.jitterMs = 0;
    this.seen.fill(NaN);
  }

  get bufferedFrames(): number {
    return this.buffer.size;
  }

  toJSON(): JitterBufferStats {
    return {
      ...this.counters,
      state: this.state,
      ssrc: this.ssrc,
      depthMs: this.depthFrames * this.frameMs,
      targetDepthMs: this.targetFrames * this.frameMs,
      jitterMs: this.jitterMs,
    };
  }

  /**
   * (Re)starts the timeline at `packet`. Idle: prime for the target depth. Playing: frames
   * already buffered still play; the packet goes after them, and at least `target` slots
   * ahead of playout so the silence before it gives it its jitter margin.
   */
  private startTimeline(packet: JitterInput, arrivalMs: number, fresh: boolean): void {
    if (this.state !== 'idle' || !fresh) this.counters.resyncs++;
    this.seqs.reset();
    this.tss.reset();
    this.seen.fill(NaN);
    this.highestExtSeq = null;
    this.pendingJumpSeq = null;
    this.last = null;
    this.lastTransitMs = null;
    const extTs = this.tss.unwrap(packet.timestamp);
    if (this.state === 'idle') {
      this.state = 'priming';
      this.primeUntilMs = arrivalMs + this.targetFrames * this.frameMs;
      this.baseTs = extTs;
      this.nextSlot = 0;
      this.highestSlot = -1;
    } else {
      const slot = Math.max(this.nextSlot + this.targetFrames, this.buffer.size > 0 ? this.highestSlot + 1 : -Infinity);
      this.baseTs = extTs - slot * this.frameTs;
      if (this.buffer.size === 0) this.highestSlot = this.nextSlot - 1;
    }
    this.accept(packet, this.slotOf(extTs), arrivalMs);
  }

  private jump(packet: JitterInput, extSeq: number, arrivalMs: number): void {
    if (this.buffer.size === 0) {
      // Nothing waiting (a pause, DTX): start over with a full margin.
      this.startTimeline(packet, arrivalMs, false);
      return;
    }
    const follows = this.highestExtSeq !== null && extSeq === this.highestExtSeq + 1;
    if (follows) {
      // The sender jumped its timestamp mid-stream: continue right after the newest packet.
      this.counters.resyncs++;
      this.tss.reset();
      const extTs = this.tss.unwrap(packet.timestamp);
      const slot = Math.max(this.highestSlot + 1, this.nextSlot);
      this.baseTs = extTs - slot * this.frameTs;
      this.accept(packet, slot, arrivalMs);
      return;
    }
    if (this.pendingJumpSeq !== null && extSeq === this.pendingJumpSeq + 1) {
      this.startTimeline(packet, arrivalMs, false);
      return;
    }
    this.pendingJumpSeq = extSeq;
    this.counters.outOfWindow++;
  }

  private accept(packet: JitterInput, slot: number, arrivalMs: number): void {
    const extSeq = this.seqs.unwrap(packet.sequenceNumber);
    this.tss.unwrap(packet.timestamp);
    this.markSeen(extSeq);
    this.pendingJumpSeq = null;
    if (this.highestExtSeq === null || extSeq > this.highestExtSeq) this.highestExtSeq = extSeq;
    if (this.buffer.has(slot)) {
      // Same timestamp, different sequence number: a sender bug; keep the first.
      this.counters.duplicates++;
      return;
    }
    this.buffer.set(slot, { extSeq, packet });
    if (slot > this.highestSlot) this.highestSlot = slot;
    this.updateJitter(slot, arrivalMs);
    // Measured before this tick's pop, so one more than the depth left after it.
    if (this.depthFrames > this.maxFrames + 1) this.trimTo(this.targetFrames + 1);
  }

  /** RFC 3550 A.8-style jitter in ms, from the slot's nominal time against arrival time. */
  private updateJitter(slot: number, arrivalMs: number): void {
    const transit = arrivalMs - slot * this.frameMs;
    if (this.lastTransitMs !== null) {
      const d = Math.abs(transit - this.lastTransitMs);
      // A resync makes one huge difference that says nothing about the network.
      if (d < this.jumpFrames * this.frameMs) this.jitterMs += (d - this.jitterMs) / 16;
    }
    this.lastTransitMs = transit;
  }

  private conceal(): JitterFrame {
    this.counters.concealed++;
    if (this.concealment === 'repeat' && this.last !== null && this.repeats < this.maxRepeat) {
      this.repeats++;
      return { kind: 'repeat', payload: this.last.payload, payloadType: this.last.payloadType };
    }
    return { kind: 'silence', payload: null };
  }

  private shrinkIfDeep(): void {
    const depth = this.depthFrames;
    if (depth < this.windowMin) this.windowMin = depth;
    if (++this.windowTicks < this.shrinkTicks) return;
    if (this.windowMin > this.targetFrames) this.trimTo(this.depthFrames - 1);
    this.windowMin = Infinity;
    this.windowTicks = 0;
  }

  /** Moves playout forward until at most `frames` slots remain ahead of it. */
  private trimTo(frames: number): void {
    const target = Math.max(0, frames);
    while (this.highestSlot - this.nextSlot + 1 > target) {
      if (this.buffer.delete(this.nextSlot)) this.counters.discarded++;
      this.nextSlot++;
    }
  }

  private dropBuffered(): void {
    this.buffer.clear();
  }

  private slotOf(extTs: number): number {
    return Math.round((extTs - this.baseTs) / this.frameTs);
  }

  private markSeen(extSeq: number): void {
    this.seen[((extSeq % SEEN_RING) + SEEN_RING) % SEEN_RING] = extSeq;
  }

  private wasSeen(extSeq: number): boolean {
    return this.seen[((extSeq % SEEN_RING) + SEEN_RING) % SEEN_RING] === extSeq;
  }
}

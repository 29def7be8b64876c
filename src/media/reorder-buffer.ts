/**
 * The inbound jitter buffer of the model path: it puts packets back in sequence order and hands
 * each on the moment it is next, holding nothing else.
 *
 * Why not a playout buffer: a speech model needs the caller's audio in order, not on a steady
 * clock, and every millisecond held here is a millisecond added to the reply. So:
 * - the next packet in sequence goes at once (`takeReady` after every `push`);
 * - a packet after a sequence gap waits for the missing one at most `reorderMs` (the reorder
 *   window); then `takeOverdue`, called on the frame tick, gives the gap up as lost and returns
 *   one silence frame as long as the timestamps say the gap was (capped by `maxConcealMs`), so
 *   the model's notion of time stays right;
 * - a packet for a place already played is late and dropped; a duplicate is dropped;
 * - an SSRC change, or a sequence jump beyond `maxJump`, starts over at that packet.
 *
 * It works on sequence numbers, so any packet duration (10, 20, 30 ms ptime; Opus's variable
 * frames) passes through untouched: nothing here assumes 20 ms.
 *
 * Pure: no sockets, no timers (the RTP endpoint calls it; the shared FrameClock ticks it).
 */
import { SequenceUnwrapper, tsDiff } from './rtp/sequence.js';

export interface ReorderInput {
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

export type ReorderFrame =
  | { readonly kind: 'audio'; readonly payload: Uint8Array; readonly timestamp: number }
  /** A lost stretch: `samples` at the RTP clock rate of silence (or concealment) in its place. */
  | { readonly kind: 'silence'; readonly payload: null; readonly samples: number };

export interface ReorderBufferOptions {
  readonly clockRate: number;
  /** How long a later packet waits for a missing one; default 40. */
  readonly reorderMs?: number;
  /** Longest silence given for one gap; default 100 (a long outage is not replayed as silence). */
  readonly maxConcealMs?: number;
  /** A sequence jump larger than this restarts the stream; default 1000. */
  readonly maxJump?: number;
  /** At most this many packets held; beyond it the oldest gap is given up at once. Default 50. */
  readonly maxHeld?: number;
}

export interface ReorderBufferStats {
  received: number;
  played: number;
  lost: number;
  late: number;
  duplicates: number;
  restarts: number;
  held: number;
  concealedMs: number;
}

interface Held {
  readonly packet: ReorderInput;
  readonly arrivalMs: number;
}

export class ReorderBuffer {
  private readonly clockRate: number;
  private readonly reorderMs: number;
  private readonly maxConcealSamples: number;
  private readonly maxJump: number;
  private readonly maxHeld: number;
  private ssrc: number | null = null;
  private readonly seqs = new SequenceUnwrapper();
  private next: number | null = null;
  private readonly held = new Map<number, Held>();
  /** Timestamp and duration (in RTP units) of the last packet played, to size a gap's silence. */
  private lastTs: number | null = null;
  private lastDuration: number;
  private readonly counters = { received: 0, played: 0, lost: 0, late: 0, duplicates: 0, restarts: 0, concealedSamples: 0 };

  constructor(options: ReorderBufferOptions) {
    const { clockRate } = options;
    if (!Number.isInteger(clockRate) || clockRate <= 0) throw new TypeError(`clockRate must be a positive integer, got ${clockRate}`);
    this.clockRate = clockRate;
    this.reorderMs = options.reorderMs ?? 40;
    if (!(this.reorderMs >= 0)) throw new TypeError(`reorderMs must be >= 0, got ${this.reorderMs}`);
    this.maxConcealSamples = Math.round(((options.maxConcealMs ?? 100) * clockRate) / 1000);
    this.maxJump = options.maxJump ?? 1000;
    this.maxHeld = options.maxHeld ?? 50;
    this.lastDuration = Math.round(clockRate / 50);
  }

  push(packet: ReorderInput, arrivalMs: number): void {
    this.counters.received++;
    if (packet.ssrc !== this.ssrc) {
      if (this.ssrc !== null) this.restart();
      this.ssrc = packet.ssrc;
    }
    let ext = this.seqs.peek(packet.sequenceNumber);
    if (this.next !== null && Math.abs(ext - this.next) > this.maxJump) {
      // The sender restarted its sequence (or this is garbage): the stream starts over here.
      this.restart();
      ext = this.seqs.peek(packet.sequenceNumber);
    }
    this.seqs.unwrap(packet.sequenceNumber);
    if (this.next === null) this.next = ext;
    if (ext < this.next) {
      this.counters.late++;
      return;
    }
    if (this.held.has(ext)) {
      this.counters.duplicates++;
      return;
    }
    this.held.set(ext, { packet, arrivalMs });
  }

  /** The next packet in sequence if it is here, else null. Call after every push until null. */
  takeReady(): ReorderFrame | null {
    if (this.next === null) return null;
    const h = this.held.get(this.next);
    if (h === undefined) return null;
    this.held.delete(this.next);
    this.next++;
    if (this.lastTs !== null) {
      const d = tsDiff(h.packet.timestamp, this.lastTs);
      if (d > 0 && d <= this.clockRate / 5) this.lastDuration = d;
    }
    this.lastTs = h.packet.timestamp;
    this.counters.played++;
    return { kind: 'audio', payload: h.packet.payload, timestamp: h.packet.timestamp };
  }

  /**
   * On the frame tick: when the next packet is missing and a later one has waited the reorder
   * window (or too many are held), the gap is lost. Returns the silence to put in its place
   * (none, or one frame); `takeReady` then has packets again.
   */
  takeOverdue(nowMs: number): ReorderFrame[] {
    if (this.next === null || this.held.size === 0 || this.held.has(this.next)) return [];
    let first = Infinity;
    for (const ext of this.held.keys()) if (ext < first) first = ext;
    const oldest = this.held.get(first)!;
    if (nowMs - oldest.arrivalMs < this.reorderMs && this.held.size <= this.maxHeld) return [];
    const missing = first - this.next;
    this.counters.lost += missing;
    this.next = first;
    // The gap in time: from the end of the last packet played to the start of the next one.
    let samples = missing * this.lastDuration;
    if (this.lastTs !== null) {
      const gap = tsDiff(oldest.packet.timestamp, this.lastTs) - this.lastDuration;
      if (gap > 0) samples = gap;
    }
    samples = Math.min(samples, this.maxConcealSamples);
    if (samples <= 0) return [];
    this.counters.concealedSamples += samples;
    return [{ kind: 'silence', payload: null, samples }];
  }

  get heldPackets(): number {
    return this.held.size;
  }

  toJSON(): ReorderBufferStats {
    const { concealedSamples, ...rest } = this.counters;
    return { ...rest, held: this.held.size, concealedMs: Math.round((concealedSamples * 1000) / this.clockRate) };
  }

  private restart(): void {
    this.counters.restarts++;
    this.held.clear();
    this.seqs.reset();
    this.next = null;
    this.lastTs = null;
  }
}

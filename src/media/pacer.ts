/**
 * Outbound frame pacing: encoded 20 ms frames leave on a steady clock, not when the model's
 * audio happens to arrive.
 *
 * The scheduler is pure: slot n is due at `startMs + n × frameMs`, computed from one monotonic
 * start time, so there is no drift however late the caller's timer fires. `take(nowMs)`
 * returns the packets of every slot that has come due. Each slot advances the RTP timestamp
 * by one frame whether or not it carries audio, so timestamps stay continuous across silence
 * and the receiver sees the gap in time (RFC 3550 §5.1); sequence numbers advance only for
 * packets sent. The first packet after a silent slot, at start and after `flush()` (barge-in)
 * carries the marker bit, the start of a talkspurt (RFC 3551 §4.1).
 *
 * The driver is not a timer per call: `drivePacer` hooks the pacer onto the process-wide
 * FrameClock, which ticks every 20 ms for all calls at once (see frame-clock.ts).
 */
import { randomInt } from 'node:crypto';
import type { FrameClock } from './frame-clock.js';

export interface PacerOptions {
  readonly ssrc: number;
  readonly payloadType: number;
  /** RTP timestamp units per frame (160 for 20 ms of PCMU, PCMA or G.722). */
  readonly timestampPerFrame: number;
  /** Monotonic time slot 0 is due. */
  readonly startMs: number;
  readonly frameMs?: number;
  /** First sequence number; random by default (RFC 3550 §5.1). */
  readonly initialSequence?: number;
  /** RTP timestamp of slot 0; random by default. */
  readonly initialTimestamp?: number;
  /**
   * After a stall, at most this many overdue slots are sent at once; older slots pass as
   * silent (their audio stays queued and plays next, as a new talkspurt). Default 10.
   */
  readonly maxCatchUpFrames?: number;
}

export interface PacedPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly payload: Uint8Array;
  /** The slot's due time: when it should have left. */
  readonly dueMs: number;
  /** The tag given to `enqueue` (for example the model's item id, for barge-in truncation). */
  readonly tag: string | undefined;
}

export interface PacerStats {
  sent: number;
  silentSlots: number;
  skippedSlots: number;
  flushed: number;
  queued: number;
}

interface Queued {
  readonly payload: Uint8Array;
  readonly tag: string | undefined;
  /** Set for RFC 4733 event packets: they share one timestamp, that of the event's first slot. */
  readonly event?: { readonly payloadType: number; readonly first: boolean; readonly group: { timestamp: number | null } };
}

export class Pacer {
  readonly frameMs: number;
  private readonly startMs: number;
  private readonly tsPerFrame: number;
  private readonly initialTs: number;
  private readonly maxCatchUp: number;
  private queue: Queued[] = [];
  private head = 0;
  private slot = 0;
  private seq: number;
  private inTalkspurt = false;
  private readonly stats = { sent: 0, silentSlots: 0, skippedSlots: 0, flushed: 0 };

  constructor(private readonly options: PacerOptions) {
    const u = (v: number, max: number): boolean => Number.isInteger(v) && v >= 0 && v <= max;
    if (!u(options.ssrc, 0xffffffff)) throw new TypeError(`ssrc must be a 32-bit unsigned integer, got ${options.ssrc}`);
    if (!u(options.payloadType, 127)) throw new TypeError(`payloadType must be 0..127, got ${options.payloadType}`);
    if (!Number.isInteger(options.timestampPerFrame) || options.timestampPerFrame <= 0)
      throw new TypeError(`timestampPerFrame must be a positive integer, got ${options.timestampPerFrame}`);
    if (!Number.isFinite(options.startMs)) throw new TypeError('startMs must be a finite number');
    this.frameMs = options.frameMs ?? 20;
    if (!(this.frameMs > 0)) throw new TypeError(`frameMs must be positive, got ${this.frameMs}`);
    this.startMs = options.startMs;
    this.tsPerFrame = options.timestampPerFrame;
    this.seq = options.initialSequence ?? randomInt(0, 0x10000);
    this.initialTs = options.initialTimestamp ?? randomInt(0, 0x1_0000_0000);
    if (!u(this.seq, 0xffff)) throw new TypeError(`initialSequence must be 0..65535, got ${this.seq}`);
    if (!u(this.initialTs, 0xffffffff)) throw new TypeError(`initialTimestamp must be 32-bit unsigned, got ${this.initialTs}`);
    this.maxCatchUp = options.maxCatchUpFrames ?? 10;
    if (!Number.isInteger(this.maxCatchUp) || this.maxCatchUp < 1)
      throw new TypeError(`maxCatchUpFrames must be an integer >= 1, got ${this.maxCatchUp}`);
  }

  /** Queues one encoded frame to go out in the next free slot. */
  enqueue(payload: Uint8Array, tag?: string): void {
    this.queue.push({ payload, tag });
  }

  /**
   * Queues the packets of one RFC 4733 event (a DTMF key press, see dtmf.ts) to go out in
   * consecutive slots, in place of audio: all carry the RTP timestamp of the first one's slot
   * (RFC 4733 §2.5.1.1), the first has the marker, and the audio after it starts a new talkspurt.
   */
  enqueueEvent(payloads: readonly Uint8Array[], payloadType: number): void {
    if (!Number.isInteger(payloadType) || payloadType < 0 || payloadType > 127) throw new TypeError(`payloadType must be 0..127, got ${payloadType}`);
    const group = { timestamp: null as number | null };
    payloads.forEach((payload, i) => this.queue.push({ payload, tag: undefined, event: { payloadType, first: i === 0, group } }));
  }

  /**
   * Drops every queued audio frame at once (barge-in); returns how many. The next frame has the
   * marker. Queued event packets stay: a key press cut short would never send its end.
   */
  flush(): number {
    const kept = this.queue.slice(this.head).filter((q) => q.event !== undefined);
    const dropped = this.queuedFrames - kept.length;
    this.queue = kept;
    this.head = 0;
    this.inTalkspurt = false;
    this.stats.flushed += dropped;
    return dropped;
  }

  /** Drops the queued frames carrying `tag` (a filler no longer needed); returns how many. */
  dropTagged(tag: string): number {
    const rest = this.queue.slice(this.head);
    const kept = rest.filter((q) => q.tag !== tag);
    this.queue = kept;
    this.head = 0;
    return rest.length - kept.length;
  }

  get queuedFrames(): number {
    return this.queue.length - this.head;
  }

  /** Monotonic time the next slot is due. */
  nextDueAt(): number {
    return this.startMs + this.slot * this.frameMs;
  }

  /** RTP timestamp of the next slot. */
  nextTimestamp(): number {
    return (this.initialTs + this.slot * this.tsPerFrame) >>> 0;
  }

  /** Returns the packets of every slot due by `nowMs` (none for silent slots). */
  take(nowMs: number): PacedPacket[] {
    const out: PacedPacket[] = [];
    const lastDue = Math.floor((nowMs - this.startMs) / this.frameMs);
    if (lastDue < this.slot) return out;
    const overdue = lastDue - this.slot + 1;
    if (overdue > this.maxCatchUp) {
      const skip = overdue - this.maxCatchUp;
      this.slot += skip;
      this.stats.skippedSlots += skip;
      this.inTalkspurt = false;
    }
    for (; this.slot <= lastDue; this.slot++) {
      const next = this.head < this.queue.length ? this.queue[this.head] : undefined;
      if (next === undefined) {
        this.stats.silentSlots++;
        this.inTalkspurt = false;
        continue;
      }
      this.head++;
      const slotTs = (this.initialTs + this.slot * this.tsPerFrame) >>> 0;
      const event = next.event;
      if (event !== undefined) event.group.timestamp ??= slotTs;
      out.push({
        marker: event === undefined ? !this.inTalkspurt : event.first,
        payloadType: event === undefined ? this.options.payloadType : event.payloadType,
        sequenceNumber: this.seq,
        timestamp: event === undefined ? slotTs : (event.group.timestamp ?? slotTs),
        ssrc: this.options.ssrc,
        payload: next.payload,
        dueMs: this.startMs + this.slot * this.frameMs,
        tag: next.tag,
      });
      // Audio after an event is a new talkspurt (marker), as after silence.
      this.inTalkspurt = event === undefined;
      this.seq = (this.seq + 1) & 0xffff;
      this.stats.sent++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  toJSON(): PacerStats {
    return { ...this.stats, queued: this.queuedFrames };
  }
}

/**
 * Drives `pacer` from the shared `frameClock`: on every tick, its due packets go to `send`.
 * Returns the function that detaches it. Create the pacer with
 * `startMs: frameClock.nextTickAt()` so its slots line up with the ticks.
 */
export function drivePacer(frameClock: FrameClock, pacer: Pacer, send: (packet: PacedPacket) => void): () => void {
  return frameClock.add((nowMs) => {
    for (const packet of pacer.take(nowMs)) send(packet);
  });
}

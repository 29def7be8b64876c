/**
 * RFC 3550 receiver statistics, per SSRC: the sequence bookkeeping of Appendix A.1 (including
 * its restart rule for a sender that jumps its sequence number without changing SSRC), the loss
 * counts of §6.4.1/A.3, and the interarrival jitter estimator of §6.4.1/A.8.
 *
 * Definitions used here (written down because RFC 3550 leaves some to the implementer):
 * - `received`: every packet counted, duplicates included (as RFC 3550 counts them).
 * - `duplicated`: packets whose sequence number was already received recently.
 * - `late`: packets that arrived after a packet with a higher sequence number (reordered),
 *   duplicates excluded. Whether such a packet still made its playout deadline is the jitter
 *   buffer's business (it counts its own late drops).
 * - `lost`: expected minus unique packets received, floored at 0. Counting unique packets keeps
 *   duplicates from hiding loss (RFC 3550 lets them, which is why its cumulative loss can go
 *   negative).
 * - `jitter`: RFC 3550's J in timestamp units; `jitterMs` the same in milliseconds.
 *
 * A change of SSRC (a carrier re-INVITE, a transfer, an SBC failover) starts a new source; the
 * totals add up all sources and `jitter` reports the current one.
 */
import { SequenceUnwrapper, tsDiff } from './sequence.js';

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** How many recent sequence numbers are remembered for duplicate detection. */
const DUP_WINDOW = 1024;

export interface RtpSourceStatsJSON {
  ssrc: number;
  received: number;
  expected: number;
  lost: number;
  duplicated: number;
  late: number;
  jitter: number;
  jitterMs: number;
  /** Extended highest sequence number received (cycles << 16 | seq). */
  highestSequence: number;
  restarts: number;
}

export interface RtpReceiverStatsJSON {
  clockRate: number;
  ssrc: number | null;
  ssrcChanges: number;
  received: number;
  expected: number;
  lost: number;
  duplicated: number;
  late: number;
  jitter: number;
  jitterMs: number;
  sources: RtpSourceStatsJSON[];
}

/** One report interval (RFC 3550 §6.4.1 fraction lost / A.3). */
export interface RtpIntervalLoss {
  expected: number;
  lost: number;
  /** Fraction lost in [0, 1] (RTCP sends it as an 8-bit fixed-point number: × 256). */
  fractionLost: number;
}

/** Statistics of one synchronisation source. */
export class RtpSourceStats {
  private readonly unwrapper = new SequenceUnwrapper();
  private baseSeq = 0;
  private maxSeq = 0;
  private badSeq: number | null = null;
  private readonly seen = new Float64Array(DUP_WINDOW).fill(NaN);
  /** Expected count of runs before a sequence restart (A.1), so totals stay cumulative. */
  private expectedPrior = 0;
  /** Packets accepted (in order or reordered): not duplicates, not stray jumps. */
  private unique = 0;
  private lastTs = 0;
  private lastArrival: number | null = null;
  private intervalExpectedMark = 0;
  private intervalUniqueMark = 0;

  received = 0;
  duplicated = 0;
  late = 0;
  /** Packets ignored as a lone sequence jump (A.1's bad_seq); counted in `received` only. */
  stray = 0;
  restarts = 0;
  /** RFC 3550 J in timestamp units (a float; A.8's fixed-point scaling is not needed here). */
  jitter = 0;

  constructor(
    readonly ssrc: number,
    readonly clockRate: number,
  ) {}

  /** Records one packet that arrived at `arrivalMs` (any monotonic millisecond clock). */
  record(sequenceNumber: number, timestamp: number, arrivalMs: number): void {
    this.received++;
    if (this.received === 1) {
      this.startRun(sequenceNumber);
    } else {
      const ext = this.unwrapper.peek(sequenceNumber);
      const delta = ext - this.maxSeq;
      if (delta > 0 && delta < MAX_DROPOUT) {
        this.unwrapper.unwrap(sequenceNumber);
        this.maxSeq = ext;
        this.badSeq = null;
        this.markSeen(ext);
      } else if (delta <= 0 && -delta <= MAX_MISORDER) {
        if (this.wasSeen(ext)) {
          this.duplicated++;
          return;
        }
        this.late++;
        this.markSeen(ext);
      } else if (this.badSeq === sequenceNumber) {
        // Two packets in sequence after a big jump: the sender restarted its numbering (A.1).
        this.expectedPrior += this.maxSeq - this.baseSeq + 1;
        this.unwrapper.reset();
        this.restarts++;
        this.startRun(sequenceNumber);
        this.lastArrival = null;
      } else {
        // A lone stray packet far from the stream: ignore it unless the next one follows it.
        this.badSeq = (sequenceNumber + 1) & 0xffff;
        this.stray++;
        return;
      }
    }
    this.unique++;
    this.updateJitter(timestamp, arrivalMs);
  }

  private startRun(sequenceNumber: number): void {
    const ext = this.unwrapper.unwrap(sequenceNumber);
    this.baseSeq = ext;
    this.maxSeq = ext;
    this.badSeq = null;
    this.seen.fill(NaN);
    this.markSeen(ext);
  }

  private slot(ext: number): number {
    return ((ext % DUP_WINDOW) + DUP_WINDOW) % DUP_WINDOW;
  }

  private markSeen(ext: number): void {
    this.seen[this.slot(ext)] = ext;
  }

  private wasSeen(ext: number): boolean {
    return this.seen[this.slot(ext)] === ext;
  }

  /**
   * A.8: D(i-1, i) = (Rj - Ri) - (Sj - Si), J += (|D| - J) / 16, with arrival times converted
   * to timestamp units. The timestamp difference is taken modulo 2^32 so wraps do not matter.
   */
  private updateJitter(timestamp: number, arrivalMs: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    if (this.lastArrival !== null) {
      const d = arrival - this.lastArrival - tsDiff(timestamp, this.lastTs);
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.lastTs = timestamp;
    this.lastArrival = arrival;
  }

  get expected(): number {
    return this.expectedPrior + (this.received > 0 ? this.maxSeq - this.baseSeq + 1 : 0);
  }

  get lost(): number {
    return Math.max(0, this.expected - this.unique);
  }

  /** Loss since the previous call (RFC 3550 A.3), for an RTCP receiver report. */
  intervalLoss(): RtpIntervalLoss {
    const expected = this.expected - this.intervalExpectedMark;
    const received = this.unique - this.intervalUniqueMark;
    this.intervalExpectedMark = this.expected;
    this.intervalUniqueMark = this.unique;
    const lost = Math.max(0, expected - received);
    return { expected, lost, fractionLost: expected > 0 ? lost / expected : 0 };
  }

  toJSON(): RtpSourceStatsJSON {
    return {
      ssrc: this.ssrc,
      received: this.received,
      expected: this.expected,
      lost: this.lost,
      duplicated: this.duplicated,
      late: this.late,
      jitter: this.jitter,
      jitterMs: (this.jitter * 1000) / this.clockRate,
      highestSequence: this.maxSeq,
      restarts: this.restarts,
    };
  }
}

/** Receiver statistics of one call leg: one `RtpSourceStats` per SSRC seen, in order. */
export class RtpReceiverStats {
  private readonly sources: RtpSourceStats[] = [];
  private current: RtpSourceStats | null = null;
  ssrcChanges = 0;

  /** `clockRate` is the RTP clock rate of the stream's codec (8000 for G.711 and G.722). */
  constructor(readonly clockRate: number) {
    if (!Number.isInteger(clockRate) || clockRate <= 0)
      throw new TypeError(`clockRate must be a positive integer, got ${clockRate}`);
  }

  record(
    packet: { readonly ssrc: number; readonly sequenceNumber: number; readonly timestamp: number },
    arrivalMs: number,
  ): void {
    let source = this.current;
    if (source === null || source.ssrc !== packet.ssrc) {
      source = this.sources.find((s) => s.ssrc === packet.ssrc) ?? null;
      if (source === null) {
        source = new RtpSourceStats(packet.ssrc, this.clockRate);
        this.sources.push(source);
      }
      if (this.current !== null) this.ssrcChanges++;
      this.current = source;
    }
    source.record(packet.sequenceNumber, packet.timestamp, arrivalMs);
  }

  /** The statistics of the current SSRC, or null before the first packet. */
  get currentSource(): RtpSourceStats | null {
    return this.current;
  }

  toJSON(): RtpReceiverStatsJSON {
    const sum = (f: (s: RtpSourceStats) => number): number => this.sources.reduce((a, s) => a + f(s), 0);
    return {
      clockRate: this.clockRate,
      ssrc: this.current?.ssrc ?? null,
      ssrcChanges: this.ssrcChanges,
      received: sum((s) => s.received),
      expected: sum((s) => s.expected),
      lost: sum((s) => s.lost),
      duplicated: sum((s) => s.duplicated),
      late: sum((s) => s.late),
      jitter: this.current?.jitter ?? 0,
      jitterMs: this.current ? (this.current.jitter * 1000) / this.clockRate : 0,
      sources: this.sources.map((s) => s.toJSON()),
    };
  }
}

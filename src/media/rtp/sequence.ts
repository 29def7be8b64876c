/**
 * Wraparound-safe arithmetic for RTP's 16-bit sequence numbers and 32-bit timestamps
 * (RFC 3550 §5.1, and the serial-number arithmetic of RFC 1982). Every media module compares
 * sequence numbers and timestamps through these helpers, never with `<` on raw values: a call
 * of 22 minutes wraps the sequence number once, and a timestamp may start anywhere.
 */

const SEQ_MOD = 0x1_0000;
const SEQ_HALF = 0x8000;

/** `a - b` as the shortest signed distance, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= SEQ_HALF ? d - SEQ_MOD : d;
}

/** True when sequence number `a` comes after `b` (modulo 2^16). */
export function seqNewer(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** `a + n` modulo 2^16 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (((a + n) % SEQ_MOD) + SEQ_MOD) % SEQ_MOD;
}

/** `a - b` as the shortest signed distance, in [-2^31, 2^31 - 1]. */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when timestamp `a` comes after `b` (modulo 2^32). */
export function tsNewer(a: number, b: number): boolean {
  return tsDiff(a, b) > 0;
}

/** `a + n` modulo 2^32 (n may be negative). */
export function tsAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * Extends a wrapping counter to an unbounded one (a JavaScript number holds 2^53 exactly, far
 * beyond any call). Each value is placed at the shortest distance from the last one, so a
 * reordered packet from before a wrap unwraps to a smaller value rather than a whole cycle
 * ahead. The first value is returned unchanged.
 */
class Unwrapper {
  private last: number | undefined;

  constructor(private readonly bits: 16 | 32) {}

  unwrap(value: number): number {
    if (this.last === undefined) {
      this.last = value;
      return value;
    }
    const d = this.bits === 16 ? seqDiff(value, this.last) : tsDiff(value, this.last);
    const extended = this.last + d;
    // Keep the reference at the newest value so the window follows the stream forward.
    if (d > 0) this.last = extended;
    return extended;
  }

  /** What `unwrap(value)` would return, without moving the reference. */
  peek(value: number): number {
    if (this.last === undefined) return value;
    const d = this.bits === 16 ? seqDiff(value, this.last) : tsDiff(value, this.last);
    return this.last + d;
  }

  /** The newest unwrapped value seen, or undefined before the first. */
  get highest(): number | undefined {
    return this.last;
  }

  reset(): void {
    this.last = undefined;
  }
}

/** Unwraps 16-bit RTP sequence numbers (RFC 3550's "extended highest sequence number"). */
export class SequenceUnwrapper extends Unwrapper {
  constructor() {
    super(16);
  }
}

/** Unwraps 32-bit RTP timestamps. */
export class TimestampUnwrapper extends Unwrapper {
  constructor() {
    super(32);
  }
}

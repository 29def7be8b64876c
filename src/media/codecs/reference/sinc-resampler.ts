/**
 * A plain TypeScript polyphase windowed-sinc resampler for rational rate ratios. It is the
 * reference the native (speex) resampler is benchmarked against in
 * test/bench/codec-frame-bench.ts, and a cross-check in tests; production code uses the native
 * one (src/media/resampler.ts).
 *
 * Upsample by L, low-pass at the narrower Nyquist, downsample by M, computing only the output
 * samples (polyphase): each output is a dot product of `tapsPerPhase` input samples with one
 * phase of the prototype filter. Input history is kept between calls, so framing does not
 * change the output.
 */

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export class SincResampler {
  private readonly up: number;
  private readonly down: number;
  private readonly taps: number;
  private readonly phases: Float64Array[];
  private history: Float64Array;
  /** Position of the next output in the upsampled domain, relative to the new input. */
  private t = 0;

  constructor(inRate: number, outRate: number, tapsPerPhase = 32) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0)
      throw new TypeError('rates must be positive integers');
    const g = gcd(inRate, outRate);
    this.up = outRate / g;
    this.down = inRate / g;
    this.taps = tapsPerPhase;
    const n = tapsPerPhase * this.up;
    // Cutoff a little below the narrower Nyquist, in cycles per upsampled sample.
    const fc = (0.5 / Math.max(this.up, this.down)) * 0.92;
    const h = new Float64Array(n);
    const mid = (n - 1) / 2;
    for (let i = 0; i < n; i++) {
      const x = i - mid;
      const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
      const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (n - 1)); // Blackman
      h[i] = sinc * w * this.up;
    }
    this.phases = [];
    for (let p = 0; p < this.up; p++) {
      const phase = new Float64Array(tapsPerPhase);
      for (let k = 0; k < tapsPerPhase; k++) phase[k] = h[p + k * this.up] ?? 0;
      this.phases.push(phase);
    }
    this.history = new Float64Array(tapsPerPhase - 1);
  }

  process(input: Int16Array): Int16Array {
    const hist = this.taps - 1;
    const data = new Float64Array(hist + input.length);
    data.set(this.history);
    for (let i = 0; i < input.length; i++) data[hist + i] = input[i] ?? 0;
    const count = Math.max(0, Math.ceil((input.length * this.up - this.t) / this.down));
    const out = new Int16Array(count);
    let t = this.t;
    for (let j = 0; j < count; j++) {
      const base = Math.floor(t / this.up);
      const phase = this.phases[t - base * this.up]!;
      let acc = 0;
      const idx = hist + base;
      for (let k = 0; k < this.taps; k++) acc += phase[k]! * data[idx - k]!;
      out[j] = acc > 32767 ? 32767 : acc < -32768 ? -32768 : Math.round(acc);
      t += this.down;
    }
    this.t = t - input.length * this.up;
    this.history = data.slice(data.length - hist);
    return out;
  }
}

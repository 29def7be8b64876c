/** Small signal helpers for the codec and resampler tests (not a test file itself). */

/** A sine of `n` samples as Int16, starting at phase 0. */
export function sine(freq: number, rate: number, n: number, amplitude: number): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

/** Amplitude of the `freq` component of `x` (single-bin DFT; pick n with whole cycles). */
export function toneAmplitude(x: ArrayLike<number>, freq: number, rate: number): number {
  let re = 0;
  let im = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const w = (2 * Math.PI * freq * i) / rate;
    re += (x[i] ?? 0) * Math.cos(w);
    im -= (x[i] ?? 0) * Math.sin(w);
  }
  return (2 * Math.hypot(re, im)) / n;
}

export function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] ?? 0) ** 2;
  return Math.sqrt(s / Math.max(1, x.length));
}

export const db = (ratio: number): number => 20 * Math.log10(ratio);

/**
 * SNR in dB of `y` against `ref`, after finding the delay (0..maxLag) and the gain that best
 * align them; compares `len` samples starting at `from` in `ref`.
 */
export function alignedSnr(ref: ArrayLike<number>, y: ArrayLike<number>, from: number, len: number, maxLag: number): { snrDb: number; lag: number } {
  let best = { snrDb: -Infinity, lag: 0 };
  for (let lag = 0; lag <= maxLag; lag++) {
    let sxy = 0;
    let sxx = 0;
    for (let i = from; i < from + len; i++) {
      const a = ref[i] ?? 0;
      const b = y[i + lag] ?? 0;
      sxy += a * b;
      sxx += a * a;
    }
    const g = sxx > 0 ? sxy / sxx : 0;
    let sig = 0;
    let err = 0;
    for (let i = from; i < from + len; i++) {
      const a = (ref[i] ?? 0) * g;
      const e = (y[i + lag] ?? 0) - a;
      sig += a * a;
      err += e * e;
    }
    const snrDb = 10 * Math.log10(sig / Math.max(err, 1e-9));
    if (snrDb > best.snrDb) best = { snrDb, lag };
  }
  return best;
}

/** Concatenates Int16Arrays. */
export function concat(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

import { readFileSync } from 'node:fs';

/**
 * How much one recording sounds like another, for the "does the caller hear itself" check: both
 * are reduced to 10 ms energy envelopes and compared by normalized cross-correlation at the best
 * lag. Envelopes, not raw samples, because a jitter buffer may insert or drop a frame now and
 * then, which shifts the raw waveform by a few samples and ruins a sample-level correlation
 * while leaving the syllable rhythm intact.
 */

/** Mono 16-bit PCM samples and the rate of a WAV file (RIFF chunks walked, not assumed). */
export function readWavPcm16(path: string): { rate: number; samples: Int16Array } {
  const b = readFileSync(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let rate = 0;
  let channels = 0;
  let bits = 0;
  for (let off = 12; off + 8 <= b.length; ) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      channels = b.readUInt16LE(body + 2);
      rate = b.readUInt32LE(body + 4);
      bits = b.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (channels !== 1 || bits !== 16) throw new Error(`${path}: want mono 16-bit, got ${channels} ch ${bits} bit`);
      // A dump cut short by the process ending may declare more data than it holds.
      const end = Math.min(b.length, body + size);
      const samples = new Int16Array(Math.floor((end - body) / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = b.readInt16LE(body + 2 * i);
      return { rate, samples };
    }
    off = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

/** RMS per frame of `frame` samples. */
export function envelope(samples: Int16Array, frame: number): Float64Array {
  const n = Math.floor(samples.length / frame);
  const out = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let sum = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) sum += samples[i]! * samples[i]!;
    out[f] = Math.sqrt(sum / frame);
  }
  return out;
}

/**
 * Pearson correlation of `a[i]` with `b[i + lag]` over their overlap, maximised over lags in
 * [-maxLag, maxLag]. Lags whose overlap is under half the shorter input are skipped, so a
 * chance match of two short stretches cannot win. Returns the best value (−1…1) and its lag in
 * elements of the inputs.
 */
export function bestLagCorrelation(a: Float64Array, b: Float64Array, maxLag: number): { value: number; lag: number } {
  const minOverlap = Math.max(10, Math.floor(Math.min(a.length, b.length) / 2));
  let best = { value: -Infinity, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const start = Math.max(0, -lag);
    const end = Math.min(a.length, b.length - lag);
    const n = end - start;
    if (n < minOverlap) continue;
    let sa = 0;
    let sb = 0;
    for (let i = start; i < end; i++) {
      sa += a[i]!;
      sb += b[i + lag]!;
    }
    const ma = sa / n;
    const mb = sb / n;
    let cov = 0;
    let va = 0;
    let vb = 0;
    for (let i = start; i < end; i++) {
      const x = a[i]! - ma;
      const y = b[i + lag]! - mb;
      cov += x * y;
      va += x * x;
      vb += y * y;
    }
    const value = va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0;
    if (value > best.value) best = { value, lag };
  }
  return best;
}

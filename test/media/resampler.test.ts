import t from 'tap';
import { createResampler, MODEL_SAMPLE_RATE } from '../../src/media/resampler.js';
import { alignedSnr, concat, db, rms, sine, toneAmplitude } from './dsp-helpers.js';

/** Runs `x` through a fresh resampler in 20 ms chunks. */
function resample(x: Int16Array, inRate: number, outRate: number, quality = 6): Int16Array {
  const r = createResampler({ inRate, outRate, quality });
  const chunk = inRate / 50;
  const parts: Int16Array[] = [];
  for (let o = 0; o < x.length; o += chunk) parts.push(r.process(x.subarray(o, o + chunk)));
  r.destroy();
  return concat(parts);
}

t.test('per-frame sizes between the carrier rates and 24 kHz', async (t) => {
  for (const [inRate, outRate] of [[8000, 24000], [16000, 24000], [48000, 24000], [24000, 8000], [24000, 16000], [24000, 48000]]) {
    const r = createResampler({ inRate: inRate!, outRate: outRate! });
    const sizes = new Set<number>();
    for (let i = 0; i < 20; i++) sizes.add(r.process(new Int16Array(inRate! / 50)).length);
    t.same([...sizes], [outRate! / 50], `${inRate}→${outRate}: every 20 ms frame gives ${outRate! / 50} samples`);
    r.destroy();
  }
});

t.test('passband is flat (8k → 24k, 300–3400 Hz within ±0.5 dB)', async (t) => {
  const amplitude = 8000;
  for (const f of [300, 1000, 2000, 3000, 3400]) {
    const y = resample(sine(f, 8000, 8000, amplitude), 8000, MODEL_SAMPLE_RATE);
    const gainDb = db(toneAmplitude(y.subarray(2400, 2400 + 12000), f, 24000) / amplitude);
    t.ok(Math.abs(gainDb) < 0.5, `${f} Hz: ${gainDb.toFixed(3)} dB`);
  }
});

t.test('stopband: images and aliases are rejected by more than 50 dB', async (t) => {
  const amplitude = 8000;
  // Upsampling 1 kHz from 8k creates images at 7 and 9 kHz unless the filter removes them.
  const up = resample(sine(1000, 8000, 8000, amplitude), 8000, 24000);
  for (const image of [7000, 9000, 15000]) {
    const rejection = db(toneAmplitude(up.subarray(2400, 14400), image, 24000) / amplitude);
    t.ok(rejection < -50, `image at ${image} Hz: ${rejection.toFixed(1)} dB`);
  }
  // Downsampling a 6 kHz tone to 8k (Nyquist 4 kHz) must not alias it down to 2 kHz.
  const down = resample(sine(6000, 24000, 24000, amplitude), 24000, 8000);
  const alias = db(rms(down.subarray(800, 7200)) / (amplitude / Math.SQRT2));
  t.ok(alias < -50, `6 kHz tone into 8 kHz: whole output at ${alias.toFixed(1)} dB`);
  // 48k → 24k: 15 kHz must vanish, 5 kHz must pass.
  const mix = sine(15000, 48000, 48000, amplitude).map((v, i) => v / 2 + Math.round((amplitude / 2) * Math.sin((2 * Math.PI * 5000 * i) / 48000)));
  const y = resample(Int16Array.from(mix), 48000, 24000);
  t.ok(db(toneAmplitude(y.subarray(2400, 14400), 9000, 24000) / (amplitude / 2)) < -50, '15 kHz does not alias to 9 kHz');
  t.ok(Math.abs(db(toneAmplitude(y.subarray(2400, 14400), 5000, 24000) / (amplitude / 2))) < 0.5, '5 kHz passes');
});

t.test("a sine's SNR after 8k → 24k → 8k", async (t) => {
  // 997 Hz: not a divisor of the rates, so the waveform does not repeat every few samples and
  // the alignment search cannot succeed by a whole period by accident.
  const x = sine(997, 8000, 8000, 10000);
  const y = resample(resample(x, 8000, 24000), 24000, 8000);
  t.equal(y.length, x.length);
  const { snrDb, lag } = alignedSnr(x, y, 800, 6000, 200);
  t.ok(snrDb > 60, `SNR ${snrDb.toFixed(1)} dB after the round trip (delay ${lag} samples; threshold 60 dB)`);
});

t.test('no discontinuity at frame edges: 20 ms chunks equal one block, steps bounded', async (t) => {
  const x = sine(1000, 8000, 16000, 12000);
  const chunked = resample(x, 8000, 24000);
  const block = createResampler({ inRate: 8000, outRate: 24000 }).process(x);
  t.equal(chunked.length, block.length);
  let differ = 0;
  for (let i = 0; i < block.length; i++) if (chunked[i] !== block[i]) differ++;
  t.equal(differ, 0, 'chunked output is sample-for-sample the block output');
  // A 1 kHz sine of amplitude A at 24 kHz moves at most 2πfA/fs ≈ 3142 per sample.
  const bound = ((2 * Math.PI * 1000 * 12000) / 24000) * 1.05;
  let maxStep = 0;
  for (let i = 2400; i < chunked.length; i++) maxStep = Math.max(maxStep, Math.abs(chunked[i]! - chunked[i - 1]!));
  t.ok(maxStep <= bound, `largest sample-to-sample step ${maxStep} ≤ ${bound.toFixed(0)}`);
  const edges = [];
  for (let e = 480; e < chunked.length; e += 480) edges.push(Math.abs(chunked[e]! - chunked[e - 1]!));
  t.ok(Math.max(...edges) <= bound, 'including across every 20 ms edge');
});

t.test('state, reset, latency, destroy and bad arguments', async (t) => {
  const r = createResampler({ inRate: 8000, outRate: 24000 });
  t.ok(r.outputLatency() > 0, `output latency ${r.outputLatency()} samples`);
  const a = r.process(sine(500, 8000, 160, 5000));
  r.reset();
  const b = r.process(sine(500, 8000, 160, 5000));
  t.same([...a], [...b], 'reset clears the history');
  r.destroy();
  r.destroy();
  t.throws(() => r.process(new Int16Array(160)), /after destroy/);
  t.throws(() => createResampler({ inRate: 8000.5, outRate: 24000 }), TypeError);
  t.throws(() => createResampler({ inRate: 8000, outRate: 24000, quality: 11 }), TypeError);
  const r2 = createResampler({ inRate: 8000, outRate: 24000 });
  t.throws(() => r2.process(new Float32Array(160) as unknown as Int16Array), TypeError);
  t.equal(r2.process(new Int16Array(0)).length, 0);
  r2.destroy();
});

t.test('the TypeScript reference resampler (benchmark baseline) is also sound', async (t) => {
  const { SincResampler } = await import('../../src/media/codecs/reference/sinc-resampler.js');
  const x = sine(1000, 8000, 8000, 8000);
  const whole = new SincResampler(8000, 24000).process(x);
  const r = new SincResampler(8000, 24000);
  const parts: Int16Array[] = [];
  for (let o = 0; o < x.length; o += 160) parts.push(r.process(x.subarray(o, o + 160)));
  const chunked = concat(parts);
  t.equal(chunked.length, 24000);
  t.same([...chunked], [...whole], 'framing does not change the output');
  t.ok(Math.abs(db(toneAmplitude(chunked.subarray(2400, 14400), 1000, 24000) / 8000)) < 0.5, '1 kHz passes');
  t.ok(db(toneAmplitude(chunked.subarray(2400, 14400), 7000, 24000) / 8000) < -50, 'image at 7 kHz rejected');
  const back = new SincResampler(24000, 8000);
  const y: Int16Array[] = [];
  for (let o = 0; o < chunked.length; o += 480) y.push(back.process(chunked.subarray(o, o + 480)));
  t.equal(concat(y).length, 8000);
});

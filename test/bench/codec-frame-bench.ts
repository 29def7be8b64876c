/**
 * Per-20 ms-frame cost of the inbound + outbound media work of one call, native addon against
 * the plain TypeScript reference:
 *
 *   payload → decode → resample to 24 kHz → resample back → encode → payload
 *
 * for PCMU, PCMA (8 kHz) and G.722 (16 kHz), and for Opus through node-opus (libopus), which
 * the gateway runs at 24 kHz PCM so no resampler is needed (rows at two encoder complexities);
 * a last Opus row decodes and encodes at 48 kHz with the speex resampler to show what that
 * saves. Prints a markdown table of µs per frame. A program, not a test:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/codec-frame-bench.js [frames]
 *
 * G.722 has no TypeScript reference codec; its reference row uses native G.722 with the
 * TypeScript resampler, so the difference there is the resampler alone. Opus has no reference.
 */
import { cpus, loadavg } from 'node:os';
import { nativeMedia } from '../../src/media/native.js';
import { createResampler, DEFAULT_RESAMPLER_QUALITY } from '../../src/media/resampler.js';
import * as ref from '../../src/media/codecs/reference/g711.js';
import { OpusCodec } from '../../src/media/codecs/opus.js';
import { SincResampler } from '../../src/media/codecs/reference/sinc-resampler.js';

interface Pipeline {
  decode(p: Uint8Array): Int16Array;
  encode(pcm: Int16Array): Uint8Array;
  up: { process(x: Int16Array): Int16Array };
  down: { process(x: Int16Array): Int16Array };
}

const frames = Number.parseInt(process.argv[2] ?? '10000', 10);
if (!Number.isInteger(frames) || frames <= 0) throw new TypeError('frames must be a positive integer');
const native = nativeMedia();

/** Speech-like test signal: a few harmonics with a slow envelope and a little noise. */
function signal(rate: number, n: number): Int16Array {
  let seed = 1;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const tt = i / rate;
    seed = (seed * 16807) % 2147483647;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * tt);
    const v = env * (4000 * Math.sin(2 * Math.PI * 180 * tt) + 2500 * Math.sin(2 * Math.PI * 720 * tt) + 1200 * Math.sin(2 * Math.PI * 2100 * tt));
    out[i] = Math.round(v + (seed / 2147483647 - 0.5) * 300);
  }
  return out;
}

function payloads(rate: number, encode: (pcm: Int16Array) => Uint8Array): Uint8Array[] {
  const perFrame = rate / 50;
  const pcm = signal(rate, perFrame * 500);
  const out: Uint8Array[] = [];
  for (let o = 0; o < pcm.length; o += perFrame) out.push(encode(pcm.subarray(o, o + perFrame)));
  return out;
}

const ROUNDS = 5;

/**
 * µs per frame of `step`: the best of ROUNDS rounds of `frames` frames each, after a warm-up.
 * The best round, not the mean, because on a shared machine other processes only ever add time.
 */
function time(step: (i: number) => void): number {
  for (let i = 0; i < Math.min(2000, frames); i++) step(i);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < frames; i++) step(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / frames);
  }
  return best;
}

function measure(rate: number, p: Pipeline, input: Uint8Array[]): { codec: number; resample: number; total: number } {
  const pcm = input.map((x) => p.decode(x));
  const up = pcm.map((x) => p.up.process(x));
  let sink = 0;
  const codec = time((i) => {
    const d = p.decode(input[i % input.length]!);
    sink += p.encode(d)[0]!;
  });
  const resample = time((i) => {
    const u = p.up.process(pcm[i % pcm.length]!);
    sink += p.down.process(up[i % up.length]!)[0]! + u.length;
  });
  const total = time((i) => {
    const d = p.decode(input[i % input.length]!);
    const u = p.up.process(d);
    const back = p.down.process(u);
    sink += p.encode(back).length;
  });
  if (sink === 0.5) console.log(sink); // keeps the work observable to the optimiser
  void rate;
  return { codec, resample, total };
}

const rows: string[] = [];
const q = DEFAULT_RESAMPLER_QUALITY;
for (const [name, rate] of [['PCMU', 8000], ['PCMA', 8000], ['G722', 16000]] as const) {
  const nativeCodec =
    name === 'PCMU'
      ? { decode: native.ulawDecode, encode: native.ulawEncode }
      : name === 'PCMA'
        ? { decode: native.alawDecode, encode: native.alawEncode }
        : (() => {
            const e = new native.G722Encoder();
            const d = new native.G722Decoder();
            return { decode: (p: Uint8Array) => d.decode(p), encode: (x: Int16Array) => e.encode(x) };
          })();
  const refCodec =
    name === 'PCMU'
      ? { decode: ref.ulawDecode, encode: ref.ulawEncode }
      : name === 'PCMA'
        ? { decode: ref.alawDecode, encode: ref.alawEncode }
        : nativeCodec;
  const input = payloads(rate, nativeCodec.encode);
  const n = measure(rate, {
    ...nativeCodec,
    up: createResampler({ inRate: rate, outRate: 24000, quality: q }),
    down: createResampler({ inRate: 24000, outRate: rate, quality: q }),
  }, input);
  const r = measure(rate, { ...refCodec, up: new SincResampler(rate, 24000), down: new SincResampler(24000, rate) }, input);
  const refLabel = name === 'G722' ? 'native G.722 + TS resampler' : 'TypeScript reference';
  rows.push(`| ${name} | native (spandsp + speexdsp q${q}) | ${n.codec.toFixed(2)} | ${n.resample.toFixed(2)} | ${n.total.toFixed(2)} |`);
  rows.push(`| ${name} | ${refLabel} | ${r.codec.toFixed(2)} | ${r.resample.toFixed(2)} | ${r.total.toFixed(2)} |`);
}

// Opus: the decoder runs at the PCM rate asked for, so at 24 kHz the resampling column is empty.
// Each pipeline has its own codec instance (libopus state is per stream), as a call would. The
// bitrate is pinned so every row codes the same way (left to libopus it would pick hybrid at
// 24 kHz but CELT at 48 kHz, whose costs differ); encoder complexity is the other large cost.
const OPUS_BITRATE = 24000;
const notes: string[] = [];
for (const { rate, complexity } of [
  { rate: 24000, complexity: 9 },
  { rate: 24000, complexity: 5 },
  { rate: 48000, complexity: 9 },
]) {
  const opus = new OpusCodec({ sampleRate: rate, bitrate: OPUS_BITRATE, complexity });
  const input = payloads(rate, (x) => opus.encode(x));
  const resampled = rate !== 24000;
  const passThrough = { process: (x: Int16Array) => x };
  const m = measure(rate, {
    decode: (p) => opus.decode(p),
    encode: (x) => opus.encode(x),
    up: resampled ? createResampler({ inRate: rate, outRate: 24000, quality: q }) : passThrough,
    down: resampled ? createResampler({ inRate: 24000, outRate: rate, quality: q }) : passThrough,
  }, input);
  // Decode (caller → model) and encode (model → caller) cost very differently; say how.
  let sink = 0;
  const decodeAlone = time((i) => {
    sink += opus.decode(input[i % input.length]!).length;
  });
  if (sink === 0.5) console.log(sink);
  const label = `node-opus (libopus), ${OPUS_BITRATE / 1000} kbit/s, complexity ${complexity}, PCM at ${rate / 1000} kHz` +
    (resampled ? ` + speexdsp q${q}` : '');
  rows.push(`| opus | ${label} | ${m.codec.toFixed(2)} | ${resampled ? m.resample.toFixed(2) : 'none'} | ${m.total.toFixed(2)} |`);
  notes.push(`${label}: decode alone ${decodeAlone.toFixed(2)} µs per frame`);
  opus.destroy();
}

console.log(
  `µs per 20 ms frame, best of ${ROUNDS} rounds of ${frames} frames (Node ${process.version}, ${process.arch}, ` +
    `load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs).\n`,
);
console.log(`| codec | implementation | decode + encode | resample to 24 kHz and back | whole pipeline |`);
console.log(`|---|---|---:|---:|---:|`);
for (const r of rows) console.log(r);
if (notes.length > 0) console.log(`\n${notes.join('\n')}`);

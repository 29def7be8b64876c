/**
 * The few sounds the gateway plays itself, synthesised at 24 kHz PCM16 (the model's rate, so
 * they go down the same encode path as the model's audio):
 *
 * - the apology: ITU-T E.180 / Telcordia's Special Information Tone (913.8, 1370.6, 1776.7 Hz,
 *   the "call cannot be completed" tone every carrier and dialler recognises), played before
 *   the gateway hangs up a call whose model is gone. An operator can replace it with a spoken
 *   prompt (`realtime.apology_prompt`, a WAV file).
 * - the filler: two soft ticks, repeated while a webhook tool takes its time, so the caller
 *   hears that something is happening rather than dead air.
 */
import { readFileSync } from 'node:fs';
import { MODEL_SAMPLE_RATE } from './resampler.js';

function tone(segments: ReadonlyArray<{ hz: number; ms: number; dbfs: number }>, rate = MODEL_SAMPLE_RATE): Int16Array {
  const total = segments.reduce((n, s) => n + Math.round((rate * s.ms) / 1000), 0);
  const out = new Int16Array(total);
  let o = 0;
  for (const s of segments) {
    const n = Math.round((rate * s.ms) / 1000);
    const amp = s.hz === 0 ? 0 : 32767 * 10 ** (s.dbfs / 20);
    const ramp = Math.min(n / 2, Math.round(rate * 0.005)); // 5 ms fades: no clicks
    for (let i = 0; i < n; i++) {
      const env = Math.min(1, i / ramp, (n - 1 - i) / ramp);
      out[o + i] = Math.round(amp * env * Math.sin((2 * Math.PI * s.hz * i) / rate));
    }
    o += n;
  }
  return out;
}

/** The Special Information Tone, then a short pause: about a second. */
export function specialInformationTone(): Int16Array {
  return tone([
    { hz: 913.8, ms: 276, dbfs: -14 },
    { hz: 1370.6, ms: 276, dbfs: -14 },
    { hz: 1776.7, ms: 380, dbfs: -14 },
    { hz: 0, ms: 200, dbfs: 0 },
  ]);
}

/** Two soft ticks and a pause (one filler cycle, 1 s). */
export function fillerTicks(): Int16Array {
  return tone([
    { hz: 660, ms: 60, dbfs: -26 },
    { hz: 0, ms: 120, dbfs: 0 },
    { hz: 660, ms: 60, dbfs: -26 },
    { hz: 0, ms: 760, dbfs: 0 },
  ]);
}

/**
 * Reads a mono 16-bit PCM WAV at 24 kHz (an operator's spoken prompt). Throws a message that
 * says what is wrong with the file; other formats are refused rather than played as noise.
 */
export function readPromptWav(path: string): Int16Array {
  const buf = readFileSync(path);
  if (buf.length < 44 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error(`${path} is not a WAV file`);
  let off = 12;
  let fmt: { channels: number; rate: number; bits: number; format: number } | null = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    if (id === 'data') {
      if (fmt === null) throw new Error(`${path}: data before fmt chunk`);
      if (fmt.format !== 1 || fmt.channels !== 1 || fmt.bits !== 16 || fmt.rate !== MODEL_SAMPLE_RATE)
        throw new Error(`${path} must be mono 16-bit PCM at ${MODEL_SAMPLE_RATE} Hz (sox in.wav -r 24000 -c 1 -b 16 out.wav)`);
      const n = Math.floor(Math.min(size, buf.length - body) / 2);
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(body + 2 * i);
      return out;
    }
    off = body + size + (size % 2);
  }
  throw new Error(`${path} has no data chunk`);
}

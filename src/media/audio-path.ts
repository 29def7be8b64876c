/**
 * The two audio conversions between a call's RTP codec and the speech model's format.
 *
 *   up:   one inbound 20 ms frame (encoded, or null for silence) → bytes for
 *         `input_audio_buffer.append`: PCM16 little-endian at 24 kHz (decode, then resample
 *         unless the codec already decodes at 24 kHz, as Opus can), or the G.711 bytes
 *         themselves when the model takes audio/pcmu or audio/pcma (pass-through).
 *   down: the model's `response.output_audio.delta` bytes, of any length → whole encoded
 *         20 ms frames for the pacer, each with the milliseconds of model audio it carries
 *         (the barge-in ledger counts those). `end()` pads the last partial frame.
 *
 * One instance per call and direction: G.722, Opus and the resamplers are stateful, which is
 * also why frames must come in order exactly once (the reorder buffer sees to that).
 */
import { createCodec } from './codecs/create-codec.js';
import type { Codec } from './codecs/codec.js';
import { createResampler, MODEL_SAMPLE_RATE, type Resampler } from './resampler.js';

/** What the model exchanges with us: linear 24 kHz PCM16, or G.711 passed straight through. */
export type ModelAudioFormat = 'pcm16' | 'pcmu' | 'pcma';

/** The G.711 byte for digital silence (μ-law 0xFF, A-law 0xD5). */
const SILENCE_BYTE = { pcmu: 0xff, pcma: 0xd5 } as const;

export interface AudioPathOptions {
  /** The carrier leg's codec (SDP encoding name). */
  readonly codec: string;
  readonly modelFormat: ModelAudioFormat;
  /** Speex resampler quality 0..10 (see resampler.ts). */
  readonly resamplerQuality?: number;
}

function hasConceal(codec: Codec): codec is Codec & { conceal(): Int16Array } {
  return typeof (codec as { conceal?: unknown }).conceal === 'function';
}

/** True when `codec` can go to the model as it is in `format`. */
export function isPassThrough(codec: string, format: ModelAudioFormat): boolean {
  return (format === 'pcmu' && codec.toUpperCase() === 'PCMU') || (format === 'pcma' && codec.toUpperCase() === 'PCMA');
}

/** The codec and, unless it already works at 24 kHz (Opus), the resampler between it and the model. */
function pcmStage(options: AudioPathOptions, direction: 'up' | 'down'): { codec: Codec; resampler: Resampler | null } {
  const codec = createCodec(options.codec);
  if (codec.sampleRate === MODEL_SAMPLE_RATE) return { codec, resampler: null };
  const [inRate, outRate] = direction === 'up' ? [codec.sampleRate, MODEL_SAMPLE_RATE] : [MODEL_SAMPLE_RATE, codec.sampleRate];
  const quality = options.resamplerQuality === undefined ? {} : { quality: options.resamplerQuality };
  return { codec, resampler: createResampler({ inRate, outRate, ...quality }) };
}

function checkFormat(options: AudioPathOptions): void {
  if (options.modelFormat !== 'pcm16' && !isPassThrough(options.codec, options.modelFormat))
    throw new TypeError(`${options.codec} cannot pass through as audio/${options.modelFormat}`);
}

/** Caller → model. */
export class UplinkAudio {
  private readonly codec: Codec | null;
  private readonly resampler: Resampler | null;
  private readonly silence: Uint8Array;
  private readonly frameBytesOut: number;

  constructor(private readonly options: AudioPathOptions) {
    checkFormat(options);
    if (options.modelFormat !== 'pcm16') {
      this.codec = null;
      this.resampler = null;
      this.silence = new Uint8Array(160).fill(SILENCE_BYTE[options.modelFormat]);
      this.frameBytesOut = 160;
      return;
    }
    ({ codec: this.codec, resampler: this.resampler } = pcmStage(options, 'up'));
    this.silence = new Uint8Array(0);
    this.frameBytesOut = (MODEL_SAMPLE_RATE / 50) * 2;
  }

  /**
   * Bytes for the model for one inbound packet. A null payload is silence: `silenceSamples` at
   * the RTP clock rate (a lost stretch), default one 20 ms frame.
   */
  convert(payload: Uint8Array | null, silenceSamples?: number): Uint8Array {
    if (this.codec === null) {
      if (payload !== null) return payload;
      return silenceSamples === undefined || silenceSamples === 160 ? this.silence : new Uint8Array(silenceSamples).fill(this.silence[0]!);
    }
    const pcm = payload !== null ? this.codec.decode(payload) : this.missing(silenceSamples);
    const out = this.resampler === null ? pcm : this.resampler.process(pcm);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** What stands in for a lost stretch: Opus conceals from its own state (libopus PLC), the others are silent. */
  private missing(samples: number | undefined): Int16Array {
    const codec = this.codec!;
    const frames = samples === undefined ? 1 : Math.max(1, Math.round(samples / codec.timestampPerFrame));
    if (hasConceal(codec)) {
      const out = new Int16Array(frames * codec.samplesPerFrame);
      for (let i = 0; i < frames; i++) out.set(codec.conceal(), i * codec.samplesPerFrame);
      return out;
    }
    return new Int16Array(samples === undefined ? codec.samplesPerFrame : Math.round((samples * codec.sampleRate) / codec.clockRate));
  }

  /** Nominal bytes per 20 ms frame sent to the model. */
  get bytesPerFrame(): number {
    return this.frameBytesOut;
  }

  destroy(): void {
    this.codec?.destroy();
    this.resampler?.destroy();
  }
}

/** An encoded 20 ms frame for the pacer and how much model audio it carries. */
export interface DownlinkFrame {
  readonly payload: Uint8Array;
  /** Milliseconds of the model's audio in this frame (20, less for a padded last frame). */
  readonly audioMs: number;
}

/** Model → caller. */
export class DownlinkAudio {
  private readonly codec: Codec | null;
  private readonly resampler: Resampler | null;
  private readonly frameSamples: number;
  /** Samples (pcm16) or bytes (pass-through) waiting to fill a frame. */
  private pending: Int16Array | Uint8Array;
  private pendingLength = 0;
  /** An odd byte left from a delta that split a PCM16 sample. */
  private oddByte: number | null = null;
  private readonly rate: number;

  constructor(private readonly options: AudioPathOptions) {
    checkFormat(options);
    if (options.modelFormat !== 'pcm16') {
      this.codec = null;
      this.resampler = null;
      this.frameSamples = 160;
      this.rate = 8000;
      this.pending = new Uint8Array(this.frameSamples);
      return;
    }
    ({ codec: this.codec, resampler: this.resampler } = pcmStage(options, 'down'));
    this.rate = this.codec.sampleRate;
    this.frameSamples = this.codec.samplesPerFrame;
    this.pending = new Int16Array(this.frameSamples);
  }

  /** Takes one delta of model audio (raw bytes, base64-decoded) and returns the frames it completes. */
  push(delta: Uint8Array): DownlinkFrame[] {
    if (this.codec === null) return this.collect(delta);
    let bytes = delta;
    if (this.oddByte !== null) {
      const joined = new Uint8Array(delta.length + 1);
      joined[0] = this.oddByte;
      joined.set(delta, 1);
      bytes = joined;
      this.oddByte = null;
    }
    if (bytes.length % 2 === 1) {
      this.oddByte = bytes[bytes.length - 1]!;
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    // Copy to an aligned buffer: a base64-decoded Buffer may sit at an odd offset in its pool.
    const aligned = new Int16Array(bytes.length / 2);
    new Uint8Array(aligned.buffer).set(bytes);
    const pcm = this.resampler === null ? aligned : this.resampler.process(aligned);
    return this.collect(pcm);
  }

  /** The last partial frame, padded with silence (null when nothing is pending). Call at the end of a response. */
  end(): DownlinkFrame | null {
    this.oddByte = null;
    if (this.pendingLength === 0) return null;
    const audioMs = (this.pendingLength * 1000) / this.rate;
    if (this.codec === null) (this.pending as Uint8Array).fill(SILENCE_BYTE[this.options.modelFormat as 'pcmu' | 'pcma'], this.pendingLength);
    else this.pending.fill(0, this.pendingLength);
    const frame = { payload: this.encode(this.pending), audioMs };
    this.pendingLength = 0;
    return frame;
  }

  /** Forgets pending audio (barge-in: the rest of the response is not played). */
  reset(): void {
    this.pendingLength = 0;
    this.oddByte = null;
    this.resampler?.reset();
  }

  destroy(): void {
    this.codec?.destroy();
    this.resampler?.destroy();
  }

  private collect(input: Int16Array | Uint8Array): DownlinkFrame[] {
    const out: DownlinkFrame[] = [];
    let i = 0;
    while (i < input.length) {
      const take = Math.min(this.frameSamples - this.pendingLength, input.length - i);
      (this.pending as Uint8Array).set((input as Uint8Array).subarray(i, i + take), this.pendingLength);
      this.pendingLength += take;
      i += take;
      if (this.pendingLength === this.frameSamples) {
        out.push({ payload: this.encode(this.pending), audioMs: 20 });
        this.pendingLength = 0;
      }
    }
    return out;
  }

  private encode(frame: Int16Array | Uint8Array): Uint8Array {
    // Pass-through frames are copied: `pending` is reused for the next frame.
    return this.codec === null ? Uint8Array.from(frame as Uint8Array) : this.codec.encode(frame as Int16Array);
  }
}

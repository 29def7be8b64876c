/**
 * Creates the per-stream resampler between the carrier's rate (8/16/48 kHz) and the speech
 * model's 24 kHz. It is the native speex resampler (libspeexdsp); quality 6 is the default:
 * between speex's "VoIP" (3) and "desktop" (5) presets it keeps the passband flat to ~3.4 kHz
 * for narrowband and rejects images well, at a cost measured in test/bench/codec-frame-bench.ts.
 */
import { nativeMedia, type NativeResampler } from './native.js';

export const MODEL_SAMPLE_RATE = 24000;
export const DEFAULT_RESAMPLER_QUALITY = 6;

export interface ResamplerOptions {
  readonly inRate: number;
  readonly outRate: number;
  /** 0 (cheapest) … 10 (best); default 6. */
  readonly quality?: number;
}

export type Resampler = NativeResampler;

export function createResampler(options: ResamplerOptions): Resampler {
  const quality = options.quality ?? DEFAULT_RESAMPLER_QUALITY;
  for (const [k, v] of [['inRate', options.inRate], ['outRate', options.outRate]] as const) {
    if (!Number.isInteger(v) || v < 1000 || v > 384000)
      throw new TypeError(`${k} must be an integer in [1000, 384000] Hz, got ${v}`);
  }
  if (!Number.isInteger(quality) || quality < 0 || quality > 10)
    throw new TypeError(`quality must be an integer 0..10, got ${quality}`);
  return new (nativeMedia().Resampler)(options.inRate, options.outRate, quality);
}

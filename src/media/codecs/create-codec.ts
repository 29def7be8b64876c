/**
 * Builds a codec instance by SDP encoding name.
 *
 * Opus goes through node-opus (src/media/codecs/opus.ts): 48 kHz RTP clock, PCM at the rate the
 * caller asks for (24 kHz, the Realtime model's, unless told otherwise), so that path needs no
 * resampler. The options only matter for opus; the other codecs have one fixed PCM rate.
 */
import type { Codec, CodecName } from './codec.js';
import { G722Codec } from './g722.js';
import { PcmaCodec, PcmuCodec } from './g711.js';
import { OpusCodec } from './opus.js';

export class UnsupportedCodecError extends Error {
  readonly code = 'KALEM_ERR_UNSUPPORTED_CODEC';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedCodecError';
  }
}

export interface CreateCodecOptions {
  /** Opus only: PCM rate of encode input and decode output (8000, 12000, 16000, 24000 or 48000). */
  sampleRate?: number;
}

/** Encoding names this build can decode and encode itself (rtpengine transcodes the others). */
export const SUPPORTED_CODECS: readonly CodecName[] = ['PCMU', 'PCMA', 'G722', 'opus'];

/**
 * Throws UnsupportedCodecError for an encoding this build does not handle, and NativeAddonError
 * (src/media/native.ts) when the native code behind a supported one is not built.
 */
export function createCodec(name: string, options: CreateCodecOptions = {}): Codec {
  switch (name.toUpperCase()) {
    case 'PCMU':
      return new PcmuCodec();
    case 'PCMA':
      return new PcmaCodec();
    case 'G722':
      return new G722Codec();
    case 'OPUS':
      return new OpusCodec({ sampleRate: options.sampleRate });
    default:
      throw new UnsupportedCodecError(`codec ${name} is not supported here; let rtpengine transcode it to PCMU, PCMA, G722 or opus`);
  }
}

/**
 * Builds a codec instance by SDP encoding name.
 *
 * Opus is the open interface point: the issue asks for it through node-opus, which is not
 * installed yet (it builds from source and needs an `allowScripts` entry). When it is, an
 * `OpusCodec` implementing `Codec` (48 kHz RTP clock, decoding straight to 24 kHz where
 * libopus allows) is added here; until then asking for opus is an explicit error, never a
 * silent fallback.
 */
import type { Codec, CodecName } from './codec.js';
import { G722Codec } from './g722.js';
import { PcmaCodec, PcmuCodec } from './g711.js';

export class UnsupportedCodecError extends Error {
  readonly code = 'KALEM_ERR_UNSUPPORTED_CODEC';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedCodecError';
  }
}

/** Encoding names this build can decode and encode itself (rtpengine transcodes the others). */
export const SUPPORTED_CODECS: readonly CodecName[] = ['PCMU', 'PCMA', 'G722'];

export function createCodec(name: string): Codec {
  switch (name.toUpperCase()) {
    case 'PCMU':
      return new PcmuCodec();
    case 'PCMA':
      return new PcmaCodec();
    case 'G722':
      return new G722Codec();
    case 'OPUS':
      throw new UnsupportedCodecError('opus is not available yet: node-opus is not installed in this build');
    default:
      throw new UnsupportedCodecError(`codec ${name} is not supported here; let rtpengine transcode it to PCMU, PCMA or G722`);
  }
}

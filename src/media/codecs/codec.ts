/**
 * The codec seam of the media plane: an encoder/decoder pair for one stream, one instance per
 * call leg direction pair (G.722 is stateful, so instances are never shared between calls).
 *
 * `clockRate` is the RTP clock (what timestamps count in), `sampleRate` the PCM rate of
 * `encode`'s input and `decode`'s output. They differ for G.722: RFC 3551 §4.5.2 fixes its RTP
 * clock at 8000 Hz for historical reasons although it carries 16 kHz audio.
 */
export interface Codec {
  /** The encoding name as in SDP rtpmap (PCMU, PCMA, G722, opus). */
  readonly name: CodecName;
  /** The static RTP payload type, or null for dynamically assigned ones (opus). */
  readonly staticPayloadType: number | null;
  /** RTP clock rate in Hz. */
  readonly clockRate: number;
  /** PCM sample rate in Hz. */
  readonly sampleRate: number;
  /** PCM samples in one 20 ms frame. */
  readonly samplesPerFrame: number;
  /** RTP timestamp increment of one 20 ms frame. */
  readonly timestampPerFrame: number;
  encode(pcm: Int16Array): Uint8Array;
  decode(payload: Uint8Array): Int16Array;
  /** Frees native state now rather than at garbage collection. Idempotent. */
  destroy(): void;
}

export type CodecName = 'PCMU' | 'PCMA' | 'G722' | 'opus';

export const FRAME_MS = 20;

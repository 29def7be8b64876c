/**
 * Opus (RFC 6716) for RTP (RFC 7587) through node-opus, which builds its bundled libopus from
 * source at `npm install`.
 *
 * The RTP clock of Opus is always 48000 Hz (RFC 7587 §4.1), whatever the audio bandwidth, but
 * libopus encodes from and decodes to 8, 12, 16, 24 or 48 kHz PCM directly. The codec is built
 * at the PCM rate its user works in (24 kHz for the Realtime model by default), so the Opus path
 * needs no resampler: `sampleRate` and `clockRate` differ on purpose, as they do for G.722.
 *
 * Mono: a mono decoder also takes stereo packets (libopus downmixes), which matters because
 * RFC 7587 makes every SDP offer say `opus/48000/2`.
 *
 * node-opus is loaded lazily, here only, and its sharp edges are kept behind this class:
 * - its `encode` aborts the whole process when libopus rejects the frame size, so every frame
 *   length is checked before it reaches the addon;
 * - its `decode` of an empty packet conceals 120 ms at once, so loss is concealed with a
 *   TOC-only packet instead (see `conceal`), which libopus conceals for one frame's duration;
 * - it has no way to free libopus state early: `destroy` drops the only reference so the state
 *   goes at the next garbage collection, and the codec refuses further use.
 */
import { createRequire } from 'node:module';
import { NativeAddonError } from '../native.js';
import { FRAME_MS, type Codec } from './codec.js';

/** The shape of node-opus's OpusEncoder (one object holds an encoder and a decoder). */
interface NodeOpusCodec {
  encode(pcm: ArrayBufferView): Uint8Array;
  decode(packet: ArrayBufferView): Uint8Array;
  setBitrate(bitsPerSecond: number): void;
  applyEncoderCTL(request: number, value: number): void;
}
type NodeOpusConstructor = new (rate: number, channels: number, application: number) => NodeOpusCodec;

/** PCM rates libopus encodes from and decodes to without resampling (RFC 6716 §2). */
export const OPUS_SAMPLE_RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000];
export const OPUS_CLOCK_RATE = 48000;
export const DEFAULT_OPUS_SAMPLE_RATE = 24000;

/** OPUS_APPLICATION_VOIP from opus_defines.h: tuned for speech intelligibility. */
const OPUS_APPLICATION_VOIP = 2048;
/** OPUS_SET_COMPLEXITY_REQUEST from opus_defines.h. */
const OPUS_SET_COMPLEXITY_REQUEST = 4010;
/** Frame durations libopus accepts, in units of 2.5 ms (2.5, 5, 10, 20, 40, 60 ms). */
const FRAME_UNITS_2_5_MS = [1, 2, 4, 8, 16, 24];

export interface OpusCodecOptions {
  /** PCM rate of `encode`'s input and `decode`'s output: one of OPUS_SAMPLE_RATES. */
  sampleRate?: number;
  /** Target encoder bitrate in bit/s (libopus's range 500..512000); libopus chooses if unset. */
  bitrate?: number;
  /**
   * Encoder complexity 0..10 (libopus's default is 9 in this version). Encoding is most of
   * Opus's per-frame cost and scales with it: see the codec frame section of docs/BENCHMARKS.md.
   */
  complexity?: number;
}

/** libopus rejected a received payload as malformed; the caller may `conceal()` instead. */
export class OpusPayloadError extends Error {
  readonly code = 'KALEM_ERR_OPUS_PAYLOAD';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpusPayloadError';
  }
}

let cachedConstructor: NodeOpusConstructor | null = null;

/** node-opus's OpusEncoder class, required once; NativeAddonError if it is missing or broken. */
function nodeOpus(): NodeOpusConstructor {
  if (cachedConstructor) return cachedConstructor;
  let mod: { OpusEncoder?: unknown };
  try {
    mod = createRequire(import.meta.url)('node-opus') as { OpusEncoder?: unknown };
  } catch (err) {
    throw new NativeAddonError(
      `opus is unavailable: node-opus does not load (${(err as Error).message}); ` +
        'run `make setup` (npm install builds it from source)',
      { cause: err },
    );
  }
  if (typeof mod.OpusEncoder !== 'function') {
    throw new NativeAddonError('opus is unavailable: the installed node-opus has no OpusEncoder; run `make setup`');
  }
  cachedConstructor = mod.OpusEncoder as NodeOpusConstructor;
  return cachedConstructor;
}

/**
 * The TOC byte of a packet that makes libopus conceal one 20 ms frame: same mode, bandwidth and
 * channel flag as the last real packet, frame size 20 ms, code 0 (one frame) with no frame data.
 * A zero-length frame is how RFC 6716 §3.2.1 signals a lost frame; libopus then runs its PLC
 * for the TOC's duration only. Configurations from RFC 6716 §3.1, Table 2: SILK 0-11 (four
 * sizes per bandwidth, 20 ms second), hybrid 12-15 (two sizes, 20 ms second), CELT 16-31
 * (four sizes, 20 ms last).
 */
export function concealmentToc(lastToc: number): number {
  const config = lastToc >> 3;
  const config20ms = config < 12 ? (config & ~3) | 1 : config < 16 ? (config & ~1) | 1 : (config & ~3) | 3;
  return (config20ms << 3) | (lastToc & 0x04);
}

export class OpusCodec implements Codec {
  readonly name = 'opus' as const;
  readonly staticPayloadType = null;
  readonly clockRate = OPUS_CLOCK_RATE;
  readonly sampleRate: number;
  readonly samplesPerFrame: number;
  readonly timestampPerFrame = (OPUS_CLOCK_RATE * FRAME_MS) / 1000;
  private opus: NodeOpusCodec | null;
  /** Encoder input lengths libopus accepts at this rate (2.5 to 60 ms). */
  private readonly validFrameLengths: ReadonlySet<number>;
  /** TOC byte of the last decoded packet; null until one arrives (nothing to conceal from). */
  private lastToc: number | null = null;

  constructor(options: OpusCodecOptions = {}) {
    const sampleRate = options.sampleRate ?? DEFAULT_OPUS_SAMPLE_RATE;
    if (!OPUS_SAMPLE_RATES.includes(sampleRate)) {
      throw new RangeError(`opus sampleRate must be one of ${OPUS_SAMPLE_RATES.join(', ')} Hz, got ${String(sampleRate)}`);
    }
    const { bitrate } = options;
    if (bitrate !== undefined && !(Number.isInteger(bitrate) && bitrate >= 500 && bitrate <= 512000)) {
      throw new RangeError(`opus bitrate must be an integer from 500 to 512000 bit/s, got ${String(bitrate)}`);
    }
    const { complexity } = options;
    if (complexity !== undefined && !(Number.isInteger(complexity) && complexity >= 0 && complexity <= 10)) {
      throw new RangeError(`opus complexity must be an integer from 0 to 10, got ${String(complexity)}`);
    }
    this.sampleRate = sampleRate;
    this.samplesPerFrame = (sampleRate * FRAME_MS) / 1000;
    this.validFrameLengths = new Set(FRAME_UNITS_2_5_MS.map((units) => (sampleRate / 400) * units));
    const Opus = nodeOpus();
    // Mono both ways; node-opus creates the libopus encoder and decoder lazily on first use.
    this.opus = new Opus(sampleRate, 1, OPUS_APPLICATION_VOIP);
    if (bitrate !== undefined) this.opus.setBitrate(bitrate);
    if (complexity !== undefined) this.opus.applyEncoderCTL(OPUS_SET_COMPLEXITY_REQUEST, complexity);
  }

  /** One packet from 2.5 to 60 ms of mono PCM at `sampleRate` (20 ms: `samplesPerFrame`). */
  encode(pcm: Int16Array): Uint8Array {
    const opus = this.live();
    if (!(pcm instanceof Int16Array)) throw new TypeError('opus encode expects an Int16Array of PCM samples');
    if (!this.validFrameLengths.has(pcm.length)) {
      throw new RangeError(
        `opus encode needs 2.5, 5, 10, 20, 40 or 60 ms of audio (${[...this.validFrameLengths].join(', ')} ` +
          `samples at ${this.sampleRate} Hz), got ${pcm.length} samples`,
      );
    }
    return opus.encode(pcm);
  }

  /**
   * PCM at `sampleRate` for one received packet. An empty payload is a lost packet: it is
   * concealed as one 20 ms frame (the same as `conceal()`). Throws OpusPayloadError for a
   * payload libopus rejects.
   */
  decode(payload: Uint8Array): Int16Array {
    const opus = this.live();
    if (!(payload instanceof Uint8Array)) throw new TypeError('opus decode expects a Uint8Array payload');
    if (payload.length === 0) return this.conceal();
    const pcm = this.decodeWith(opus, payload);
    this.lastToc = payload[0] as number;
    return pcm;
  }

  /**
   * 20 ms of packet-loss concealment, continuing from the decoder's state (libopus PLC), for a
   * frame that never arrived; silence before the first packet. Call once per missing 20 ms.
   */
  conceal(): Int16Array {
    const opus = this.live();
    if (this.lastToc === null) return new Int16Array(this.samplesPerFrame);
    return this.decodeWith(opus, Uint8Array.of(concealmentToc(this.lastToc)));
  }

  destroy(): void {
    // node-opus frees libopus state only when its object is garbage-collected; dropping the one
    // reference makes that possible and stops any further use of this codec.
    this.opus = null;
  }

  private decodeWith(opus: NodeOpusCodec, packet: Uint8Array): Int16Array {
    let bytes: Uint8Array;
    try {
      bytes = opus.decode(packet);
    } catch (err) {
      throw new OpusPayloadError(`opus payload of ${packet.length} bytes rejected by libopus: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // node-opus returns native-endian 16-bit samples in a fresh Buffer; copy only if it is not
    // 2-byte aligned (an Int16Array view needs that).
    if (bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    return new Int16Array(bytes.slice().buffer);
  }

  private live(): NodeOpusCodec {
    if (this.opus === null) {
      throw Object.assign(new Error('opus codec used after destroy()'), { code: 'KALEM_NATIVE_DESTROYED' });
    }
    return this.opus;
  }
}

/**
 * G.722 at 64 kbit/s (16 kHz audio, RTP clock 8000 per RFC 3551) through the native addon
 * (libspandsp). ADPCM: the encoder and decoder states run across frames, so a codec instance
 * belongs to exactly one call and must see its frames in order.
 */
import { nativeMedia, type NativeG722Decoder, type NativeG722Encoder } from '../native.js';
import { FRAME_MS, type Codec } from './codec.js';

export class G722Codec implements Codec {
  readonly name = 'G722' as const;
  readonly staticPayloadType = 9;
  readonly clockRate = 8000;
  readonly sampleRate = 16000;
  readonly samplesPerFrame = (16000 * FRAME_MS) / 1000;
  readonly timestampPerFrame = (8000 * FRAME_MS) / 1000;
  private readonly encoder: NativeG722Encoder;
  private readonly decoder: NativeG722Decoder;

  constructor() {
    const native = nativeMedia();
    this.encoder = new native.G722Encoder();
    this.decoder = new native.G722Decoder();
  }

  encode(pcm: Int16Array): Uint8Array {
    return this.encoder.encode(pcm);
  }

  decode(payload: Uint8Array): Int16Array {
    return this.decoder.decode(payload);
  }

  destroy(): void {
    this.encoder.destroy();
    this.decoder.destroy();
  }
}

/**
 * PCMU (G.711 μ-law) and PCMA (G.711 A-law), 8 kHz, through the native addon (libspandsp).
 * Stateless: an instance only exists so every codec looks the same to the call.
 */
import { nativeMedia, type NativeMedia } from '../native.js';
import { FRAME_MS, type Codec } from './codec.js';

abstract class G711Codec implements Codec {
  abstract readonly name: 'PCMU' | 'PCMA';
  abstract readonly staticPayloadType: number;
  readonly clockRate = 8000;
  readonly sampleRate = 8000;
  readonly samplesPerFrame = (8000 * FRAME_MS) / 1000;
  readonly timestampPerFrame = (8000 * FRAME_MS) / 1000;
  protected readonly native: NativeMedia = nativeMedia();
  abstract encode(pcm: Int16Array): Uint8Array;
  abstract decode(payload: Uint8Array): Int16Array;
  destroy(): void {}
}

export class PcmuCodec extends G711Codec {
  readonly name = 'PCMU' as const;
  readonly staticPayloadType = 0;
  encode(pcm: Int16Array): Uint8Array {
    return this.native.ulawEncode(pcm);
  }
  decode(payload: Uint8Array): Int16Array {
    return this.native.ulawDecode(payload);
  }
}

export class PcmaCodec extends G711Codec {
  readonly name = 'PCMA' as const;
  readonly staticPayloadType = 8;
  encode(pcm: Int16Array): Uint8Array {
    return this.native.alawEncode(pcm);
  }
  decode(payload: Uint8Array): Int16Array {
    return this.native.alawDecode(payload);
  }
}

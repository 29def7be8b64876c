/**
 * The one typed boundary to the native media addon (native/, built by `make setup`).
 *
 * Why native: each call decodes, resamples and encodes 50 frames a second in each direction.
 * That per-frame hot path runs on Debian's libspandsp (G.711, G.722) and libspeexdsp (the speex
 * resampler most VoIP stacks use): well-kept DSP we link instead of writing filters by hand,
 * and cheaper per frame than JavaScript (see test/bench/codec-frame-bench.ts). Everything else
 * in media stays in TypeScript.
 *
 * Nothing else may `require` the .node file: it is loaded here, lazily, once, and checked
 * against `NATIVE_ABI_VERSION` so a stale build (an older native/build left after an upgrade)
 * is a clear start-up error instead of a crash or a missing function mid-call.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Must equal KALEM_MEDIA_ABI_VERSION in native/src/common.h. */
export const NATIVE_ABI_VERSION = 1;

/** A stateful G.722 encoder (64 kbit/s, 16 kHz PCM in, one byte per two samples out). */
export interface NativeG722Encoder {
  encode(pcm16k: Int16Array): Uint8Array;
  destroy(): void;
}

/** A stateful G.722 decoder (16 kHz PCM out, two samples per byte). */
export interface NativeG722Decoder {
  decode(payload: Uint8Array): Int16Array;
  destroy(): void;
}

/**
 * A stateful speex resampler for one stream: the filter history carries across `process`
 * calls, so frames join without clicks. The output of a frame is delayed by the filter
 * (`outputLatency()` samples), not shortened.
 */
export interface NativeResampler {
  process(pcm: Int16Array): Int16Array;
  reset(): void;
  inputLatency(): number;
  outputLatency(): number;
  destroy(): void;
}

export interface NativeMedia {
  readonly abiVersion: number;
  ulawEncode(pcm: Int16Array): Uint8Array;
  ulawEncodeInto(pcm: Int16Array, out: Uint8Array): number;
  ulawDecode(payload: Uint8Array): Int16Array;
  ulawDecodeInto(payload: Uint8Array, out: Int16Array): number;
  alawEncode(pcm: Int16Array): Uint8Array;
  alawEncodeInto(pcm: Int16Array, out: Uint8Array): number;
  alawDecode(payload: Uint8Array): Int16Array;
  alawDecodeInto(payload: Uint8Array, out: Int16Array): number;
  readonly G722Encoder: new () => NativeG722Encoder;
  readonly G722Decoder: new () => NativeG722Decoder;
  readonly Resampler: new (inRate: number, outRate: number, quality: number) => NativeResampler;
}

/**
 * The addon is missing, stale or unloadable. `code` is meant for the error registry
 * (src/core/errors.ts) once it has a native-addon entry.
 */
export class NativeAddonError extends Error {
  readonly code = 'KALEM_ERR_NATIVE_ADDON';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeAddonError';
  }
}

const ADDON_RELATIVE = 'native/build/Release/kalem_media.node';

/**
 * Where the addon is looked for: `KALEM_NATIVE_ADDON` if set (packagers), else the repository's
 * native/build, found from this file whether it runs compiled (dist/src/media) or from src/media.
 */
export function nativeAddonPath(): string {
  const override = process.env['KALEM_NATIVE_ADDON'];
  if (override) return override;
  const candidates = [`../../../${ADDON_RELATIVE}`, `../../${ADDON_RELATIVE}`].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  return candidates.find((p) => existsSync(p)) ?? (candidates[0] as string);
}

/**
 * Loads the addon at `path` and checks its ABI version, without caching (tests point it at
 * broken builds). Throws NativeAddonError when it is missing, unloadable or stale.
 */
export function loadNativeMedia(path: string = nativeAddonPath()): NativeMedia {
  if (!existsSync(path)) {
    throw new NativeAddonError(`native media addon not built: run \`make setup\` (expected ${path})`);
  }
  let mod: NativeMedia;
  try {
    mod = createRequire(import.meta.url)(path) as NativeMedia;
  } catch (err) {
    throw new NativeAddonError(
      `native media addon at ${path} does not load (${(err as Error).message}); rebuild it: run \`make setup\``,
      { cause: err },
    );
  }
  if (mod.abiVersion !== NATIVE_ABI_VERSION) {
    throw new NativeAddonError(
      `native media addon at ${path} is stale (ABI version ${String(mod.abiVersion)}, ` +
        `this kalem needs ${NATIVE_ABI_VERSION}): run \`make setup\``,
    );
  }
  return mod;
}

let cached: NativeMedia | null = null;

/** The addon, loaded once; throws NativeAddonError when it is missing or stale. */
export function nativeMedia(): NativeMedia {
  cached ??= loadNativeMedia();
  return cached;
}

/** For the daemon's start-up check: throws the same clear error before any call is taken. */
export function assertNativeMedia(): void {
  nativeMedia();
}

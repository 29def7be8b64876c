import type { Sodium } from './sodium.js';

/**
 * libsodium's secretstream (XChaCha20-Poly1305) for data written as it is produced (recordings):
 * each chunk is authenticated and bound to its place in the stream, the last one carries
 * TAG_FINAL, so reordering, dropping, altering or cutting off chunks is detected when reading.
 *
 * File layout: MAGIC ‖ stream header (24) ‖ { u32 big-endian length ‖ chunk (message + 17) }*
 */
export const STREAM_MAGIC = new TextEncoder().encode('KALEMREC1');
export const CHUNK_LENGTH_BYTES = 4;

export interface PushStream {
  /** MAGIC and the stream header: the first bytes of the file. */
  readonly preamble: Uint8Array;
  /** One framed chunk (length prefix included); `final` marks the end of the stream. */
  push(plain: Uint8Array, final: boolean): Uint8Array;
  /** Wipes the stream state (the key it was made from is the caller's to wipe). */
  destroy(): void;
}

export type PullResult = { ok: true; plain: Uint8Array; final: boolean } | { ok: false };

export interface PullStream {
  pull(chunk: Uint8Array): PullResult;
}

export function headerBytes(sodium: Sodium): number {
  return sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
}

export function overheadBytes(sodium: Sodium): number {
  return sodium.crypto_secretstream_xchacha20poly1305_ABYTES;
}

export function openPushStream(sodium: Sodium, key: Uint8Array, ad: Uint8Array): PushStream {
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  const preamble = new Uint8Array(STREAM_MAGIC.length + header.length);
  preamble.set(STREAM_MAGIC, 0);
  preamble.set(header, STREAM_MAGIC.length);
  let done = false;
  return {
    preamble,
    push(plain, final) {
      if (done) throw new Error('secretstream already finished');
      const tag = final ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      const c = sodium.crypto_secretstream_xchacha20poly1305_push(state, plain, ad, tag);
      if (final) done = true;
      const out = new Uint8Array(CHUNK_LENGTH_BYTES + c.length);
      new DataView(out.buffer).setUint32(0, c.length, false);
      out.set(c, CHUNK_LENGTH_BYTES);
      return out;
    },
    destroy() {
      done = true;
      // libsodium-wrappers keeps the state inside the wasm heap; dropping the handle is all it offers.
    },
  };
}

/** null when the header is not a stream header this key opens. */
export function openPullStream(sodium: Sodium, key: Uint8Array, header: Uint8Array, ad: Uint8Array): PullStream | null {
  let state: unknown;
  try {
    state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  } catch {
    return null;
  }
  return {
    pull(chunk) {
      try {
        const r = sodium.crypto_secretstream_xchacha20poly1305_pull(state as never, chunk, ad);
        if (!r) return { ok: false };
        return { ok: true, plain: r.message, final: r.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL };
      } catch {
        return { ok: false };
      }
    },
  };
}

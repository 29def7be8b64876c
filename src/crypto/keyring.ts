import { kalemError } from '../core/errors.js';
import type { Sodium } from './sodium.js';

/**
 * The key hierarchy of DESIGN.md "Keys and data at rest":
 *   master key ──wraps──▶ account key (AD = account id) ──seals──▶ secrets (AD = account, name, version)
 *
 * Cipher: XChaCha20-Poly1305 (libsodium-wrappers has no AES-GCM). A blob is
 *   format byte (1) ‖ nonce (24) ‖ ciphertext+tag.
 * The associated data binds a blob to the row it belongs to, so a blob copied into another row or
 * account fails authentication instead of opening as someone else's secret.
 *
 * Stored call content (a transcript, a recording) has a data key of its own:
 *   account key ──wraps──▶ data key (AD = account, call, kind) ──seals──▶ the object (AD = same)
 * so destroying one wrapped data key destroys one object, even where its ciphertext lingers (a
 * backup, a recording file not yet unlinked). Caller numbers get a keyed hash for lookup, under a
 * subkey derived from the account key, so the same number hashes differently in each account.
 */

const FORMAT_V1 = 1;
const ACCOUNT_KEY_BYTES = 32;
const DATA_KEY_BYTES = 32;
const CALLER_HASH_BYTES = 32;
/** crypto_kdf context (8 bytes) and subkey id of the caller-hash key. */
const CALLER_HASH_CONTEXT = 'kcallerh';
const CALLER_HASH_SUBKEY_ID = 1;

export type WrappedKey = Uint8Array;
export type SealedValue = Uint8Array;
/** What a data key protects; part of the associated data. */
export type DataKind = 'transcript' | 'recording';

/** A fresh data key: `key` in clear for the writer (wiped by it when done), `wrapped` for the store. */
export interface NewDataKey {
  readonly key: Uint8Array;
  readonly wrapped: WrappedKey;
}

function ad(...parts: string[]): Uint8Array {
  // NUL separators cannot occur in ids or names (validated upstream), so the encoding is unambiguous.
  return new TextEncoder().encode(['kalem/v1', ...parts].join('\0'));
}

/** Associated data of an object of one call (also each chunk of a recording's secretstream). */
export function objectAd(accountId: string, callId: string, kind: DataKind): Uint8Array {
  return ad('object', accountId, callId, kind);
}

export class Keyring {
  private readonly masterKey: Uint8Array;

  /** Copies the key, so the caller can (and should) wipe its own buffer right away. */
  constructor(
    private readonly sodium: Sodium,
    masterKey: Uint8Array,
  ) {
    if (masterKey.length !== 32) throw new TypeError('master key must be 32 bytes');
    this.masterKey = Uint8Array.from(masterKey);
  }

  /** A fresh random account key, returned only in wrapped form. */
  newWrappedAccountKey(accountId: string): WrappedKey {
    const key = this.sodium.randombytes_buf(ACCOUNT_KEY_BYTES);
    try {
      return this.wrapAccountKey(accountId, key);
    } finally {
      this.sodium.memzero(key);
    }
  }

  wrapAccountKey(accountId: string, accountKey: Uint8Array): WrappedKey {
    return this.encrypt(this.masterKey, accountKey, ad('account-key', accountId));
  }

  /** Unwraps an account key; the caller wipes it with `wipe()` when done. */
  unwrapAccountKey(accountId: string, wrapped: WrappedKey): Uint8Array {
    const key = this.decrypt(this.masterKey, wrapped, ad('account-key', accountId));
    if (!key) throw kalemError('KALEM_ERR_WRONG_MASTER_KEY', accountId);
    return key;
  }

  seal(accountId: string, wrapped: WrappedKey, name: string, version: number, plaintext: Uint8Array): SealedValue {
    return this.withAccountKey(accountId, wrapped, (key) =>
      this.encrypt(key, plaintext, ad('secret', accountId, name, String(version))),
    );
  }

  /** Opens a sealed secret; the caller wipes the result as soon as it has used it. */
  open(accountId: string, wrapped: WrappedKey, name: string, version: number, sealed: SealedValue): Uint8Array {
    return this.withAccountKey(accountId, wrapped, (key) => {
      const plain = this.decrypt(key, sealed, ad('secret', accountId, name, String(version)));
      if (!plain) throw kalemError('KALEM_ERR_SECRET_TAMPERED', name, accountId);
      return plain;
    });
  }

  /** A fresh random data key for one object of one call, with its wrapped form. */
  newDataKey(accountId: string, wrappedAccountKey: WrappedKey, callId: string, kind: DataKind): NewDataKey {
    const key = this.sodium.randombytes_buf(DATA_KEY_BYTES);
    const wrapped = this.withAccountKey(accountId, wrappedAccountKey, (ak) => this.encrypt(ak, key, ad('data-key', accountId, callId, kind)));
    return { key, wrapped };
  }

  /** Unwraps a data key; null when it does not open (tampered, or another call's or kind's key). */
  unwrapDataKey(accountId: string, wrappedAccountKey: WrappedKey, callId: string, kind: DataKind, wrapped: WrappedKey): Uint8Array | null {
    return this.withAccountKey(accountId, wrappedAccountKey, (ak) => this.decrypt(ak, wrapped, ad('data-key', accountId, callId, kind)));
  }

  /** Seals a whole object (a transcript) under its data key. */
  sealObject(dataKey: Uint8Array, accountId: string, callId: string, kind: DataKind, plaintext: Uint8Array): SealedValue {
    return this.encrypt(dataKey, plaintext, objectAd(accountId, callId, kind));
  }

  /** null when the object does not open under this data key. */
  openObject(dataKey: Uint8Array, accountId: string, callId: string, kind: DataKind, sealed: SealedValue): Uint8Array | null {
    return this.decrypt(dataKey, sealed, objectAd(accountId, callId, kind));
  }

  /**
   * The keyed hash of a caller's (normalised) number in one account: BLAKE2b (crypto_generichash)
   * keyed with a subkey derived from the account key (crypto_kdf). Equal numbers in one account
   * give equal hashes (so a caller's calls can be found); without the account key the hash says
   * nothing about the number, and a deleted account's hashes can no longer be linked to anyone.
   */
  callerHash(accountId: string, wrappedAccountKey: WrappedKey, number: string): Uint8Array {
    return this.withAccountKey(accountId, wrappedAccountKey, (ak) => {
      const sub = this.sodium.crypto_kdf_derive_from_key(32, CALLER_HASH_SUBKEY_ID, CALLER_HASH_CONTEXT, ak);
      try {
        return this.sodium.crypto_generichash(CALLER_HASH_BYTES, new TextEncoder().encode(number), sub);
      } finally {
        this.sodium.memzero(sub);
      }
    });
  }

  /** Seals a call's caller (its From URI) under the account key, bound to the call. */
  sealCaller(accountId: string, wrappedAccountKey: WrappedKey, callId: string, fromUri: string): SealedValue {
    return this.withAccountKey(accountId, wrappedAccountKey, (ak) => this.encrypt(ak, new TextEncoder().encode(fromUri), ad('caller', accountId, callId)));
  }

  /** null when it does not open (tampered, or copied from another call). */
  openCaller(accountId: string, wrappedAccountKey: WrappedKey, callId: string, sealed: SealedValue): string | null {
    const plain = this.withAccountKey(accountId, wrappedAccountKey, (ak) => this.decrypt(ak, sealed, ad('caller', accountId, callId)));
    return plain && new TextDecoder().decode(plain);
  }

  /** A value only this master key opens; stored once so a wrong key is caught before any account. */
  masterCheck(): Uint8Array {
    return this.encrypt(this.masterKey, new TextEncoder().encode('kalem master key check'), ad('master-check'));
  }

  verifyMasterCheck(blob: Uint8Array): boolean {
    const plain = this.decrypt(this.masterKey, blob, ad('master-check'));
    return plain !== null;
  }

  wipe(buf: Uint8Array): void {
    this.sodium.memzero(buf);
  }

  private withAccountKey<T>(accountId: string, wrapped: WrappedKey, fn: (key: Uint8Array) => T): T {
    const key = this.unwrapAccountKey(accountId, wrapped);
    try {
      return fn(key);
    } finally {
      this.sodium.memzero(key);
    }
  }

  private encrypt(key: Uint8Array, plaintext: Uint8Array, adata: Uint8Array): Uint8Array {
    const s = this.sodium;
    const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, adata, null, nonce, key);
    const out = new Uint8Array(1 + nonce.length + ct.length);
    out[0] = FORMAT_V1;
    out.set(nonce, 1);
    out.set(ct, 1 + nonce.length);
    return out;
  }

  /** null when the blob does not authenticate (wrong key, tampering, wrong row). */
  private decrypt(key: Uint8Array, blob: Uint8Array, adata: Uint8Array): Uint8Array | null {
    const s = this.sodium;
    const nonceBytes = s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (blob.length < 1 + nonceBytes + s.crypto_aead_xchacha20poly1305_ietf_ABYTES || blob[0] !== FORMAT_V1) return null;
    try {
      return s.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        blob.subarray(1 + nonceBytes),
        adata,
        blob.subarray(1, 1 + nonceBytes),
        key,
      );
    } catch {
      return null;
    }
  }
}

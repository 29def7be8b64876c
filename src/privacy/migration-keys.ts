import type { Keyring } from '../crypto/keyring.js';
import type { MigrationKeys } from '../store/migrations.js';
import { callerKeyFromUri } from '../tenancy/caller-id.js';

/** Schema 2 sealed each transcript directly under the account key with this name and version. */
const LEGACY_TRANSCRIPT_VERSION = 1;

/**
 * What migration 4 needs from the master key, over plain bytes: a schema-2 transcript (sealed
 * under the account key) re-sealed under a new data key, and a clear caller From URI turned into
 * its keyed hash and sealed form. Clear text is wiped as soon as it has been re-sealed.
 */
export function migrationKeys(keyring: Keyring): MigrationKeys {
  return {
    transcriptToDataKey(accountId, wrappedAccountKey, callId, legacySealed) {
      const plain = keyring.open(accountId, wrappedAccountKey, `transcript:${callId}`, LEGACY_TRANSCRIPT_VERSION, legacySealed);
      const dataKey = keyring.newDataKey(accountId, wrappedAccountKey, callId, 'transcript');
      try {
        return { wrappedKey: dataKey.wrapped, sealed: keyring.sealObject(dataKey.key, accountId, callId, 'transcript', plain) };
      } finally {
        keyring.wipe(plain);
        keyring.wipe(dataKey.key);
      }
    },
    sealCaller(accountId, wrappedAccountKey, callId, fromUri) {
      return {
        hash: keyring.callerHash(accountId, wrappedAccountKey, callerKeyFromUri(fromUri)),
        sealed: keyring.sealCaller(accountId, wrappedAccountKey, callId, fromUri),
      };
    },
  };
}

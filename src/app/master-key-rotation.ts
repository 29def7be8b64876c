import { kalemError } from '../core/errors.js';
import type { Keyring } from '../crypto/keyring.js';
import type { SqliteTenantStore } from '../store/sqlite-tenant-store.js';
import { MASTER_CHECK_META } from './open-app.js';

/**
 * Re-wraps every account key under a new master key in ONE transaction: each key is unwrapped
 * with the old master key, wrapped with the new one, and the new wrapping is opened again and
 * compared before anything commits. Secrets themselves are untouched (they are sealed with the
 * account keys, which do not change). Any failure rolls everything back.
 */
export function rotateMasterKey(
  store: SqliteTenantStore,
  oldKeyring: Keyring,
  newKeyring: Keyring,
  audit: { actor: string; at: string },
): { accounts: number } {
  return store.transaction(() => {
    const rows = store.accounts.allWrappedKeys();
    for (const { accountId, wrappedKey } of rows) {
      const key = oldKeyring.unwrapAccountKey(accountId, wrappedKey);
      try {
        const rewrapped = newKeyring.wrapAccountKey(accountId, key);
        const verify = newKeyring.unwrapAccountKey(accountId, rewrapped);
        const same = verify.length === key.length && verify.every((b, i) => b === key[i]);
        newKeyring.wipe(verify);
        if (!same) throw kalemError('KALEM_ERR_WRONG_MASTER_KEY', accountId);
        store.accounts.setWrappedKey(accountId, rewrapped);
      } finally {
        oldKeyring.wipe(key);
      }
    }
    store.setMeta(MASTER_CHECK_META, newKeyring.masterCheck());
    store.audit.append({
      at: audit.at,
      actor: audit.actor,
      accountId: null,
      action: 'keys.rotate-master',
      target: 'master-key',
      details: { accounts: rows.length },
    });
    return { accounts: rows.length };
  });
}

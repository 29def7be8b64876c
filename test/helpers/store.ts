import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FakeClock } from '../../src/core/clock.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { migrate, openDatabase } from '../../src/store/database.js';
import { SqliteTenantStore } from '../../src/store/sqlite-tenant-store.js';
import { ProvisioningService } from '../../src/tenancy/provisioning-service.js';

/**
 * A migrated store in a temp dir, a random master key, and the provisioning service over them.
 * `close()` (give it to t.teardown) closes the database and removes the temp dir.
 */
export async function makeProvisioning() {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-store-'));
  const path = join(dir, 'kalem.db');
  const db = openDatabase({ path, busyTimeoutMs: 1000 });
  migrate(db, path, () => new Date().toISOString());
  const store = new SqliteTenantStore(db);
  const sodium = await sodiumReady();
  const keyring = new Keyring(sodium, randomBytes(32));
  const clock = new FakeClock();
  const provisioning = new ProvisioningService(store, keyring, clock, 'test');
  const close = (): void => {
    if (db.open) store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, path, db, store, keyring, sodium, clock, provisioning, close };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertCurrent, integrityCheck, migrate, openDatabase, schemaVersion } from '../../src/store/database.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/migrations.js';

const now = () => new Date().toISOString();

t.test('migrations apply once, are recorded, and set up WAL and foreign keys', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'kalem-mig-')), 'k.db');
  const db = openDatabase({ path, busyTimeoutMs: 1234 });
  t.teardown(() => db.close());
  t.equal(schemaVersion(db), 0);
  t.same(migrate(db, path, now), [1]);
  t.same(migrate(db, path, now), [], 'idempotent');
  t.equal(schemaVersion(db), LATEST_SCHEMA_VERSION);
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('foreign_keys', { simple: true }), 1);
  t.equal(db.pragma('busy_timeout', { simple: true }), 1234);
  t.same(integrityCheck(db), []);
  assertCurrent(db, path);
});

t.test('a database newer than the binary is refused', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'kalem-mig-')), 'k.db');
  const db = openDatabase({ path, busyTimeoutMs: 100 });
  t.teardown(() => db.close());
  migrate(db, path, now);
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 5, 'future', now());
  t.throws(() => assertCurrent(db, path), { code: 'KALEM_ERR_DB_TOO_NEW', message: new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 5}.*upgrade kalem`) });
  t.throws(() => migrate(db, path, now), { code: 'KALEM_ERR_DB_TOO_NEW' });
});

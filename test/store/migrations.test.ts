import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { FakeClock } from '../../src/core/clock.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { migrationKeys } from '../../src/privacy/migration-keys.js';
import { ErasureService } from '../../src/privacy/erasure-service.js';
import { SqliteTenantStore } from '../../src/store/sqlite-tenant-store.js';
import { CallRecordsService } from '../../src/tenancy/call-records-service.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertCurrent, integrityCheck, migrate, openDatabase, schemaVersion } from '../../src/store/database.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.js';

const now = () => new Date().toISOString();

t.test('migrations apply once, are recorded, and set up WAL and foreign keys', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'kalem-mig-')), 'k.db');
  const db = openDatabase({ path, busyTimeoutMs: 1234 });
  t.teardown(() => db.close());
  t.equal(schemaVersion(db), 0);
  t.same(migrate(db, path, now), MIGRATIONS.map((m) => m.version));
  // Strictly increasing from 1; numbers may be skipped (reserved for work merged later, see BRIEF).
  t.equal(MIGRATIONS[0]!.version, 1);
  t.ok(MIGRATIONS.every((m, i) => i === 0 || m.version > MIGRATIONS[i - 1]!.version), 'numbered in increasing order');
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

/** The schema as SQLite holds it: every table and index with its CREATE text (migrate's own bookkeeping table aside). */
function schemaOf(db: ReturnType<typeof openDatabase>): Array<{ type: string; name: string; sql: string | null }> {
  return db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY type, name")
    .all() as Array<{
    type: string;
    name: string;
    sql: string | null;
  }>;
}

t.test('a version-1 database with calls in it migrates to the same schema a new one gets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-mig-'));
  const fresh = openDatabase({ path: join(dir, 'fresh.db'), busyTimeoutMs: 100 });
  const old = openDatabase({ path: join(dir, 'old.db'), busyTimeoutMs: 100 });
  t.teardown(() => {
    fresh.close();
    old.close();
  });
  migrate(fresh, join(dir, 'fresh.db'), now);

  // Build the old database as version 1 of the binary would have: only the first migration.
  old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
  old.transaction(() => {
    old.exec(MIGRATIONS[0]!.sql);
    old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, ?, ?)').run(MIGRATIONS[0]!.name, now());
  })();
  old.prepare("INSERT INTO accounts (id, name, status, wrapped_key, created_at, updated_at) VALUES ('acc_1', 'a', 'active', x'00', 'x', 'x')").run();
  old.prepare("INSERT INTO calls (id, account_id, sip_call_id, started_at) VALUES ('call_1', 'acc_1', 'sip-1', 'x')").run();
  t.throws(() => assertCurrent(old, 'old.db'), { code: 'KALEM_ERR_DB_NOT_MIGRATED' }, 'an old database must be migrated explicitly');

  t.same(migrate(old, 'old.db', now), MIGRATIONS.slice(1).map((m) => m.version));
  t.same(schemaOf(old), schemaOf(fresh));
  t.same(integrityCheck(old), []);
  old.prepare("INSERT INTO call_transcripts (account_id, call_id, wrapped_key, sealed, created_at) VALUES ('acc_1', 'call_1', x'02', x'01', 'x')").run();
  t.equal((old.prepare('SELECT COUNT(*) AS n FROM call_transcripts').get() as { n: number }).n, 1, 'existing calls can take transcripts');
  assertCurrent(old, 'old.db');
});

t.test('schema 2 data (transcripts under the account key, callers in clear) is re-sealed by migration 4, with the master key only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-mig-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'k.db');
  const db = openDatabase({ path, busyTimeoutMs: 100 });
  t.teardown(() => db.close());
  const keyring = new Keyring(await sodiumReady(), randomBytes(32));
  // A database as kalem at schema 2 wrote it.
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT');
  for (const m of MIGRATIONS.slice(0, 2)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, now());
  }
  const wrapped = keyring.newWrappedAccountKey('acc_1');
  db.prepare("INSERT INTO accounts (id, name, status, wrapped_key, created_at, updated_at) VALUES ('acc_1', 'a', 'active', ?, 'x', 'x')").run(Buffer.from(wrapped));
  db.prepare(
    "INSERT INTO calls (id, account_id, sip_call_id, from_uri, started_at) VALUES ('call_1', 'acc_1', 'sip-1', 'sip:+15551234567@carrier.example', '2026-11-25T10:00:00.000Z')",
  ).run();
  const words = JSON.stringify([{ role: 'caller', text: 'legacy words persimmon', at: '2026-11-25T10:00:01.000Z' }]);
  const legacy = keyring.seal('acc_1', wrapped, 'transcript:call_1', 1, new TextEncoder().encode(words));
  db.prepare("INSERT INTO call_transcripts (account_id, call_id, sealed, created_at) VALUES ('acc_1', 'call_1', ?, 'x')").run(Buffer.from(legacy));
  db.pragma('wal_checkpoint(TRUNCATE)');

  t.throws(() => migrate(db, path, now), { code: 'KALEM_ERR_DB_NEEDS_KEY', message: /needs the master key \(1 transcript\(s\) and 1 caller number\(s\) must be re-sealed\)/ });
  t.equal(schemaVersion(db), 3, 'migration 4 rolled back whole; 3 (plain SQL) stays applied');
  t.equal((db.prepare('SELECT from_uri FROM calls').get() as { from_uri: string }).from_uri, 'sip:+15551234567@carrier.example', 'nothing half-converted');

  t.same(migrate(db, path, now, migrationKeys(keyring)), MIGRATIONS.filter((m) => m.version >= 4).map((m) => m.version), '4 and the later ones');
  t.same(migrate(db, path, now, migrationKeys(keyring)), [], 'idempotent');
  t.equal(schemaVersion(db), LATEST_SCHEMA_VERSION);
  const cols = (db.prepare("SELECT name FROM pragma_table_info('calls')").all() as Array<{ name: string }>).map((c) => c.name);
  t.notOk(cols.includes('from_uri'), 'the clear caller column is gone');
  const store = new SqliteTenantStore(db);
  const records = new CallRecordsService(store, keyring, new FakeClock(), 'test');
  t.same(records.transcript('acc_1', 'call_1'), JSON.parse(words), 'the transcript opens under its new data key');
  t.equal(records.callRecord('acc_1', 'call_1').fromUri, 'sip:+15551234567@carrier.example', 'the caller opens for the operator');
  t.equal(new ErasureService(store, keyring, new FakeClock(), 'test').eraseCaller('acc_1', '+15551234567').totals.calls, 1, 'and is found by its hash');
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f));
    t.notOk(bytes.includes(Buffer.from(legacy)), `the schema-2 sealed transcript is not in ${f}`);
    t.notOk(bytes.includes('5551234567'), `the caller number is not in clear in ${f}`);
  }
});

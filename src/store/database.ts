import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { kalemError } from '../core/errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type MigrationKeys } from './migrations.js';

/**
 * better-sqlite3 is CommonJS: loaded with `require`, Node skips scanning it for ES export names,
 * which every CLI command paid at start-up (see "CLI start-up" in docs/BENCHMARKS.md).
 */
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

export type Db = BetterSqlite3.Database;

export interface OpenOptions {
  path: string;
  busyTimeoutMs: number;
  readonly?: boolean;
}

/**
 * Opens the database with the settings every connection needs: WAL (readers never block the
 * writer), foreign keys on (SQLite's default is off), a busy timeout, and synchronous=NORMAL which
 * is durable across process crashes in WAL mode. New files are created mode 0600.
 * A writing connection runs with secure_delete: deleted rows and freed pages are overwritten with
 * zeros, so an erased secret, transcript or wrapped key does not linger in free space.
 */
export function openDatabase(opts: OpenOptions): Db {
  let db: Db;
  try {
    if (!opts.readonly) mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    const oldUmask = process.umask(0o077);
    try {
      db = new Database(opts.path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    } finally {
      process.umask(oldUmask);
    }
  } catch (err) {
    throw kalemError('KALEM_ERR_DB_OPEN', opts.path, (err as Error).message);
  }
  db.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs)}`);
  if (!opts.readonly) db.pragma('journal_mode = WAL');
  if (!opts.readonly) db.pragma('secure_delete = ON');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  return db;
}

export function schemaVersion(db: Db): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!exists) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** Refuses a database written by a newer kalem: its schema may mean things this binary does not know. */
export function assertNotNewer(db: Db, path: string): number {
  const v = schemaVersion(db);
  if (v > LATEST_SCHEMA_VERSION) throw kalemError('KALEM_ERR_DB_TOO_NEW', path, v, LATEST_SCHEMA_VERSION);
  return v;
}

/**
 * Applies pending migrations, each in its own transaction. Returns the versions applied. `keys`
 * (the master key's services) is needed only by migrations that re-seal data, and only when there
 * is data to re-seal; without it such a migration stops the run with KALEM_ERR_DB_NEEDS_KEY.
 */
export function migrate(db: Db, path: string, now: () => string, keys?: MigrationKeys): number[] {
  assertNotNewer(db, path);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= schemaVersion(db)) continue;
    db.transaction(() => {
      if (m.sql !== '') db.exec(m.sql);
      m.run?.(db, keys);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, now());
    }).immediate();
    applied.push(m.version);
  }
  // Data re-sealed by a migration leaves its old form in the WAL until it is checkpointed.
  if (applied.length > 0) db.pragma('wal_checkpoint(TRUNCATE)');
  return applied;
}

/** Opens for normal use: the schema must be exactly current (migrations are an explicit step). */
export function assertCurrent(db: Db, path: string): void {
  const v = assertNotNewer(db, path);
  if (v !== LATEST_SCHEMA_VERSION) throw kalemError('KALEM_ERR_DB_NOT_MIGRATED', path, v, LATEST_SCHEMA_VERSION);
}

export function integrityCheck(db: Db): string[] {
  const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  const fk = db.pragma('foreign_key_check') as unknown[];
  const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
  if (fk.length > 0) problems.push(`${fk.length} foreign key violation(s)`);
  return problems;
}

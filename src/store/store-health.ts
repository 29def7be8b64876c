import { kalemError } from '../core/errors.js';
import type { Db } from './database.js';

/**
 * Whether the database can be trusted with calls, for the daemon: the start-up integrity check,
 * the /healthz probe, and the verdict every call-path store error feeds.
 *
 * A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) stays failed until the daemon restarts: reading
 * on could route calls from half a table, and writing on could spread the damage. Errors that can
 * pass (disk full, I/O errors, a read-only file) fail the database until a probe succeeds again.
 * Lock contention (SQLITE_BUSY) is not a failure: the write queue waits it out.
 */
export class StoreHealth {
  private failure: { code: string; message: string; permanent: boolean } | null = null;

  constructor(private readonly db: Db) {}

  /** Null while healthy; otherwise what failed (code and SQLite's message, never data). */
  get failed(): { code: string; message: string } | null {
    return this.failure;
  }

  /** The file is damaged: no more writes, no more calls until a restart (after a restore). */
  get damaged(): boolean {
    return this.failure?.permanent === true;
  }

  /**
   * Records a store error; returns true when it says the database failed (as opposed to a
   * constraint violation or a bug in one query, which concern one request only).
   */
  report(err: unknown): boolean {
    const code = sqliteCode(err);
    if (code === undefined || !isStoreFailureCode(code)) return false;
    const permanent = code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
    if (this.failure === null || (permanent && !this.failure.permanent)) {
      this.failure = { code, message: (err as Error).message, permanent };
    }
    return true;
  }

  /**
   * A real query over the tables every call reads (numbers, trunks, accounts, agents) and the
   * schema version; a database failed for good reports that without touching it again.
   */
  probe(): { ok: true; detail: string } | { ok: false; detail: string } {
    if (this.failure?.permanent) return { ok: false, detail: `${this.failure.code}: ${this.failure.message}` };
    try {
      const row = this.db
        .prepare(
          `SELECT (SELECT MAX(version) FROM schema_migrations) AS version,
                  (SELECT COUNT(*) FROM numbers) AS numbers,
                  (SELECT COUNT(*) FROM trunks) AS trunks,
                  (SELECT COUNT(*) FROM accounts) AS accounts,
                  (SELECT COUNT(*) FROM agents) AS agents`,
        )
        .get() as { version: number; numbers: number; trunks: number; accounts: number };
      this.failure = null; // only a passing error gets here
      return { ok: true, detail: `schema ${row.version}, ${row.accounts} accounts, ${row.numbers} numbers, ${row.trunks} trunks` };
    } catch (err) {
      this.report(err);
      return { ok: false, detail: `${sqliteCode(err) ?? 'error'}: ${(err as Error).message}` };
    }
  }
}

/** SQLite's quick_check (the b-trees and their pages; not the slower index-content cross-check). */
export function quickCheck(db: Db): string[] {
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
  return rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
}

/** Throws KALEM_ERR_DB_CORRUPT naming the first problems when quick_check finds any. */
export function assertIntact(db: Db, path: string): void {
  let problems: string[];
  try {
    problems = quickCheck(db);
  } catch (err) {
    problems = [(err as Error).message];
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
    throw kalemError('KALEM_ERR_DB_CORRUPT', path, shown);
  }
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

function isStoreFailureCode(code: string): boolean {
  return ['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY'].some(
    (c) => code === c || code.startsWith(`${c}_`),
  );
}

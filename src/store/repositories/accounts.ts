import type { Db } from '../database.js';
import type { Account, AccountStatus } from '../../tenancy/model.js';
import type { AccountRepository, NewAccount } from '../../tenancy/ports.js';

interface AccountRow {
  id: string;
  name: string;
  status: AccountStatus;
  max_concurrent_calls: number | null;
  retention_transcripts_days: number | null;
  retention_recordings_days: number | null;
  retention_cdr_days: number | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS =
  'id, name, status, max_concurrent_calls, retention_transcripts_days, retention_recordings_days, retention_cdr_days, created_at, updated_at';

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    maxConcurrentCalls: r.max_concurrent_calls,
    retention: {
      transcriptsDays: r.retention_transcripts_days,
      recordingsDays: r.retention_recordings_days,
      cdrDays: r.retention_cdr_days,
    },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class SqliteAccountRepository implements AccountRepository {
  constructor(private readonly db: Db) {}

  insert(a: NewAccount): void {
    this.db
      .prepare(
        `INSERT INTO accounts (id, name, status, max_concurrent_calls, retention_transcripts_days,
          retention_recordings_days, retention_cdr_days, wrapped_key, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.id,
        a.name,
        a.status,
        a.maxConcurrentCalls,
        a.retention.transcriptsDays,
        a.retention.recordingsDays,
        a.retention.cdrDays,
        Buffer.from(a.wrappedKey),
        a.at,
        a.at,
      );
  }

  get(accountId: string): Account | undefined {
    const r = this.db.prepare(`SELECT ${COLUMNS} FROM accounts WHERE id = ?`).get(accountId) as AccountRow | undefined;
    return r && toAccount(r);
  }

  findByName(name: string): Account | undefined {
    const r = this.db.prepare(`SELECT ${COLUMNS} FROM accounts WHERE name = ? COLLATE NOCASE`).get(name) as AccountRow | undefined;
    return r && toAccount(r);
  }

  list(): Account[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM accounts ORDER BY name`).all() as AccountRow[]).map(toAccount);
  }

  update(
    accountId: string,
    patch: Partial<Pick<Account, 'name' | 'status' | 'maxConcurrentCalls' | 'retention'>>,
    at: string,
  ): void {
    const cur = this.get(accountId);
    if (!cur) return;
    const next = { ...cur, ...patch, retention: { ...cur.retention, ...patch.retention } };
    this.db
      .prepare(
        `UPDATE accounts SET name = ?, status = ?, max_concurrent_calls = ?, retention_transcripts_days = ?,
          retention_recordings_days = ?, retention_cdr_days = ?, updated_at = ? WHERE id = ?`,
      )
      .run(
        next.name,
        next.status,
        next.maxConcurrentCalls,
        next.retention.transcriptsDays,
        next.retention.recordingsDays,
        next.retention.cdrDays,
        at,
        accountId,
      );
  }

  delete(accountId: string): void {
    // Numbers reference agents with ON DELETE RESTRICT, so they go first; the rest cascades.
    this.db.prepare('DELETE FROM numbers WHERE account_id = ?').run(accountId);
    this.db.prepare('DELETE FROM accounts WHERE id = ?').run(accountId);
  }

  wrappedKey(accountId: string): Uint8Array | undefined {
    const r = this.db.prepare('SELECT wrapped_key FROM accounts WHERE id = ?').get(accountId) as
      | { wrapped_key: Buffer }
      | undefined;
    return r && new Uint8Array(r.wrapped_key);
  }

  allWrappedKeys(): Array<{ accountId: string; wrappedKey: Uint8Array }> {
    return (this.db.prepare('SELECT id, wrapped_key FROM accounts ORDER BY id').all() as Array<{ id: string; wrapped_key: Buffer }>).map(
      (r) => ({ accountId: r.id, wrappedKey: new Uint8Array(r.wrapped_key) }),
    );
  }

  setWrappedKey(accountId: string, wrappedKey: Uint8Array): void {
    this.db.prepare('UPDATE accounts SET wrapped_key = ? WHERE id = ?').run(Buffer.from(wrappedKey), accountId);
  }
}

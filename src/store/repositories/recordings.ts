import type { Db } from '../database.js';
import type { RecordingRepository, StoredRecording } from '../../tenancy/ports.js';

interface RecordingRow {
  account_id: string;
  call_id: string;
  wrapped_key: Buffer;
  file: string;
  status: StoredRecording['status'];
  failure: string | null;
  bytes: number;
  created_at: string;
}

/** Recording rows: the wrapped data key and the file name; every query names the account. */
export class SqliteRecordingRepository implements RecordingRepository {
  constructor(private readonly db: Db) {}

  insert(r: Omit<StoredRecording, 'status' | 'failure' | 'bytes'>): void {
    this.db
      .prepare("INSERT INTO call_recordings (account_id, call_id, wrapped_key, file, status, created_at) VALUES (?, ?, ?, ?, 'recording', ?)")
      .run(r.accountId, r.callId, Buffer.from(r.wrappedKey), r.file, r.createdAt);
  }

  finish(accountId: string, callId: string, status: 'complete' | 'failed', failure: string | null, bytes: number): void {
    this.db.prepare('UPDATE call_recordings SET status = ?, failure = ?, bytes = ? WHERE account_id = ? AND call_id = ?').run(status, failure, bytes, accountId, callId);
  }

  get(accountId: string, callId: string): StoredRecording | undefined {
    const r = this.db.prepare('SELECT * FROM call_recordings WHERE account_id = ? AND call_id = ?').get(accountId, callId) as RecordingRow | undefined;
    return (
      r && {
        accountId: r.account_id,
        callId: r.call_id,
        wrappedKey: new Uint8Array(r.wrapped_key),
        file: r.file,
        status: r.status,
        failure: r.failure,
        bytes: r.bytes,
        createdAt: r.created_at,
      }
    );
  }

  delete(accountId: string, callIds: readonly string[]): string[] {
    const files: string[] = [];
    const get = this.db.prepare('SELECT file FROM call_recordings WHERE account_id = ? AND call_id = ?');
    const del = this.db.prepare('DELETE FROM call_recordings WHERE account_id = ? AND call_id = ?');
    for (const id of callIds) {
      const r = get.get(accountId, id) as { file: string } | undefined;
      if (!r) continue;
      del.run(accountId, id);
      files.push(r.file);
    }
    return files;
  }

  createdBefore(accountId: string, before: string, limit: number): string[] {
    return (
      this.db
        .prepare('SELECT call_id FROM call_recordings WHERE account_id = ? AND created_at < ? ORDER BY created_at, call_id LIMIT ?')
        .all(accountId, before, limit) as Array<{ call_id: string }>
    ).map((r) => r.call_id);
  }
}

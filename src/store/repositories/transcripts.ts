import type { Db } from '../database.js';
import type { StoredTranscript, TranscriptRepository } from '../../tenancy/ports.js';

/** Sealed transcripts with their wrapped data keys: opaque blobs keyed by (account, call); every query names the account. */
export class SqliteTranscriptRepository implements TranscriptRepository {
  constructor(private readonly db: Db) {}

  put(accountId: string, callId: string, t: StoredTranscript, createdAt: string): void {
    this.db
      .prepare('INSERT INTO call_transcripts (account_id, call_id, wrapped_key, sealed, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(accountId, callId, Buffer.from(t.wrappedKey), Buffer.from(t.sealed), createdAt);
  }

  get(accountId: string, callId: string): StoredTranscript | undefined {
    const r = this.db.prepare('SELECT wrapped_key, sealed FROM call_transcripts WHERE account_id = ? AND call_id = ?').get(accountId, callId) as
      | { wrapped_key: Buffer; sealed: Buffer }
      | undefined;
    return r && { wrappedKey: new Uint8Array(r.wrapped_key), sealed: new Uint8Array(r.sealed) };
  }

  delete(accountId: string, callId: string): number {
    return this.db.prepare('DELETE FROM call_transcripts WHERE account_id = ? AND call_id = ?').run(accountId, callId).changes;
  }

  createdBefore(accountId: string, before: string, limit: number): string[] {
    return (
      this.db
        .prepare('SELECT call_id FROM call_transcripts WHERE account_id = ? AND created_at < ? ORDER BY created_at, call_id LIMIT ?')
        .all(accountId, before, limit) as Array<{ call_id: string }>
    ).map((r) => r.call_id);
  }
}

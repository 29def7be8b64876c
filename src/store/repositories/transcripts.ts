import type { Db } from '../database.js';
import type { TranscriptRepository } from '../../tenancy/ports.js';

/** Sealed transcripts: opaque blobs keyed by (account, call); every query names the account. */
export class SqliteTranscriptRepository implements TranscriptRepository {
  constructor(private readonly db: Db) {}

  put(accountId: string, callId: string, sealed: Uint8Array, createdAt: string): void {
    this.db
      .prepare('INSERT INTO call_transcripts (account_id, call_id, sealed, created_at) VALUES (?, ?, ?, ?)')
      .run(accountId, callId, Buffer.from(sealed), createdAt);
  }

  get(accountId: string, callId: string): Uint8Array | undefined {
    const r = this.db.prepare('SELECT sealed FROM call_transcripts WHERE account_id = ? AND call_id = ?').get(accountId, callId) as
      | { sealed: Buffer }
      | undefined;
    return r && new Uint8Array(r.sealed);
  }
}

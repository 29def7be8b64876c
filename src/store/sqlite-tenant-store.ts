import type { TenantStore } from '../tenancy/ports.js';
import type { Db } from './database.js';
import { withStatementCache } from './statement-cache.js';
import { SqliteAccountRepository } from './repositories/accounts.js';
import { SqliteAgentRepository } from './repositories/agents.js';
import { SqliteAuditRepository } from './repositories/audit.js';
import { SqliteCallRepository } from './repositories/calls.js';
import { SqliteNumberRepository } from './repositories/numbers.js';
import { SqliteSecretRepository } from './repositories/secrets.js';
import { SqliteTranscriptRepository } from './repositories/transcripts.js';
import { SqliteTrunkRepository } from './repositories/trunks.js';
import { SqliteUsageRepository } from './repositories/usage.js';
import { SqliteRecordingRepository } from './repositories/recordings.js';

/** The TenantStore port over one better-sqlite3 connection. */
export class SqliteTenantStore implements TenantStore {
  readonly accounts;
  readonly agents;
  readonly numbers;
  readonly trunks;
  readonly secrets;
  readonly audit;
  readonly calls;
  readonly transcripts;
  readonly usage;
  readonly recordings;

  constructor(readonly db: Db) {
    const cached = withStatementCache(db);
    this.accounts = new SqliteAccountRepository(cached);
    this.agents = new SqliteAgentRepository(cached);
    this.numbers = new SqliteNumberRepository(cached);
    this.trunks = new SqliteTrunkRepository(cached);
    this.secrets = new SqliteSecretRepository(cached);
    this.audit = new SqliteAuditRepository(cached);
    this.calls = new SqliteCallRepository(cached);
    this.transcripts = new SqliteTranscriptRepository(cached);
    this.usage = new SqliteUsageRepository(cached);
    this.recordings = new SqliteRecordingRepository(cached);
  }

  transaction<T>(fn: () => T): T {
    // IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
    return this.db.transaction(fn).immediate();
  }

  flushErased(): { busy: boolean } {
    const [r] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    return { busy: (r?.busy ?? 0) !== 0 };
  }

  getMeta(key: string): Uint8Array | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: Buffer } | undefined;
    return r && new Uint8Array(r.value);
  }

  setMeta(key: string, value: Uint8Array): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
      key,
      Buffer.from(value),
    );
  }

  close(): void {
    this.db.close();
  }
}

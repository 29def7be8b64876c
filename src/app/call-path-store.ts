import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Keyring } from '../crypto/keyring.js';
import { openDatabase } from '../store/database.js';
import { NonBlockingWriter } from '../store/nonblocking-writer.js';
import { SqliteTenantStore } from '../store/sqlite-tenant-store.js';
import type { StoreHealth } from '../store/store-health.js';
import { CallRecordsService } from '../tenancy/call-records-service.js';
import type { TranscriptTurn } from '../tenancy/model.js';
import type { CdrWriter, NewAuditEntry, TenantStore } from '../tenancy/ports.js';

/**
 * The daemon's writes from the call path (CDR insert and update, sealed transcripts, audit rows
 * of refused Realtime keys), all through one NonBlockingWriter on a connection of their own, so
 * no call ever waits for SQLite's write lock (see store/nonblocking-writer.ts). Reads stay on the
 * main connection: in WAL mode a reader never waits for a writer.
 *
 * A write that fails or cannot be queued is logged with its kind and call id, never its data.
 * A write failing because the database failed is reported to StoreHealth; once the file is
 * known to be damaged, writes are refused (logged, counted as dropped) instead of attempted.
 */
export class CallPathStore {
  readonly writer: NonBlockingWriter;
  private readonly writeStore: SqliteTenantStore;
  private readonly records: CallRecordsService;
  private readonly health: StoreHealth | undefined;
  private readonly log: Logger;
  private refusedLogged = false;

  constructor(opts: {
    path: string;
    clock: Clock;
    keyring: Keyring;
    log: Logger;
    health?: StoreHealth;
    maxQueued?: number;
  }) {
    const db = openDatabase({ path: opts.path, busyTimeoutMs: 0 });
    this.writeStore = new SqliteTenantStore(db);
    this.writer = new NonBlockingWriter({ db, clock: opts.clock, ...(opts.maxQueued ? { maxQueued: opts.maxQueued } : {}) });
    this.records = new CallRecordsService(this.writeStore, opts.keyring, opts.clock, 'daemon');
    const log = opts.log;
    this.log = log;
    this.health = opts.health;
    this.writer.on('blocked', (label) => log.warn({ write: label }, 'database write lock held elsewhere: call-path writes queued until it is free'));
    this.writer.on('idle', () => log.info({ written: this.writer.stats().written }, 'queued call-path writes written'));
    this.writer.on('failed', (f) => {
      opts.health?.report(f.error);
      log.error({ write: f.label, err: f.error.message }, 'call-path write failed');
    });
    this.writer.on('dropped', (label) => log.error({ write: label }, 'call-path write dropped: the write queue is full or closed'));
    // The caller is hashed and sealed, and the usage row written with the CDR's end, by the
    // service, on the writer's connection.
    this.cdrs = {
      insert: (c) => this.enqueue(`cdr.insert ${c.id}`, () => this.records.insert(c)),
      finish: (accountId, callId, end) => this.enqueue(`cdr.finish ${callId}`, () => this.records.finish(accountId, callId, end)),
    };
  }

  /** CDRs: writes queued (in order, so a call's later rows always find its CDR). */
  readonly cdrs: CdrWriter;

  /** Any other call-path write (a recording's row), queued behind the CDR it refers to. */
  write(label: string, run: (store: TenantStore) => void): void {
    this.enqueue(label, () => run(this.writeStore));
  }

  /** Seals and stores a call's transcript (honours the agent's setting), queued. */
  storeTranscript(accountId: string, callId: string, turns: TranscriptTurn[]): void {
    this.enqueue(`transcript ${callId}`, () => void this.records.storeTranscript(accountId, callId, turns));
  }

  audit(entry: NewAuditEntry): void {
    this.enqueue(`audit ${entry.action}`, () => this.writeStore.audit.append(entry));
  }

  private enqueue(label: string, run: () => void): void {
    if (this.health?.damaged) {
      if (!this.refusedLogged) {
        this.refusedLogged = true;
        this.log.error({ write: label, failure: this.health.failed?.code }, 'database damaged: call-path writes are refused until it is restored');
      }
      return;
    }
    this.writer.enqueue(label, run);
  }

  /** Writes what is queued (retrying up to `timeoutMs`), then closes; resolves with the writes lost. */
  async close(timeoutMs: number): Promise<number> {
    const left = await this.writer.flush(timeoutMs);
    this.writer.close();
    this.writeStore.close();
    return left;
  }
}

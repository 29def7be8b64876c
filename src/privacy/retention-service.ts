import { kalemError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Account } from '../tenancy/model.js';
import type { TenantStore } from '../tenancy/ports.js';
import type { RecordingFileRemover } from './erasure-service.js';

export const RETENTION_KINDS = ['transcripts', 'recordings', 'cdrs'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

export type SweepCounts = Record<RetentionKind, number>;

export interface AccountSweep extends SweepCounts {
  readonly accountId: string;
  readonly account: string;
}

export interface SweepResult {
  readonly accounts: AccountSweep[];
  readonly totals: SweepCounts;
  readonly walTruncated: boolean;
}

const DAY_MS = 86_400_000;
export const DEFAULT_BATCH = 100;

const zero = (): SweepCounts => ({ transcripts: 0, recordings: 0, cdrs: 0 });

/**
 * Retention: each account's windows (days; 0 = not kept at all, null = kept until erased) applied
 * to transcripts, recordings and CDRs. Work is done in small batches, each its own short
 * transaction, so a sweep never holds the write lock for long: the daemon's sweeper yields to the
 * event loop between batches, and `kalem retention run` simply loops.
 *
 * A CDR past its window is deleted with whatever content still hangs off it (a CDR window
 * shorter than a content window therefore shortens that content's life too); its usage row stays.
 */
export class RetentionService {
  constructor(
    private readonly store: TenantStore,
    private readonly clock: Clock,
    private readonly actor: string,
    private readonly recordings?: RecordingFileRemover,
  ) {}

  /** The accounts a sweep covers: one (by id or name) or all. */
  accounts(accountRef?: string): Account[] {
    if (accountRef === undefined) return this.store.accounts.list();
    const a = this.store.accounts.get(accountRef) ?? this.store.accounts.findByName(accountRef);
    if (!a) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', accountRef);
    return [a];
  }

  /** The ISO time before which this kind of the account's data is out of its window, or null (kept). */
  cutoff(account: Account, kind: RetentionKind): string | null {
    const days = kind === 'transcripts' ? account.retention.transcriptsDays : kind === 'recordings' ? account.retention.recordingsDays : account.retention.cdrDays;
    if (days === null) return null;
    return new Date(this.clock.now() - days * DAY_MS).toISOString();
  }

  /**
   * One batch, in one transaction: up to `limit` items of one kind of one account that are past
   * the window. Returns how many were removed (fewer than `limit`: nothing more to do).
   */
  sweepBatch(accountId: string, kind: RetentionKind, limit = DEFAULT_BATCH): number {
    return this.store.transaction(() => {
      const account = this.store.accounts.get(accountId);
      if (!account) return 0;
      const before = this.cutoff(account, kind);
      if (before === null) return 0;
      if (kind === 'transcripts') {
        const ids = this.store.transcripts.createdBefore(accountId, before, limit);
        for (const id of ids) this.store.transcripts.delete(accountId, id);
        return ids.length;
      }
      if (kind === 'recordings') return this.recordings?.sweepRecordings?.(accountId, before, limit) ?? 0;
      const ids = this.store.calls.startedBefore(accountId, before, limit);
      if (ids.length === 0) return 0;
      // Content first, so recording files are unlinked; then the CDRs (transcripts would cascade anyway).
      for (const id of ids) this.store.transcripts.delete(accountId, id);
      this.recordings?.eraseRecordings(accountId, ids);
      return this.store.calls.delete(accountId, ids);
    });
  }

  /** Writes the audit row of one account's sweep (only when it removed something). */
  auditSweep(s: AccountSweep, trigger: string): void {
    if (s.transcripts + s.recordings + s.cdrs === 0) return;
    this.store.audit.append({
      at: new Date(this.clock.now()).toISOString(),
      actor: this.actor,
      accountId: s.accountId,
      action: 'retention.sweep',
      target: s.accountId,
      details: { transcripts: s.transcripts, recordings: s.recordings, cdrs: s.cdrs, trigger },
    });
  }

  /** `kalem retention run [--account A]`: sweeps to completion, audits per account, truncates the WAL. */
  runAll(accountRef?: string, batch = DEFAULT_BATCH): SweepResult {
    const accounts: AccountSweep[] = [];
    for (const a of this.accounts(accountRef)) {
      const counts = zero();
      for (const kind of RETENTION_KINDS) {
        for (;;) {
          const n = this.sweepBatch(a.id, kind, batch);
          counts[kind] += n;
          if (n < batch) break;
        }
      }
      const s = { accountId: a.id, account: a.name, ...counts };
      this.auditSweep(s, 'command');
      accounts.push(s);
    }
    const totals = sumCounts(accounts);
    const walTruncated = totals.transcripts + totals.recordings + totals.cdrs === 0 ? true : !this.store.flushErased().busy;
    return { accounts, totals, walTruncated };
  }
}

export function sumCounts(list: readonly SweepCounts[]): SweepCounts {
  const t = zero();
  for (const s of list) for (const k of RETENTION_KINDS) t[k] += s[k];
  return t;
}

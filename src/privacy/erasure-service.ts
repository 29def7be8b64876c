import { kalemError } from '../core/errors.js';
import { accountByRef, wrappedAccountKey } from '../tenancy/account-lookup.js';
import type { Clock } from '../core/clock.js';
import type { Account } from '../tenancy/model.js';
import type { ContentVault, TenantStore } from '../tenancy/ports.js';
import { callerKeyFromInput } from '../tenancy/caller-id.js';

/** What one erasure removed. Counts only: an erasure's record never holds content or a number. */
export interface ErasureCounts {
  /** Calls touched. */
  readonly calls: number;
  /** Transcripts destroyed (their wrapped data keys with them). */
  readonly transcripts: number;
  /** Recordings destroyed (wrapped key row and file). */
  readonly recordings: number;
  /** CDRs whose caller hash and sealed caller were removed. */
  readonly callerFields: number;
}

export interface ErasureResult extends ErasureCounts {
  readonly accountId: string;
  readonly account: string;
  /** False when a reader kept the WAL from being truncated at once (SQLite truncates it at the next checkpoint). */
  readonly walTruncated: boolean;
}

export interface CallerErasureResult {
  /** One entry per account searched, with the caller's keyed hash in that account (hex). */
  readonly accounts: ReadonlyArray<ErasureResult & { readonly callerHash: string }>;
  readonly totals: ErasureCounts;
  readonly walTruncated: boolean;
}

/** Removes the stored files of recordings (privacy/recording-store implements it). */
export interface RecordingFileRemover {
  /** Deletes the key rows of these calls' recordings and unlinks their files; returns how many. */
  eraseRecordings(accountId: string, callIds: readonly string[]): number;
  /** Retention: erases up to `limit` recordings of the account started before `before`; returns how many. */
  sweepRecordings?(accountId: string, before: string, limit: number): number;
}

const NONE: ErasureCounts = { calls: 0, transcripts: 0, recordings: 0, callerFields: 0 };

/**
 * Erasure: one call, one caller (a GDPR request), one account. Pure service functions over the
 * store and the vault, so the CLI and the admin API call the same code.
 *
 * What erasing means here: the wrapped data key and the sealed object are deleted in one
 * transaction (destroying the key alone is enough to make any lingering ciphertext unreadable);
 * secure_delete zeroes the freed bytes in the database file; afterwards the WAL is checkpointed
 * and truncated so no older copy of those pages stays in it. Each erasure writes one audit row
 * with counts and, for a caller, the caller's keyed hash: never content, never the number.
 * Usage rows (call_usage) are not touched: they hold neither content nor the caller.
 */
export class ErasureService {
  constructor(
    private readonly store: TenantStore,
    private readonly vault: ContentVault,
    private readonly clock: Clock,
    private readonly actor: string,
    private readonly recordings?: RecordingFileRemover,
  ) {}

  /** `kalem calls delete ACCOUNT CALL_ID`: the call's transcript, recording and caller fields. The CDR and usage stay. */
  deleteCall(accountRef: string, callId: string): ErasureResult {
    const r = this.store.transaction(() => {
      const a = this.account(accountRef);
      if (!this.store.calls.get(a.id, callId)) throw kalemError('KALEM_ERR_UNKNOWN_CALL', callId, a.name);
      const counts = this.eraseCalls(a.id, [callId]);
      this.audit(a.id, 'call.erase', callId, { ...counts });
      return { accountId: a.id, account: a.name, ...counts };
    });
    return { ...r, walTruncated: this.flush() };
  }

  /**
   * `kalem calls erase ACCOUNT --caller NUMBER`: everything concerning one caller in one account
   * (or in every account with `accountRef` null): transcripts, recordings, caller fields of CDRs.
   */
  eraseCaller(accountRef: string | null, number: string): CallerErasureResult {
    const key = callerKeyFromInput(number);
    const accounts = accountRef === null ? this.store.accounts.list() : [this.account(accountRef)];
    const results = accounts.map((acct) =>
      this.store.transaction(() => {
        const a = this.store.accounts.get(acct.id);
        if (!a) return null;
        const hash = this.vault.callerHash(a.id, this.wrappedKey(a.id), key);
        const hex = Buffer.from(hash).toString('hex');
        const counts = this.eraseCalls(a.id, this.store.calls.findByCallerHash(a.id, hash));
        this.audit(a.id, 'caller.erase', hex, { ...counts, scope: accountRef === null ? 'all-accounts' : 'account' });
        return { accountId: a.id, account: a.name, callerHash: hex, ...counts, walTruncated: true };
      }),
    );
    const done = results.filter((r): r is NonNullable<typeof r> => r !== null);
    const walTruncated = this.flush();
    return {
      accounts: done.map((r) => ({ ...r, walTruncated })),
      totals: done.reduce(
        (t, r) => ({ calls: t.calls + r.calls, transcripts: t.transcripts + r.transcripts, recordings: t.recordings + r.recordings, callerFields: t.callerFields + r.callerFields }),
        NONE,
      ),
      walTruncated,
    };
  }

  /**
   * `kalem account delete`: erases every call's content first (so the counts are recorded and
   * recording files are unlinked), then deletes the account with its wrapped key: a crypto-shred,
   * since nothing sealed under that key can be opened again. Usage rows and the audit trail stay.
   */
  deleteAccount(ref: string): ErasureResult {
    const r = this.store.transaction(() => {
      const a = this.account(ref);
      const counts = this.eraseCalls(a.id, this.store.calls.ids(a.id));
      this.audit(a.id, 'account.erase', a.id, { ...counts });
      this.store.accounts.delete(a.id);
      this.audit(a.id, 'account.delete', a.id, { name: a.name });
      return { accountId: a.id, account: a.name, ...counts };
    });
    return { ...r, walTruncated: this.flush() };
  }

  /** Inside a transaction: destroys the content of these calls of one account. */
  private eraseCalls(accountId: string, callIds: readonly string[]): ErasureCounts {
    let transcripts = 0;
    let callerFields = 0;
    for (const id of callIds) {
      transcripts += this.store.transcripts.delete(accountId, id);
      callerFields += this.store.calls.eraseCaller(accountId, id);
    }
    const recordings = this.recordings?.eraseRecordings(accountId, callIds) ?? 0;
    return { calls: callIds.length, transcripts, recordings, callerFields };
  }

  private flush(): boolean {
    return !this.store.flushErased().busy;
  }

  private audit(accountId: string, action: string, target: string, details: Record<string, unknown>): void {
    this.store.audit.append({ at: new Date(this.clock.now()).toISOString(), actor: this.actor, accountId, action, target, details });
  }

  private account(ref: string): Account {
    return accountByRef(this.store.accounts, ref);
  }

  private wrappedKey(accountId: string): Uint8Array {
    return wrappedAccountKey(this.store.accounts, accountId);
  }
}

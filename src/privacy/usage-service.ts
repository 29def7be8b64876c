import { kalemError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { UsageRecord, UsageTotals } from '../tenancy/model.js';
import type { TenantStore } from '../tenancy/ports.js';

export interface UsagePeriod {
  /** Inclusive ISO time. */
  readonly from: string;
  /** Exclusive ISO time. */
  readonly to: string;
}

export interface AccountUsage {
  readonly accountId: string;
  readonly account: string;
  readonly period: UsagePeriod;
  readonly calls: UsageRecord[];
  readonly totals: UsageTotals;
}

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Usage reports, from the call_usage table only: no content, no caller, and unaffected by
 * erasure or retention of content. The CLI and the admin API call the same functions.
 */
export class UsageService {
  constructor(
    private readonly store: TenantStore,
    private readonly clock: Clock,
  ) {}

  /**
   * The period [from, to) from the operator's dates (UTC). A date-only `to` includes that whole
   * day. Defaults: from the first of the current month, to now.
   */
  period(from?: string, to?: string): UsagePeriod {
    const now = new Date(this.clock.now());
    const start = from === undefined ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) : parseDate('--from', from);
    const end = to === undefined ? now.getTime() : parseDate('--to', to) + (DATE_ONLY.test(to) ? DAY_MS : 0);
    if (end <= start) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `--to (${to ?? 'now'}) must be after --from (${from ?? 'the first of the month'})`);
    return { from: new Date(start).toISOString(), to: new Date(end).toISOString() };
  }

  forAccount(accountRef: string, period: UsagePeriod): AccountUsage {
    const a = this.store.accounts.get(accountRef) ?? this.store.accounts.findByName(accountRef);
    if (!a) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', accountRef);
    const calls = this.store.usage.list(a.id, period.from, period.to);
    const totals = this.store.usage.totals(period.from, period.to).find((x) => x.accountId === a.id) ?? emptyTotals(a.id, a.name);
    return { accountId: a.id, account: a.name, period, calls, totals };
  }

  /** Operator-wide: totals per account (deleted accounts too, by id). */
  summary(period: UsagePeriod): { period: UsagePeriod; accounts: UsageTotals[] } {
    return { period, accounts: this.store.usage.totals(period.from, period.to) };
  }
}

function parseDate(flag: string, s: string): number {
  const ms = DATE_ONLY.test(s) ? Date.parse(`${s}T00:00:00.000Z`) : /^\d{4}-\d{2}-\d{2}T/.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(ms)) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `${flag} takes a date (2026-11-01) or an ISO 8601 time (got "${s}")`);
  return ms;
}

function emptyTotals(accountId: string, account: string): UsageTotals {
  return {
    accountId, account, calls: 0, billableSeconds: 0, modelAudioInMs: 0, modelAudioOutMs: 0, inputTokens: 0, outputTokens: 0,
    inputAudioTokens: 0, outputAudioTokens: 0, inputTextTokens: 0, outputTextTokens: 0, cachedTokens: 0,
  };
}

import type { Db } from '../database.js';
import type { UsageRecord, UsageTotals } from '../../tenancy/model.js';
import type { UsageRepository } from '../../tenancy/ports.js';

interface UsageRow {
  call_id: string;
  account_id: string;
  agent_id: string | null;
  number_e164: string | null;
  started_at: string;
  billable_seconds: number;
  model_audio_in_ms: number;
  model_audio_out_ms: number;
  input_tokens: number;
  output_tokens: number;
  input_audio_tokens: number;
  output_audio_tokens: number;
  input_text_tokens: number;
  output_text_tokens: number;
  cached_tokens: number;
}

const COUNTERS = [
  'billable_seconds', 'model_audio_in_ms', 'model_audio_out_ms', 'input_tokens', 'output_tokens', 'input_audio_tokens',
  'output_audio_tokens', 'input_text_tokens', 'output_text_tokens', 'cached_tokens',
] as const;

function counters(r: Omit<UsageRow, 'call_id' | 'account_id' | 'agent_id' | 'number_e164' | 'started_at'>) {
  return {
    billableSeconds: r.billable_seconds,
    modelAudioInMs: r.model_audio_in_ms,
    modelAudioOutMs: r.model_audio_out_ms,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    inputAudioTokens: r.input_audio_tokens,
    outputAudioTokens: r.output_audio_tokens,
    inputTextTokens: r.input_text_tokens,
    outputTextTokens: r.output_text_tokens,
    cachedTokens: r.cached_tokens,
  };
}

export class SqliteUsageRepository implements UsageRepository {
  constructor(private readonly db: Db) {}

  put(u: UsageRecord): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO call_usage (call_id, account_id, agent_id, number_e164, started_at, ${COUNTERS.join(', ')})
         VALUES (?, ?, ?, ?, ?, ${COUNTERS.map(() => '?').join(', ')})`,
      )
      .run(
        u.callId, u.accountId, u.agentId, u.numberE164, u.startedAt, u.billableSeconds, u.modelAudioInMs, u.modelAudioOutMs, u.inputTokens,
        u.outputTokens, u.inputAudioTokens, u.outputAudioTokens, u.inputTextTokens, u.outputTextTokens, u.cachedTokens,
      );
  }

  list(accountId: string, from: string, to: string): UsageRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM call_usage WHERE account_id = ? AND started_at >= ? AND started_at < ? ORDER BY started_at, call_id')
        .all(accountId, from, to) as UsageRow[]
    ).map((r) => ({ callId: r.call_id, accountId: r.account_id, agentId: r.agent_id, numberE164: r.number_e164, startedAt: r.started_at, ...counters(r) }));
  }

  totals(from: string, to: string): UsageTotals[] {
    const sums = COUNTERS.map((c) => `SUM(u.${c}) AS ${c}`).join(', ');
    return (
      this.db
        .prepare(
          `SELECT u.account_id, a.name AS account, COUNT(*) AS calls, ${sums}
           FROM call_usage u LEFT JOIN accounts a ON a.id = u.account_id
           WHERE u.started_at >= ? AND u.started_at < ? GROUP BY u.account_id ORDER BY a.name, u.account_id`,
        )
        .all(from, to) as Array<UsageRow & { account: string | null; calls: number }>
    ).map((r) => ({ accountId: r.account_id, account: r.account, calls: r.calls, ...counters(r) }));
  }
}

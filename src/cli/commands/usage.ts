import { Command } from '../commander.js';
import { kalemError } from '../../core/errors.js';
import type { UsageRecord, UsageTotals } from '../../tenancy/model.js';
import { globals, withProvisioning } from '../context.js';
import { printJson, printTable, say } from '../output.js';

const CALL_COLUMNS = [
  'callId', 'agentId', 'numberE164', 'startedAt', 'billableSeconds', 'modelAudioInMs', 'modelAudioOutMs', 'inputTokens', 'outputTokens',
  'inputAudioTokens', 'outputAudioTokens', 'inputTextTokens', 'outputTextTokens', 'cachedTokens',
] as const;
const TOTAL_COLUMNS = [
  'accountId', 'account', 'calls', 'billableSeconds', 'modelAudioInMs', 'modelAudioOutMs', 'inputTokens', 'outputTokens', 'inputAudioTokens',
  'outputAudioTokens', 'inputTextTokens', 'outputTextTokens', 'cachedTokens',
] as const;

export function usageCommand(): Command {
  return new Command('usage')
    .description('usage per call (no caller, no content; kept when content is erased): one account, or a summary of all')
    .argument('[account]', 'account id or name (or --all-accounts for the operator-wide summary)')
    .option('--all-accounts', 'totals per account')
    .option('--from <date>', 'first day (UTC), e.g. 2026-11-01 (default: the first of this month)')
    .option('--to <date>', 'last day, included (UTC), or an ISO time, excluded (default: now)')
    .option('--csv', 'CSV with a header line')
    .action(async (account: string | undefined, o: { allAccounts?: boolean; from?: string; to?: string; csv?: boolean }, c: Command) => {
      if ((account === undefined) === (o.allAccounts !== true)) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'name one account, or give --all-accounts (not both)');
      if (o.csv && globals(c).json) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', '--csv and --json are exclusive');
      const r = await withProvisioning(c, (app) => {
        const period = app.usage.period(o.from, o.to);
        return account === undefined ? { kind: 'summary' as const, ...app.usage.summary(period) } : { kind: 'account' as const, ...app.usage.forAccount(account, period) };
      });
      if (globals(c).json) {
        const { kind: _kind, ...rest } = r;
        printJson(rest);
        return;
      }
      if (r.kind === 'account') {
        if (o.csv) return csv(r.calls, CALL_COLUMNS);
        say(`usage of ${r.account} from ${r.period.from} to ${r.period.to}:`);
        printTable(r.calls.map(callRow), ['call', 'started', 'number', 'seconds', 'audio_in_s', 'audio_out_s', 'tokens_in', 'tokens_out']);
        say(`total: ${r.totals.calls} call(s), ${r.totals.billableSeconds} s billable, ${r.totals.inputTokens} input and ${r.totals.outputTokens} output tokens`);
        return;
      }
      if (o.csv) return csv(r.accounts, TOTAL_COLUMNS);
      say(`usage from ${r.period.from} to ${r.period.to}:`);
      printTable(r.accounts.map(totalRow), ['account', 'calls', 'seconds', 'audio_in_s', 'audio_out_s', 'tokens_in', 'tokens_out']);
    });
}

const secs = (ms: number): number => Math.round(ms / 100) / 10;

function callRow(u: UsageRecord) {
  return { call: u.callId, started: u.startedAt, number: u.numberE164, seconds: u.billableSeconds, audio_in_s: secs(u.modelAudioInMs), audio_out_s: secs(u.modelAudioOutMs), tokens_in: u.inputTokens, tokens_out: u.outputTokens };
}

function totalRow(u: UsageTotals) {
  return { account: u.account ?? `${u.accountId} (deleted)`, calls: u.calls, seconds: u.billableSeconds, audio_in_s: secs(u.modelAudioInMs), audio_out_s: secs(u.modelAudioOutMs), tokens_in: u.inputTokens, tokens_out: u.outputTokens };
}

/** RFC 4180: fields with a comma, quote or newline are quoted, quotes doubled. */
function csv<T extends object>(rows: readonly T[], columns: readonly (keyof T & string)[]): void {
  const cell = (v: unknown): string => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  process.stdout.write(columns.join(',') + '\r\n');
  for (const r of rows) process.stdout.write(columns.map((c) => cell(r[c])).join(',') + '\r\n');
}

import { Command } from '../commander.js';
import type { CallRecord, TranscriptTurn } from '../../tenancy/model.js';
import { globals, withProvisioning } from '../context.js';
import { printable, printJson, printRecord, printTable, say } from '../output.js';
import { positiveInt } from '../parse.js';
import { kalemError } from '../../core/errors.js';
import type { ErasureCounts } from '../../privacy/erasure-service.js';

export function callsCommand(): Command {
  const cmd = new Command('calls').description('call records (CDRs) and their transcripts, which are sealed under the account key');

  cmd
    .command('list')
    .description('an account\'s calls, newest first')
    .argument('<account>', 'account id or name')
    .option('--limit <n>', 'how many calls', positiveInt, 50)
    .action(async (account: string, o: { limit: number }, c: Command) => {
      const list = await withProvisioning(c, (app) => app.callRecords.listCalls(account, o.limit));
      if (globals(c).json) printJson(list);
      else
        printTable(
          list.map((r) => ({
            id: r.id,
            started: r.startedAt,
            number: printable(r.numberE164),
            duration: duration(r),
            end_reason: printable(r.endReason),
            hangup_by: r.hangupBy,
          })),
          ['id', 'started', 'number', 'duration', 'end_reason', 'hangup_by'],
        );
    });

  cmd
    .command('show')
    .description('every field of one call record')
    .argument('<account>', 'account id or name')
    .argument('<call-id>', 'call id (from `kalem calls list`)')
    .action(async (account: string, callId: string, _o, c: Command) => {
      const r = await withProvisioning(c, (app) => app.callRecords.callRecord(account, callId));
      if (globals(c).json) {
        printJson(r);
        return;
      }
      printRecord({
        id: r.id,
        account: r.accountId,
        agent: r.agentId,
        trunk: r.trunkId,
        number: printable(r.numberE164),
        from: printable(r.fromUri),
        sip_call_id: printable(r.sipCallId),
        started: r.startedAt,
        answered: r.answeredAt,
        ended: r.endedAt,
        duration: duration(r),
        end_reason: printable(r.endReason),
        hangup_by: r.hangupBy,
        transcript: r.hasTranscript ? 'yes (kalem calls transcript)' : 'no',
        recording: r.hasRecording ? 'yes (kalem calls recording)' : 'no',
      });
      say('details:');
      for (const line of JSON.stringify(r.details, null, 2).split('\n')) say(`  ${printable(line)}`);
    });

  cmd
    .command('transcript')
    .description('one line per turn: time (UTC), role, text; reading it is written to the audit trail')
    .argument('<account>', 'account id or name')
    .argument('<call-id>', 'call id (from `kalem calls list`)')
    .action(async (account: string, callId: string, _o, c: Command) => {
      const turns = await withProvisioning(c, (app) => app.callRecords.transcript(account, callId));
      if (globals(c).json) printJson(turns);
      else if (turns.length === 0) say('(no turns)');
      else for (const t of turns) say(turnLine(t));
    });

  cmd
    .command('recording')
    .description('decrypt a call\'s recording to a new WAV file (stereo: caller left, agent right); audited')
    .argument('<account>', 'account id or name')
    .argument('<call-id>', 'call id (from `kalem calls list`)')
    .requiredOption('--out <file>', 'the WAV file to write (must not exist; created mode 0600)')
    .action(async (account: string, callId: string, o: { out: string }, c: Command) => {
      const r = await withProvisioning(c, (app) => app.recordings.decryptTo(account, callId, o.out));
      if (globals(c).json) printJson(r);
      else say(`wrote ${r.out}: ${r.seconds} s of stereo audio (caller left, agent right)${r.status === 'failed' ? '; the recording had stopped early (see kalem calls show)' : ''}`);
    });

  cmd
    .command('delete')
    .description('erase one call\'s transcript, recording and caller fields (the CDR and usage row stay); audited with counts')
    .argument('<account>', 'account id or name')
    .argument('<call-id>', 'call id (from `kalem calls list`)')
    .action(async (account: string, callId: string, _o, c: Command) => {
      const r = await withProvisioning(c, (app) => app.erasure.deleteCall(account, callId));
      if (globals(c).json) printJson(r);
      else say(`erased call ${callId} of account ${r.account}: ${countsLine(r)}`);
    });

  cmd
    .command('erase')
    .description('erase everything concerning one caller (a right-to-erasure request): transcripts, recordings, caller fields of CDRs; usage rows stay, with no caller in them')
    .argument('[account]', 'account id or name (or --all-accounts)')
    .requiredOption('--caller <number>', 'the caller\'s phone number (any usual notation) or sip:/tel: URI')
    .option('--all-accounts', 'search every account (an operator-wide request)')
    .action(async (account: string | undefined, o: { caller: string; allAccounts?: boolean }, c: Command) => {
      if ((account === undefined) === (o.allAccounts !== true)) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'name one account, or give --all-accounts (not both)');
      }
      const r = await withProvisioning(c, (app) => app.erasure.eraseCaller(account ?? null, o.caller));
      if (globals(c).json) {
        printJson(r);
        return;
      }
      for (const a of r.accounts) say(`${a.account}: ${countsLine(a)} (caller hash ${a.callerHash.slice(0, 16)}…)`);
      say(`total: ${countsLine(r.totals)}`);
    });

  return cmd;
}

function countsLine(r: ErasureCounts): string {
  return `${r.calls} call(s), ${r.transcripts} transcript(s), ${r.recordings} recording(s), ${r.callerFields} caller field(s) erased`;
}

function turnLine(t: TranscriptTurn): string {
  const time = new Date(t.at).toISOString().slice(11, 19);
  return `${time}  ${t.role.padEnd(6)}  ${printable(t.text)}${t.truncated ? ' (cut)' : ''}`;
}

/** Wall time from the INVITE to the end; '-' while the call is still up. */
function duration(r: CallRecord): string | null {
  if (r.endedAt === null) return null;
  const s = Math.max(0, Math.round((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000));
  if (Number.isNaN(s)) return null;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

import type { Account, Agent } from '../tenancy/model.js';

/** One kind of data an account has stored, how, and for how long. */
export interface DataKept {
  readonly kind: 'transcripts' | 'recordings' | 'cdrs' | 'caller numbers' | 'usage' | 'secrets' | 'audit trail';
  readonly stored: boolean;
  /** How it is protected, in a few words. */
  readonly form: string;
  /** How long: "30 days", "until erased", "not stored". */
  readonly kept: string;
}

const window = (days: number | null): string => (days === null ? 'until erased' : days === 0 ? 'not stored' : `${days} day${days === 1 ? '' : 's'}`);

/**
 * What `kalem account show` says is stored for an account and for how long: derived from the
 * account's retention windows and its agents' settings, so it cannot drift from what the call
 * path actually does (CallRecordsService and the sweeper read the same fields).
 */
export function dataKept(account: Account, agents: readonly Agent[]): DataKept[] {
  const r = account.retention;
  const transcribing = agents.filter((a) => a.kind === 'realtime' && a.storeTranscripts).map((a) => a.name);
  const transcripts = r.transcriptsDays !== 0 && transcribing.length > 0;
  const callers = r.cdrDays !== 0;
  const recordingAgents = agents.filter((a) => a.kind === 'realtime' && a.recording).map((a) => a.name);
  const recordings = r.recordingsDays !== 0 && recordingAgents.length > 0;
  return [
    {
      kind: 'transcripts',
      stored: transcripts,
      form: transcripts ? `sealed, a data key per call (agents: ${transcribing.join(', ')})` : r.transcriptsDays === 0 ? 'not stored (window 0); OpenAI is not asked to transcribe the caller' : 'no agent stores transcripts; OpenAI is not asked to transcribe the caller',
      kept: transcripts ? window(r.transcriptsDays) : 'not stored',
    },
    {
      kind: 'recordings',
      stored: recordings,
      form: recordings ? `stereo WAV encrypted with secretstream under a data key per call (agents: ${recordingAgents.join(', ')})` : r.recordingsDays === 0 ? 'not recorded (window 0)' : 'no agent records calls',
      kept: recordings ? window(r.recordingsDays) : 'not stored',
    },
    { kind: 'cdrs', stored: r.cdrDays !== 0, form: 'times, numbers dialled, media statistics (no content)', kept: r.cdrDays === 0 ? 'removed at the next sweep after the call' : window(r.cdrDays) },
    { kind: 'caller numbers', stored: callers, form: callers ? 'keyed hash (for erasure requests) + sealed' : 'not stored (CDR window 0)', kept: callers ? `with the CDR (${window(r.cdrDays)})` : 'not stored' },
    { kind: 'usage', stored: true, form: 'per call: agent, number dialled, start, seconds, model audio and tokens; no caller, no content', kept: 'until the operator deletes it (survives erasure and account deletion)' },
    { kind: 'secrets', stored: true, form: 'sealed under the account key', kept: 'until rotated or deleted' },
    { kind: 'audit trail', stored: true, form: 'who did what, with counts; never content or a caller number', kept: 'until the operator deletes it' },
  ];
}

import { kalemError } from '../core/errors.js';
import { accountByRef, wrappedAccountKey } from './account-lookup.js';
import type { Clock } from '../core/clock.js';
import { NO_TOKENS, type Account, type CallRecord, type TokenUsage, type TranscriptRole, type TranscriptTurn, type UsageRecord } from './model.js';
import type { CallFilter, CallRecordEnd, CdrWriter, ContentVault, NewCallRecord, StoredCallRecord, TenantStore } from './ports.js';
import { normalizeE164 } from './e164.js';
import { callerKeyFromUri } from './caller-id.js';

const ROLES: readonly TranscriptRole[] = ['caller', 'agent', 'dtmf', 'tool'];
/** A 24-hour call (the longest an agent allows) of continuous speech is ~2 MB of JSON. */
const MAX_TRANSCRIPT_BYTES = 8 * 1024 * 1024;
const MAX_LIST = 10_000;

/**
 * Call records and their transcripts: what the call path writes at the end of a call, and what an
 * operator may read back. Kept apart from ProvisioningService because it is not provisioning:
 * the Realtime bridge needs `storeTranscript` without the whole administrative surface, and the
 * read side has its own audit rule (reading caller speech is an audited act, listing CDRs is not).
 *
 * A transcript is sealed under a random data key of its own, and that key is wrapped by the
 * account key; both bind account, call and kind as associated data, so a sealed transcript (or
 * its key) copied to another call or account fails to open instead of showing someone else's
 * call, and deleting the wrapped key destroys that one transcript. The caller's number is stored
 * only as a keyed hash (to find a caller's calls) and sealed (to show an operator).
 * Error messages never carry transcript text or the caller.
 */
export class CallRecordsService implements CdrWriter {
  constructor(
    private readonly store: TenantStore,
    private readonly vault: ContentVault,
    private readonly clock: Clock,
    private readonly actor: string,
  ) {}

  /**
   * The CDR of a call being admitted (CallSession's port). The caller is hashed and sealed here;
   * an account that keeps no CDR details (cdr retention 0) gets no caller stored at all.
   */
  insert(c: NewCallRecord): void {
    const { fromUri, ...rest } = c;
    const account = this.store.accounts.get(c.accountId);
    const keep = account !== undefined && account.retention.cdrDays !== 0;
    const wrapped = keep ? this.wrappedKey(c.accountId) : undefined;
    this.store.calls.insert({
      ...rest,
      callerHash: wrapped ? this.vault.callerHash(c.accountId, wrapped, callerKeyFromUri(fromUri)) : null,
      callerSealed: wrapped ? this.vault.sealCaller(c.accountId, wrapped, c.id, fromUri) : null,
    });
  }

  /** The end of the CDR, and the call's usage row (apart from content), in one transaction. */
  finish(accountId: string, callId: string, end: CallRecordEnd): void {
    this.store.transaction(() => {
      this.store.calls.finish(accountId, callId, end);
      const call = this.store.calls.get(accountId, callId);
      if (call) this.store.usage.put(usageOf(call, end));
    });
  }

  /**
   * Seals and stores the transcript of a call (called by the call path once the call has ended).
   * Returns false, storing nothing, when the call's agent does not store transcripts (or no longer
   * exists, so its wish cannot be checked), or the account keeps transcripts 0 days. Throws KALEM_ERR_UNKNOWN_CALL when the call is not a
   * call of this account, KALEM_ERR_DUPLICATE when the call already has a transcript, and
   * KALEM_ERR_INVALID_ARGUMENT for a malformed turn.
   */
  storeTranscript(accountId: string, callId: string, turns: readonly TranscriptTurn[]): boolean {
    const clean = checkTurns(turns);
    const plain = new TextEncoder().encode(JSON.stringify(clean));
    try {
      if (plain.length > MAX_TRANSCRIPT_BYTES) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `the transcript of call ${callId} is over ${MAX_TRANSCRIPT_BYTES} bytes; nothing was stored`);
      }
      return this.store.transaction(() => {
        const call = this.store.calls.get(accountId, callId);
        if (!call) throw kalemError('KALEM_ERR_UNKNOWN_CALL', callId, accountId);
        const agent = call.agentId === null ? undefined : this.store.agents.get(accountId, call.agentId);
        if (!agent?.storeTranscripts) return false;
        if (this.store.accounts.get(accountId)?.retention.transcriptsDays === 0) return false;
        if (this.store.transcripts.get(accountId, callId)) {
          throw kalemError('KALEM_ERR_DUPLICATE', `call ${callId} already has a transcript; a transcript is written once`);
        }
        const dataKey = this.vault.newDataKey(accountId, this.wrappedKey(accountId), callId, 'transcript');
        try {
          const sealed = this.vault.sealObject(dataKey.key, accountId, callId, 'transcript', plain);
          this.store.transcripts.put(accountId, callId, { wrappedKey: dataKey.wrapped, sealed }, this.at());
        } finally {
          this.vault.wipe(dataKey.key);
        }
        return true;
      });
    } finally {
      this.vault.wipe(plain);
    }
  }

  /** Newest first. */
  listCalls(accountRef: string, limit: number): CallRecord[] {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `the limit is a whole number from 1 to ${MAX_LIST} (got ${limit})`);
    }
    const a = this.account(accountRef);
    const wrapped = this.wrappedKey(a.id);
    return this.store.calls.list(a.id, limit).map((r) => this.withCaller(r, wrapped));
  }

  /**
   * A filtered page of an account's calls, newest first (for the admin API; added beside
   * listCalls, which the CLI uses). The number is normalised like everywhere else.
   */
  findCalls(accountRef: string, filter: Omit<CallFilter, 'numberE164'> & { number?: string }): CallRecord[] {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_LIST) {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `the limit is a whole number from 1 to ${MAX_LIST} (got ${filter.limit})`);
    }
    for (const [k, v] of [['since', filter.since], ['until', filter.until]] as const) {
      if (v !== undefined && Number.isNaN(Date.parse(v))) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `${k} must be an ISO 8601 time (got "${v}")`);
    }
    const { number, ...rest } = filter;
    const iso = (t: string | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    const since = iso(rest.since);
    const until = iso(rest.until);
    const a = this.account(accountRef);
    const wrapped = this.wrappedKey(a.id);
    return this.store.calls
      .find(a.id, {
        ...rest,
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(number !== undefined ? { numberE164: normalizeE164(number) } : {}),
      })
      .map((r) => this.withCaller(r, wrapped));
  }

  callRecord(accountRef: string, callId: string): CallRecord {
    const a = this.account(accountRef);
    const call = this.store.calls.get(a.id, callId);
    if (!call) throw kalemError('KALEM_ERR_UNKNOWN_CALL', callId, a.name);
    return this.withCaller(call, this.wrappedKey(a.id));
  }

  /** Opens the sealed caller for the operator; one that does not open is shown as such, not hidden. */
  private withCaller(r: StoredCallRecord, wrapped: Uint8Array): CallRecord {
    const { callerSealed, ...rest } = r;
    const fromUri = callerSealed === null ? null : (this.vault.openCaller(r.accountId, wrapped, r.id, callerSealed) ?? '(does not open: tampered)');
    return { ...rest, fromUri };
  }

  /**
   * Opens a call's transcript for an operator. The audit row is written in the same transaction
   * as the read, so there is no read without its row: if the audit insert fails, nothing is
   * returned. A transcript that does not open is reported, not audited as read.
   */
  transcript(accountRef: string, callId: string): TranscriptTurn[] {
    return this.store.transaction(() => {
      const a = this.account(accountRef);
      if (!this.store.calls.get(a.id, callId)) throw kalemError('KALEM_ERR_UNKNOWN_CALL', callId, a.name);
      const stored = this.store.transcripts.get(a.id, callId);
      if (!stored) throw kalemError('KALEM_ERR_NO_TRANSCRIPT', callId, a.name);
      const dataKey = this.vault.unwrapDataKey(a.id, this.wrappedKey(a.id), callId, 'transcript', stored.wrappedKey);
      if (dataKey === null) throw kalemError('KALEM_ERR_TRANSCRIPT_TAMPERED', callId, a.name);
      let opened: Uint8Array | null;
      try {
        opened = this.vault.openObject(dataKey, a.id, callId, 'transcript', stored.sealed);
      } finally {
        this.vault.wipe(dataKey);
      }
      if (opened === null) throw kalemError('KALEM_ERR_TRANSCRIPT_TAMPERED', callId, a.name);
      const plain = opened;
      let turns: TranscriptTurn[];
      try {
        turns = checkTurns(JSON.parse(new TextDecoder().decode(plain)) as unknown);
      } finally {
        this.vault.wipe(plain);
      }
      this.store.audit.append({
        at: this.at(),
        actor: this.actor,
        accountId: a.id,
        action: 'call.transcript.read',
        target: callId,
        details: { turns: turns.length },
      });
      return turns;
    });
  }

  private account(ref: string): Account {
    return accountByRef(this.store.accounts, ref);
  }

  private wrappedKey(accountId: string): Uint8Array {
    return wrappedAccountKey(this.store.accounts, accountId);
  }

  private at(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

/** Bytes per millisecond of caller audio as appended to the model, by session format. */
const APPEND_BYTES_PER_MS: Record<string, number> = { pcm16: 48, pcmu: 8, pcma: 8 };
const FRAME_MS = 20;

/** The usage row of a finished call: times and counts from its CDR, never content or the caller. */
function usageOf(call: StoredCallRecord, end: CallRecordEnd): UsageRecord {
  const answered = end.answeredAt === null ? NaN : Date.parse(end.answeredAt);
  const ended = Date.parse(end.endedAt);
  const billableSeconds = Number.isFinite(answered) && Number.isFinite(ended) ? Math.max(0, Math.ceil((ended - answered) / 1000)) : 0;
  const rt = end.details['realtime'] as Partial<BridgeUsage> | undefined;
  const nonNeg = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0);
  const perMs = APPEND_BYTES_PER_MS[String(rt?.audioFormat)] ?? 48;
  const tokens = { ...NO_TOKENS, ...(rt?.tokens ?? {}) };
  return {
    callId: call.id,
    accountId: call.accountId,
    agentId: call.agentId,
    numberE164: call.numberE164,
    startedAt: call.startedAt,
    billableSeconds,
    modelAudioInMs: nonNeg((rt?.appendedBytes ?? 0) / perMs),
    modelAudioOutMs: nonNeg((rt?.framesDown ?? 0) * FRAME_MS),
    inputTokens: nonNeg(tokens.inputTokens),
    outputTokens: nonNeg(tokens.outputTokens),
    inputAudioTokens: nonNeg(tokens.inputAudioTokens),
    outputAudioTokens: nonNeg(tokens.outputAudioTokens),
    inputTextTokens: nonNeg(tokens.inputTextTokens),
    outputTextTokens: nonNeg(tokens.outputTextTokens),
    cachedTokens: nonNeg(tokens.cachedTokens),
  };
}

/** The part of the Realtime bridge's CDR summary usage is computed from (details.realtime). */
interface BridgeUsage {
  audioFormat: string;
  appendedBytes: number;
  framesDown: number;
  tokens: TokenUsage;
}

/**
 * Validates turns and copies only the known fields, so nothing unexpected (an audio buffer, a
 * raw event) is sealed along with the text. Messages name the turn by position, never its text.
 */
function checkTurns(turns: unknown): TranscriptTurn[] {
  if (!Array.isArray(turns)) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'a transcript is a list of turns');
  return turns.map((t: unknown, i): TranscriptTurn => {
    const bad = (what: string): never => {
      throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `transcript turn ${i + 1}: ${what}`);
    };
    if (typeof t !== 'object' || t === null) return bad('not an object');
    const { role, text, at, truncated } = t as Record<string, unknown>;
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) bad(`role must be one of ${ROLES.join(', ')}`);
    if (typeof text !== 'string') bad('text must be a string');
    if (typeof at !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(at) || Number.isNaN(Date.parse(at))) bad('at must be an ISO 8601 time');
    if (truncated !== undefined && typeof truncated !== 'boolean') bad('truncated must be true or false');
    const turn = { role: role as TranscriptRole, text: text as string, at: at as string };
    return truncated === true ? { ...turn, truncated: true } : turn;
  });
}

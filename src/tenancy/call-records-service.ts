import { isKalemError, kalemError, KalemError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Account, CallRecord, TranscriptRole, TranscriptTurn } from './model.js';
import type { CallFilter, SecretVault, TenantStore } from './ports.js';
import { normalizeE164 } from './e164.js';

const ROLES: readonly TranscriptRole[] = ['caller', 'agent', 'dtmf', 'tool'];
/** A 24-hour call (the longest an agent allows) of continuous speech is ~2 MB of JSON. */
const MAX_TRANSCRIPT_BYTES = 8 * 1024 * 1024;
const MAX_LIST = 10_000;
/** Transcripts are written once per call, so the sealing version is always 1. */
const TRANSCRIPT_VERSION = 1;

/**
 * Call records and their transcripts: what the call path writes at the end of a call, and what an
 * operator may read back. Kept apart from ProvisioningService because it is not provisioning:
 * the Realtime bridge needs `storeTranscript` without the whole administrative surface, and the
 * read side has its own audit rule (reading caller speech is an audited act, listing CDRs is not).
 *
 * A transcript is sealed with the account key under the name `transcript:<callId>`, version 1;
 * the vault binds account id, name and version as associated data, so a sealed transcript copied
 * to another call or another account fails to open instead of showing someone else's call.
 * Error messages never carry transcript text.
 */
export class CallRecordsService {
  constructor(
    private readonly store: TenantStore,
    private readonly vault: SecretVault,
    private readonly clock: Clock,
    private readonly actor: string,
  ) {}

  /**
   * Seals and stores the transcript of a call (called by the call path once the call has ended).
   * Returns false, storing nothing, when the call's agent does not store transcripts (or no longer
   * exists, so its wish cannot be checked). Throws KALEM_ERR_UNKNOWN_CALL when the call is not a
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
        if (this.store.transcripts.get(accountId, callId)) {
          throw kalemError('KALEM_ERR_DUPLICATE', `call ${callId} already has a transcript; a transcript is written once`);
        }
        const sealed = this.vault.seal(accountId, this.wrappedKey(accountId), transcriptName(callId), TRANSCRIPT_VERSION, plain);
        this.store.transcripts.put(accountId, callId, sealed, this.at());
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
    return this.store.calls.list(this.account(accountRef).id, limit);
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
    return this.store.calls.find(this.account(accountRef).id, {
      ...rest,
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(number !== undefined ? { numberE164: normalizeE164(number) } : {}),
    });
  }

  callRecord(accountRef: string, callId: string): CallRecord {
    const a = this.account(accountRef);
    const call = this.store.calls.get(a.id, callId);
    if (!call) throw kalemError('KALEM_ERR_UNKNOWN_CALL', callId, a.name);
    return call;
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
      const sealed = this.store.transcripts.get(a.id, callId);
      if (!sealed) throw kalemError('KALEM_ERR_NO_TRANSCRIPT', callId, a.name);
      let plain: Uint8Array;
      try {
        plain = this.vault.open(a.id, this.wrappedKey(a.id), transcriptName(callId), TRANSCRIPT_VERSION, sealed);
      } catch (err) {
        if (!isKalemError(err, 'KALEM_ERR_SECRET_TAMPERED')) throw err;
        const e = kalemError('KALEM_ERR_TRANSCRIPT_TAMPERED', callId, a.name);
        throw new KalemError(e.code, e.message, { cause: err });
      }
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
    const a = this.store.accounts.get(ref) ?? this.store.accounts.findByName(ref);
    if (!a) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', ref);
    return a;
  }

  private wrappedKey(accountId: string): Uint8Array {
    const k = this.store.accounts.wrappedKey(accountId);
    if (!k) throw kalemError('KALEM_ERR_UNKNOWN_ACCOUNT', accountId);
    return k;
  }

  private at(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function transcriptName(callId: string): string {
  return `transcript:${callId}`;
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

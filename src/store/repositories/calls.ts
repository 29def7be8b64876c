import type { Db } from '../database.js';
import type { HangupBy } from '../../tenancy/model.js';
import type { CallFilter, CallRecordEnd, CallRepository, StoredCallRecord, StoredCallStart } from '../../tenancy/ports.js';

interface CallRow {
  id: string;
  account_id: string;
  agent_id: string | null;
  trunk_id: string | null;
  number_e164: string | null;
  sip_call_id: string;
  caller_sealed: Buffer | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  hangup_by: string | null;
  details: string;
  has_transcript: number;
  has_recording: number;
}

// One column list for list() and get(), so the two can never disagree about what a record holds.
const SELECT_RECORD = `SELECT c.id, c.account_id, c.agent_id, c.trunk_id, c.number_e164, c.sip_call_id, c.caller_sealed,
         c.started_at, c.answered_at, c.ended_at, c.end_reason, c.hangup_by, c.details,
         EXISTS (SELECT 1 FROM call_transcripts t WHERE t.account_id = c.account_id AND t.call_id = c.id) AS has_transcript,
         EXISTS (SELECT 1 FROM call_recordings r WHERE r.account_id = c.account_id AND r.call_id = c.id) AS has_recording
  FROM calls c`;

/** SQLite's limit on bound parameters is far above this; batches stay small for short write locks. */
const MAX_DELETE_BATCH = 500;

function toRecord(r: CallRow): StoredCallRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    agentId: r.agent_id,
    numberE164: r.number_e164,
    sipCallId: r.sip_call_id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    trunkId: r.trunk_id,
    callerSealed: r.caller_sealed && new Uint8Array(r.caller_sealed),
    answeredAt: r.answered_at,
    hangupBy: r.hangup_by === 'caller' || r.hangup_by === 'gateway' ? (r.hangup_by as HangupBy) : null,
    details: JSON.parse(r.details) as Record<string, unknown>,
    hasTranscript: r.has_transcript === 1,
    hasRecording: r.has_recording === 1,
  };
}

const blob = (b: Uint8Array | null): Buffer | null => (b === null ? null : Buffer.from(b));

export class SqliteCallRepository implements CallRepository {
  constructor(private readonly db: Db) {}

  insert(c: StoredCallStart): void {
    this.db
      .prepare(
        `INSERT INTO calls (id, account_id, agent_id, trunk_id, number_e164, sip_call_id, caller_hash, caller_sealed, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(c.id, c.accountId, c.agentId, c.trunkId, c.numberE164, c.sipCallId, blob(c.callerHash), blob(c.callerSealed), c.startedAt);
  }

  finish(accountId: string, callId: string, end: CallRecordEnd): void {
    this.db
      .prepare(
        `UPDATE calls SET answered_at = ?, ended_at = ?, end_reason = ?, hangup_by = ?, details = ?
         WHERE account_id = ? AND id = ?`,
      )
      .run(end.answeredAt, end.endedAt, end.endReason, end.hangupBy, JSON.stringify(end.details), accountId, callId);
  }

  list(accountId: string, limit: number): StoredCallRecord[] {
    return (
      this.db.prepare(`${SELECT_RECORD} WHERE c.account_id = ? ORDER BY c.started_at DESC, c.id LIMIT ?`).all(accountId, limit) as CallRow[]
    ).map(toRecord);
  }

  get(accountId: string, callId: string): StoredCallRecord | undefined {
    const r = this.db.prepare(`${SELECT_RECORD} WHERE c.account_id = ? AND c.id = ?`).get(accountId, callId) as CallRow | undefined;
    return r && toRecord(r);
  }

  findByCallerHash(accountId: string, callerHash: Uint8Array): string[] {
    return (
      this.db.prepare('SELECT id FROM calls WHERE account_id = ? AND caller_hash = ? ORDER BY started_at, id').all(accountId, Buffer.from(callerHash)) as Array<{
        id: string;
      }>
    ).map((r) => r.id);
  }

  eraseCaller(accountId: string, callId: string): number {
    return this.db
      .prepare(
        `UPDATE calls SET caller_hash = NULL, caller_sealed = NULL
         WHERE account_id = ? AND id = ? AND (caller_hash IS NOT NULL OR caller_sealed IS NOT NULL)`,
      )
      .run(accountId, callId).changes;
  }

  ids(accountId: string): string[] {
    return (this.db.prepare('SELECT id FROM calls WHERE account_id = ? ORDER BY id').all(accountId) as Array<{ id: string }>).map((r) => r.id);
  }

  startedBefore(accountId: string, before: string, limit: number): string[] {
    return (
      this.db
        .prepare('SELECT id FROM calls WHERE account_id = ? AND started_at < ? AND ended_at IS NOT NULL ORDER BY started_at, id LIMIT ?')
        .all(accountId, before, limit) as Array<{ id: string }>
    ).map((r) => r.id);
  }

  delete(accountId: string, callIds: readonly string[]): number {
    let n = 0;
    for (let i = 0; i < callIds.length; i += MAX_DELETE_BATCH) {
      const chunk = callIds.slice(i, i + MAX_DELETE_BATCH);
      n += this.db
        .prepare(`DELETE FROM calls WHERE account_id = ? AND id IN (${chunk.map(() => '?').join(', ')})`)
        .run(accountId, ...chunk).changes;
    }
    return n;
  }

  find(accountId: string, f: CallFilter): StoredCallRecord[] {
    const rows = this.db
      .prepare(
        `${SELECT_RECORD} WHERE c.account_id = ?
           AND (? IS NULL OR c.started_at >= ?) AND (? IS NULL OR c.started_at < ?)
           AND (? IS NULL OR c.number_e164 = ?)
           AND (? IS NULL OR (? = 'answered') = (c.answered_at IS NOT NULL))
           AND (? IS NULL OR c.started_at < ? OR (c.started_at = ? AND c.id < ?))
         ORDER BY c.started_at DESC, c.id DESC LIMIT ?`,
      )
      .all(
        accountId,
        f.since ?? null, f.since ?? null,
        f.until ?? null, f.until ?? null,
        f.numberE164 ?? null, f.numberE164 ?? null,
        f.outcome ?? null, f.outcome ?? null,
        f.before?.startedAt ?? null, f.before?.startedAt ?? null, f.before?.startedAt ?? null, f.before?.id ?? null,
        f.limit,
      ) as CallRow[];
    return rows.map(toRecord);
  }
}

import type { Db } from '../database.js';
import type { CallRecord, HangupBy } from '../../tenancy/model.js';
import type { CallFilter, CallRecordEnd, CallRepository, NewCallRecord } from '../../tenancy/ports.js';

interface CallRow {
  id: string;
  account_id: string;
  agent_id: string | null;
  trunk_id: string | null;
  number_e164: string | null;
  sip_call_id: string;
  from_uri: string | null;
  started_at: string;
  answered_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  hangup_by: string | null;
  details: string;
  has_transcript: number;
}

// One column list for list() and get(), so the two can never disagree about what a record holds.
const SELECT_RECORD = `SELECT c.id, c.account_id, c.agent_id, c.trunk_id, c.number_e164, c.sip_call_id, c.from_uri,
         c.started_at, c.answered_at, c.ended_at, c.end_reason, c.hangup_by, c.details,
         EXISTS (SELECT 1 FROM call_transcripts t WHERE t.account_id = c.account_id AND t.call_id = c.id) AS has_transcript
  FROM calls c`;

function toRecord(r: CallRow): CallRecord {
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
    fromUri: r.from_uri,
    answeredAt: r.answered_at,
    hangupBy: r.hangup_by === 'caller' || r.hangup_by === 'gateway' ? (r.hangup_by as HangupBy) : null,
    details: JSON.parse(r.details) as Record<string, unknown>,
    hasTranscript: r.has_transcript === 1,
  };
}

export class SqliteCallRepository implements CallRepository {
  constructor(private readonly db: Db) {}

  insert(c: NewCallRecord): void {
    this.db
      .prepare(
        `INSERT INTO calls (id, account_id, agent_id, trunk_id, number_e164, sip_call_id, from_uri, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(c.id, c.accountId, c.agentId, c.trunkId, c.numberE164, c.sipCallId, c.fromUri, c.startedAt);
  }

  finish(accountId: string, callId: string, end: CallRecordEnd): void {
    this.db
      .prepare(
        `UPDATE calls SET answered_at = ?, ended_at = ?, end_reason = ?, hangup_by = ?, details = ?
         WHERE account_id = ? AND id = ?`,
      )
      .run(end.answeredAt, end.endedAt, end.endReason, end.hangupBy, JSON.stringify(end.details), accountId, callId);
  }

  list(accountId: string, limit: number): CallRecord[] {
    return (
      this.db.prepare(`${SELECT_RECORD} WHERE c.account_id = ? ORDER BY c.started_at DESC, c.id LIMIT ?`).all(accountId, limit) as CallRow[]
    ).map(toRecord);
  }

  get(accountId: string, callId: string): CallRecord | undefined {
    const r = this.db.prepare(`${SELECT_RECORD} WHERE c.account_id = ? AND c.id = ?`).get(accountId, callId) as CallRow | undefined;
    return r && toRecord(r);
  }

  find(accountId: string, f: CallFilter): CallRecord[] {
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

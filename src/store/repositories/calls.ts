import type { Db } from '../database.js';
import type { CallRecordSummary } from '../../tenancy/model.js';
import type { CallRecordEnd, CallRepository, NewCallRecord } from '../../tenancy/ports.js';

interface CallRow {
  id: string;
  account_id: string;
  agent_id: string | null;
  number_e164: string | null;
  sip_call_id: string;
  started_at: string;
  ended_at: string | null;
  end_reason: string | null;
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

  list(accountId: string, limit: number): CallRecordSummary[] {
    return (
      this.db
        .prepare(
          `SELECT id, account_id, agent_id, number_e164, sip_call_id, started_at, ended_at, end_reason
           FROM calls WHERE account_id = ? ORDER BY started_at DESC LIMIT ?`,
        )
        .all(accountId, limit) as CallRow[]
    ).map((r) => ({
      id: r.id,
      accountId: r.account_id,
      agentId: r.agent_id,
      numberE164: r.number_e164,
      sipCallId: r.sip_call_id,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      endReason: r.end_reason,
    }));
  }
}

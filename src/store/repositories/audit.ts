import type { Db } from '../database.js';
import type { AuditEntry } from '../../tenancy/model.js';
import type { AuditRepository, NewAuditEntry } from '../../tenancy/ports.js';

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  account_id: string | null;
  action: string;
  target: string;
  details: string;
}

export class SqliteAuditRepository implements AuditRepository {
  constructor(private readonly db: Db) {}

  append(e: NewAuditEntry): void {
    this.db
      .prepare('INSERT INTO audit_log (at, actor, account_id, action, target, details) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.at, e.actor, e.accountId, e.action, e.target, JSON.stringify(e.details));
  }

  list(filter: { accountId?: string; limit: number }): AuditEntry[] {
    const rows = (
      filter.accountId === undefined
        ? this.db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?').all(filter.limit)
        : this.db.prepare('SELECT * FROM audit_log WHERE account_id = ? ORDER BY id DESC LIMIT ?').all(filter.accountId, filter.limit)
    ) as AuditRow[];
    return rows.map(toEntry);
  }

  page(filter: { accountId?: string; limit: number; beforeId?: number }): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM audit_log WHERE (? IS NULL OR account_id = ?) AND id < ? ORDER BY id DESC LIMIT ?')
      .all(filter.accountId ?? null, filter.accountId ?? null, filter.beforeId ?? Number.MAX_SAFE_INTEGER, filter.limit) as AuditRow[];
    return rows.map(toEntry);
  }
}

function toEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    accountId: r.account_id,
    action: r.action,
    target: r.target,
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

import type { Db } from '../database.js';
import type { PhoneNumber } from '../../tenancy/model.js';
import type { NumberRepository } from '../../tenancy/ports.js';

interface NumberRow {
  e164: string;
  account_id: string;
  agent_id: string;
  created_at: string;
}

const toNumber = (r: NumberRow): PhoneNumber => ({
  e164: r.e164,
  accountId: r.account_id,
  agentId: r.agent_id,
  createdAt: r.created_at,
});

export class SqliteNumberRepository implements NumberRepository {
  constructor(private readonly db: Db) {}

  insert(n: PhoneNumber): void {
    this.db
      .prepare('INSERT INTO numbers (e164, account_id, agent_id, created_at) VALUES (?, ?, ?, ?)')
      .run(n.e164, n.accountId, n.agentId, n.createdAt);
  }

  exists(e164: string): boolean {
    return this.db.prepare('SELECT 1 FROM numbers WHERE e164 = ?').get(e164) !== undefined;
  }

  get(accountId: string, e164: string): PhoneNumber | undefined {
    const r = this.db.prepare('SELECT * FROM numbers WHERE account_id = ? AND e164 = ?').get(accountId, e164) as
      | NumberRow
      | undefined;
    return r && toNumber(r);
  }

  list(accountId: string): PhoneNumber[] {
    return (this.db.prepare('SELECT * FROM numbers WHERE account_id = ? ORDER BY e164').all(accountId) as NumberRow[]).map(
      toNumber,
    );
  }

  countForAgent(accountId: string, agentId: string): number {
    const r = this.db
      .prepare('SELECT COUNT(*) AS n FROM numbers WHERE account_id = ? AND agent_id = ?')
      .get(accountId, agentId) as { n: number };
    return r.n;
  }

  delete(accountId: string, e164: string): boolean {
    return this.db.prepare('DELETE FROM numbers WHERE account_id = ? AND e164 = ?').run(accountId, e164).changes > 0;
  }

  resolve(e164: string): { accountId: string; agentId: string } | undefined {
    const r = this.db.prepare('SELECT account_id, agent_id FROM numbers WHERE e164 = ?').get(e164) as
      | { account_id: string; agent_id: string }
      | undefined;
    return r && { accountId: r.account_id, agentId: r.agent_id };
  }
}

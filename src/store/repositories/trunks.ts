import type { Db } from '../database.js';
import type { Trunk } from '../../tenancy/model.js';
import type { NewTrunk, TrunkRepository } from '../../tenancy/ports.js';

interface TrunkRow {
  id: string;
  account_id: string;
  name: string;
  cidrs: string;
  digest_username: string | null;
  has_password: number;
  max_concurrent_calls: number | null;
  created_at: string;
}

// The sealed password is never selected with the trunk; only sealedDigestPassword() reads it.
const COLUMNS =
  'id, account_id, name, cidrs, digest_username, (digest_password_sealed IS NOT NULL) AS has_password, max_concurrent_calls, created_at';

const toTrunk = (r: TrunkRow): Trunk => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  cidrs: JSON.parse(r.cidrs) as string[],
  digestUsername: r.digest_username,
  hasDigestPassword: r.has_password === 1,
  maxConcurrentCalls: r.max_concurrent_calls,
  createdAt: r.created_at,
});

export class SqliteTrunkRepository implements TrunkRepository {
  constructor(private readonly db: Db) {}

  insert(t: NewTrunk): void {
    this.db
      .prepare(
        `INSERT INTO trunks (id, account_id, name, cidrs, digest_username, digest_password_sealed, max_concurrent_calls, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.id,
        t.accountId,
        t.name,
        JSON.stringify(t.cidrs),
        t.digestUsername,
        t.sealedDigestPassword && Buffer.from(t.sealedDigestPassword),
        t.maxConcurrentCalls,
        t.at,
      );
  }

  get(accountId: string, trunkId: string): Trunk | undefined {
    const r = this.db.prepare(`SELECT ${COLUMNS} FROM trunks WHERE account_id = ? AND id = ?`).get(accountId, trunkId) as
      | TrunkRow
      | undefined;
    return r && toTrunk(r);
  }

  findByName(accountId: string, name: string): Trunk | undefined {
    const r = this.db.prepare(`SELECT ${COLUMNS} FROM trunks WHERE account_id = ? AND name = ?`).get(accountId, name) as
      | TrunkRow
      | undefined;
    return r && toTrunk(r);
  }

  list(accountId: string): Trunk[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM trunks WHERE account_id = ? ORDER BY name`).all(accountId) as TrunkRow[]).map(
      toTrunk,
    );
  }

  delete(accountId: string, trunkId: string): boolean {
    return this.db.prepare('DELETE FROM trunks WHERE account_id = ? AND id = ?').run(accountId, trunkId).changes > 0;
  }

  sealedDigestPassword(accountId: string, trunkId: string): Uint8Array | undefined {
    const r = this.db
      .prepare('SELECT digest_password_sealed FROM trunks WHERE account_id = ? AND id = ?')
      .get(accountId, trunkId) as { digest_password_sealed: Buffer | null } | undefined;
    return r?.digest_password_sealed ? new Uint8Array(r.digest_password_sealed) : undefined;
  }

  listForRouting(): Trunk[] {
    return (
      this.db
        .prepare(
          // Disabled accounts' trunks too: their carriers are still recognised, and admission
          // answers their calls 403 for the disabled account (not "untrusted source" or 404).
          `SELECT ${COLUMNS} FROM trunks ORDER BY id`,
        )
        .all() as TrunkRow[]
    ).map(toTrunk);
  }
}

import type { Db } from '../database.js';
import type { SecretInfo } from '../../tenancy/model.js';
import type { SecretRepository } from '../../tenancy/ports.js';

interface SecretRow {
  account_id: string;
  name: string;
  version: number;
  created_at: string;
}

const toInfo = (r: SecretRow): SecretInfo => ({
  accountId: r.account_id,
  name: r.name,
  version: r.version,
  createdAt: r.created_at,
});

export class SqliteSecretRepository implements SecretRepository {
  constructor(private readonly db: Db) {}

  insert(accountId: string, name: string, version: number, sealed: Uint8Array, at: string): void {
    this.db
      .prepare('INSERT INTO secrets (account_id, name, version, sealed, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(accountId, name, version, Buffer.from(sealed), at);
  }

  latest(accountId: string, name: string): (SecretInfo & { sealed: Uint8Array }) | undefined {
    const r = this.db
      .prepare(
        'SELECT account_id, name, version, created_at, sealed FROM secrets WHERE account_id = ? AND name = ? ORDER BY version DESC LIMIT 1',
      )
      .get(accountId, name) as (SecretRow & { sealed: Buffer }) | undefined;
    return r && { ...toInfo(r), sealed: new Uint8Array(r.sealed) };
  }

  list(accountId: string): SecretInfo[] {
    return (
      this.db
        .prepare(
          `SELECT account_id, name, version, created_at FROM secrets s
           WHERE account_id = ? AND version = (SELECT MAX(version) FROM secrets WHERE account_id = s.account_id AND name = s.name)
           ORDER BY name`,
        )
        .all(accountId) as SecretRow[]
    ).map(toInfo);
  }

  deleteVersionsBelow(accountId: string, name: string, version: number): void {
    this.db.prepare('DELETE FROM secrets WHERE account_id = ? AND name = ? AND version < ?').run(accountId, name, version);
  }

  deleteAll(accountId: string, name: string): number {
    return this.db.prepare('DELETE FROM secrets WHERE account_id = ? AND name = ?').run(accountId, name).changes;
  }
}

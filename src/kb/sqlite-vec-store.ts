/**
 * VectorStore on sqlite-vec, inside the gateway's own SQLite database: one vec0 virtual table per
 * account ("kb_vec_<hex of the account id>"), cosine distance, the chunk id as its primary key and
 * the base id as a metadata column (filtered during the KNN, not after it).
 *
 * vec0 does a brute-force scan: cost grows with the account's chunk count (see
 * docs/BENCHMARKS.md). Each vector is also stored 1-bit quantized (`embedding_bq`), which the
 * search scans first (see `Prefilter`). The search is synchronous SQLite work; the daemon runs it in a worker
 * thread (sqlite-vec-worker.ts) so a lookup never blocks the event loop that paces calls' audio.
 */
import * as sqliteVec from 'sqlite-vec';
import type { Db } from '../store/database.js';
import type { VectorHit, VectorPoint, VectorSearch, VectorStore } from './vector-store.js';

const loaded = new WeakSet<object>();

/** Loads the sqlite-vec extension into a connection (once per connection). */
export function loadSqliteVec(db: Db): void {
  if (loaded.has(db)) return;
  sqliteVec.load(db);
  loaded.add(db);
}

/** The account's vec0 table. Hex keeps any id a plain identifier. */
export function vecTable(accountId: string): string {
  if (accountId === '') throw new TypeError('account id is empty');
  return `kb_vec_${Buffer.from(accountId, 'utf8').toString('hex')}`;
}

export function tableExists(db: Db, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

const blob = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * How the KNN scans: `none` compares the query with every float vector of the account (exact);
 * `binary` first ranks the 1-bit quantized copies by Hamming distance (32 times less data to
 * read) and computes the exact cosine only for the best `candidates(k)` of them. Same scores,
 * a small chance of missing a close chunk (docs/BENCHMARKS.md measures recall).
 */
export type Prefilter = 'binary' | 'none';

export const candidates = (k: number): number => Math.max(64, k * 16);

export interface KnnQuery {
  readonly accountId: string;
  readonly baseIds: readonly string[];
  readonly vector: Float32Array;
  readonly k: number;
}

/** The KNN itself, shared with the worker thread. */
export function knn(db: Db, q: KnnQuery, prefilter: Prefilter = 'binary'): VectorHit[] {
  const table = vecTable(q.accountId);
  if (q.baseIds.length === 0 || !tableExists(db, table)) return [];
  const bases = JSON.stringify(q.baseIds);
  const rows = (
    prefilter === 'binary'
      ? db
          .prepare(
            `WITH coarse AS (
               SELECT chunk_id, embedding FROM "${table}"
               WHERE embedding_bq MATCH vec_quantize_binary(?) AND k = ? AND base_id IN (SELECT value FROM json_each(?)))
             SELECT chunk_id, vec_distance_cosine(embedding, ?) AS distance FROM coarse ORDER BY distance LIMIT ?`,
          )
          .all(blob(q.vector), candidates(q.k), bases, blob(q.vector), q.k)
      : db
          .prepare(
            `SELECT chunk_id, distance FROM "${table}"
             WHERE embedding MATCH ? AND k = ? AND base_id IN (SELECT value FROM json_each(?))
             ORDER BY distance`,
          )
          .all(blob(q.vector), q.k, bases)
  ) as Array<{ chunk_id: number; distance: number }>;
  return rows.map((r) => ({ id: Number(r.chunk_id), score: 1 - r.distance }));
}

export interface SqliteVecStoreOptions {
  /** Runs a search elsewhere (a worker thread); default: on this connection, synchronously. */
  readonly searcher?: (q: VectorSearch) => Promise<VectorHit[]>;
  /** Default binary. */
  readonly prefilter?: Prefilter;
}

export class SqliteVecStore implements VectorStore {
  readonly backend = 'sqlite-vec' as const;

  constructor(
    private readonly db: Db,
    private readonly opts: SqliteVecStoreOptions = {},
  ) {
    loadSqliteVec(db);
  }

  async ensureCollection(accountId: string, dimension: number): Promise<void> {
    // Whole bytes for the 1-bit copy; every OpenAI embedding size is a multiple of 8.
    if (!Number.isInteger(dimension) || dimension < 8 || dimension > 8192 || dimension % 8 !== 0) {
      throw new TypeError(`sqlite-vec collections take dimensions from 8 to 8192 in steps of 8 (got ${dimension})`);
    }
    this.db.exec(
      `CREATE VIRTUAL TABLE IF NOT EXISTS "${vecTable(accountId)}" USING vec0(
         chunk_id integer primary key, base_id text, embedding float[${dimension}] distance_metric=cosine,
         embedding_bq bit[${dimension}])`,
    );
  }

  async upsert(accountId: string, points: readonly VectorPoint[]): Promise<void> {
    const table = vecTable(accountId);
    const del = this.db.prepare(`DELETE FROM "${table}" WHERE chunk_id = ?`);
    const ins = this.db.prepare(
      `INSERT INTO "${table}" (chunk_id, base_id, embedding, embedding_bq) VALUES (?, ?, ?, vec_quantize_binary(?))`,
    );
    this.db.transaction(() => {
      for (const p of points) {
        // vec0 takes only integer primary keys; a JS number would be bound as a REAL.
        del.run(BigInt(p.id));
        ins.run(BigInt(p.id), p.baseId, blob(p.vector), blob(p.vector));
      }
    })();
  }

  async delete(accountId: string, ids: readonly number[]): Promise<void> {
    const table = vecTable(accountId);
    if (!tableExists(this.db, table)) return;
    const del = this.db.prepare(`DELETE FROM "${table}" WHERE chunk_id = ?`);
    this.db.transaction(() => {
      for (const id of ids) del.run(BigInt(id));
    })();
  }

  async deleteBase(accountId: string, baseId: string): Promise<void> {
    const table = vecTable(accountId);
    if (!tableExists(this.db, table)) return;
    const ids = this.db.prepare(`SELECT chunk_id FROM "${table}" WHERE base_id = ?`).all(baseId) as Array<{ chunk_id: number }>;
    await this.delete(
      accountId,
      ids.map((r) => Number(r.chunk_id)),
    );
  }

  async dropCollection(accountId: string): Promise<void> {
    this.db.exec(`DROP TABLE IF EXISTS "${vecTable(accountId)}"`);
  }

  search(q: VectorSearch): Promise<VectorHit[]> {
    if (this.opts.searcher) return this.opts.searcher(q);
    return Promise.resolve(knn(this.db, q, this.opts.prefilter ?? 'binary'));
  }

  async count(accountId: string): Promise<number> {
    const table = vecTable(accountId);
    if (!tableExists(this.db, table)) return 0;
    return (this.db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
  }

  async *scan(accountId: string, pageSize: number): AsyncIterable<VectorPoint[]> {
    const table = vecTable(accountId);
    if (!tableExists(this.db, table)) return;
    let page: VectorPoint[] = [];
    // Collected page by page while the statement is open; nothing yields mid-iteration.
    const all: VectorPoint[][] = [];
    for (const r of this.db.prepare(`SELECT chunk_id, base_id, embedding FROM "${table}"`).iterate() as Iterable<{
      chunk_id: number;
      base_id: string;
      embedding: Buffer;
    }>) {
      const v = new Float32Array(r.embedding.byteLength / 4);
      new Uint8Array(v.buffer).set(r.embedding);
      page.push({ id: Number(r.chunk_id), baseId: r.base_id, vector: v });
      if (page.length >= pageSize) {
        all.push(page);
        page = [];
      }
    }
    if (page.length > 0) all.push(page);
    yield* all;
  }

  async close(): Promise<void> {
    // The connection belongs to the store; nothing of its own to close.
  }
}

/**
 * The VectorStore port: one collection per account, holding only vectors and ids (the chunk's
 * integer id, and the id of the base it belongs to so a search can be limited to an agent's
 * bases). No text, no names: chunk text stays sealed in SQLite.
 *
 * Every method takes the account id and touches that account's collection only; there is no
 * call that spans accounts, so a search cannot reach another tenant's vectors whatever its
 * arguments. Scores are cosine similarity (1 = same direction).
 */

export type VectorBackend = 'sqlite-vec' | 'qdrant';

export interface VectorPoint {
  readonly id: number;
  readonly baseId: string;
  readonly vector: Float32Array;
}

export interface VectorHit {
  readonly id: number;
  readonly score: number;
}

export interface VectorSearch {
  readonly accountId: string;
  readonly baseIds: readonly string[];
  readonly vector: Float32Array;
  readonly k: number;
  readonly signal?: AbortSignal;
}

export interface VectorStore {
  readonly backend: VectorBackend;
  /** Creates the account's collection with this dimension (cosine) if it does not exist. */
  ensureCollection(accountId: string, dimension: number): Promise<void>;
  upsert(accountId: string, points: readonly VectorPoint[]): Promise<void>;
  delete(accountId: string, ids: readonly number[]): Promise<void>;
  deleteBase(accountId: string, baseId: string): Promise<void>;
  /** Removes the account's whole collection; no-op when there is none. */
  dropCollection(accountId: string): Promise<void>;
  /** Nearest first. */
  search(q: VectorSearch): Promise<VectorHit[]>;
  count(accountId: string): Promise<number>;
  /** Every point of the account's collection, in pages (for `kalem kb migrate`). */
  scan(accountId: string, pageSize: number): AsyncIterable<VectorPoint[]>;
  close(): Promise<void>;
}

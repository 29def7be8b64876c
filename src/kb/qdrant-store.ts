/**
 * VectorStore on Qdrant through @qdrant/js-client-rest: one collection per account
 * ("kalem_<account id>"), created on first use with the embedding's dimension and cosine
 * distance, plus a keyword index on `base_id` (the only payload: a base id, never text).
 *
 * The client is built without its global timeout: that middleware replaces any AbortSignal we
 * pass, and a call's search must be abortable when the call closes. Each request gets its own
 * deadline instead (AbortSignal.timeout, combined with the call's signal). Errors are reduced to
 * the operation and the HTTP status: Qdrant's response body is not repeated.
 */
import { QdrantClient } from '@qdrant/js-client-rest';
import { VectorStoreError } from './vector-store-error.js';

export { VectorStoreError };
import type { VectorHit, VectorPoint, VectorSearch, VectorStore } from './vector-store.js';

export interface QdrantStoreOptions {
  readonly url: string;
  readonly apiKey?: string;
  /** Deadline of one request (ms). */
  readonly timeoutMs: number;
}

const UPSERT_BATCH = 256;

export function qdrantCollection(accountId: string): string {
  if (!/^[A-Za-z0-9_-]{1,120}$/.test(accountId)) throw new TypeError('account id is not usable in a collection name');
  return `kalem_${accountId}`;
}

export class QdrantStore implements VectorStore {
  readonly backend = 'qdrant' as const;
  private readonly client: QdrantClient;
  private readonly host: string;

  constructor(private readonly opts: QdrantStoreOptions) {
    const url = new URL(opts.url);
    this.host = url.host;
    this.client = new QdrantClient({
      url: opts.url,
      ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
      timeout: Number.POSITIVE_INFINITY,
      // Its version probe logs to the console on a mismatch; `kalem doctor` is the place for that.
      checkCompatibility: false,
    });
  }

  async ensureCollection(accountId: string, dimension: number): Promise<void> {
    const name = qdrantCollection(accountId);
    await this.call('check the collection', async (init) => {
      const exists = await this.client.api().collectionExists({ collection_name: name }, init);
      if (exists.data.result?.exists) return;
      await this.client.api().createCollection({ collection_name: name, vectors: { size: dimension, distance: 'Cosine' } }, init);
      await this.client.api().createFieldIndex({ collection_name: name, wait: true, field_name: 'base_id', field_schema: 'keyword' }, init);
    });
  }

  async upsert(accountId: string, points: readonly VectorPoint[]): Promise<void> {
    const name = qdrantCollection(accountId);
    for (let i = 0; i < points.length; i += UPSERT_BATCH) {
      const batch = points.slice(i, i + UPSERT_BATCH);
      await this.call('store vectors', (init) =>
        this.client.api().upsertPoints(
          {
            collection_name: name,
            wait: true,
            points: batch.map((p) => ({ id: p.id, vector: Array.from(p.vector), payload: { base_id: p.baseId } })),
          },
          init,
        ),
      );
    }
  }

  async delete(accountId: string, ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    const name = qdrantCollection(accountId);
    if (!(await this.exists(name))) return;
    await this.call('delete vectors', (init) => this.client.api().deletePoints({ collection_name: name, wait: true, points: [...ids] }, init));
  }

  async deleteBase(accountId: string, baseId: string): Promise<void> {
    const name = qdrantCollection(accountId);
    if (!(await this.exists(name))) return;
    await this.call('delete a base\'s vectors', (init) =>
      this.client.api().deletePoints({ collection_name: name, wait: true, filter: { must: [{ key: 'base_id', match: { value: baseId } }] } }, init),
    );
  }

  async dropCollection(accountId: string): Promise<void> {
    const name = qdrantCollection(accountId);
    if (!(await this.exists(name))) return;
    await this.call('delete the collection', (init) => this.client.api().deleteCollection({ collection_name: name }, init));
  }

  async search(q: VectorSearch): Promise<VectorHit[]> {
    if (q.baseIds.length === 0) return [];
    const name = qdrantCollection(q.accountId);
    try {
      const res = await this.call(
        'search',
        (init) =>
          this.client.api().queryPoints(
            {
              collection_name: name,
              query: Array.from(q.vector),
              filter: { must: [{ key: 'base_id', match: { any: [...q.baseIds] } }] },
              limit: q.k,
              with_payload: false,
              with_vector: false,
            },
            init,
          ),
        q.signal,
      );
      return (res.data.result?.points ?? []).map((p) => ({ id: Number(p.id), score: p.score }));
    } catch (err) {
      // An account whose collection was never created has nothing to find.
      if (err instanceof VectorStoreError && err.status === 404) return [];
      throw err;
    }
  }

  async count(accountId: string): Promise<number> {
    const name = qdrantCollection(accountId);
    if (!(await this.exists(name))) return 0;
    const res = await this.call('count', (init) => this.client.api().countPoints({ collection_name: name, exact: true }, init));
    return res.data.result?.count ?? 0;
  }

  async *scan(accountId: string, pageSize: number): AsyncIterable<VectorPoint[]> {
    const name = qdrantCollection(accountId);
    if (!(await this.exists(name))) return;
    let offset: string | number | null | undefined = undefined;
    do {
      const res = await this.call('read vectors', (init) =>
        this.client.api().scrollPoints(
          { collection_name: name, limit: pageSize, with_payload: true, with_vector: true, ...(offset === undefined || offset === null ? {} : { offset }) },
          init,
        ),
      );
      const result = res.data.result;
      const page: VectorPoint[] = (result?.points ?? []).map((p) => {
        const baseId = (p.payload as { base_id?: unknown } | null | undefined)?.base_id;
        if (typeof baseId !== 'string' || !Array.isArray(p.vector) || typeof p.vector[0] !== 'number') {
          throw new VectorStoreError(`Qdrant point ${String(p.id)} of collection ${name} has no base id or no plain vector`);
        }
        return { id: Number(p.id), baseId, vector: Float32Array.from(p.vector as number[]) };
      });
      if (page.length > 0) yield page;
      offset = result?.next_page_offset as string | number | null | undefined;
    } while (offset !== null && offset !== undefined);
  }

  async close(): Promise<void> {
    // The client keeps an undici pool; it has no close(), and idle sockets do not hold the process.
  }

  private async exists(name: string): Promise<boolean> {
    const r = await this.call('check the collection', (init) => this.client.api().collectionExists({ collection_name: name }, init));
    return r.data.result?.exists === true;
  }

  /** One request with its own deadline (and the caller's signal); errors reduced to operation + status. */
  private async call<T>(what: string, fn: (init: RequestInit) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = AbortSignal.timeout(this.opts.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      return await fn({ signal: combined });
    } catch (err) {
      if (signal?.aborted) throw new VectorStoreError(`Qdrant ${what}: cancelled`, null, true);
      if (deadline.aborted) throw new VectorStoreError(`Qdrant at ${this.host} did not answer (${what}) within ${this.opts.timeoutMs} ms`);
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number') {
        const hint = status === 401 || status === 403 ? '; check [kb] qdrant_api_key_file' : '';
        throw new VectorStoreError(`Qdrant at ${this.host} refused to ${what} (HTTP ${status})${hint}`, status);
      }
      throw new VectorStoreError(`Qdrant at ${this.host} could not be reached (${what}): ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name}`);
    }
  }
}

/**
 * STAND-IN for Qdrant's REST API: NOT Qdrant.
 *
 * A Qdrant server cannot be installed on this machine, so the Qdrant adapter (src/kb/qdrant-store.ts)
 * is tested against this plain HTTP server on 127.0.0.1:0, through the real @qdrant/js-client-rest.
 * (With QDRANT_URL set, the same tests also run against a real Qdrant.) What it does:
 *
 * - Serves the endpoints the adapter uses: collection exists / create / delete, field index,
 *   upsert, delete (by ids or by filter), query, count, scroll. Anything else is a violation.
 * - Checks every request body against validators typed with the client package's own
 *   `Schemas` (every field named, exact field types, so the file stops compiling when the
 *   package's types change); fields the gateway never sends are "not modelled" violations.
 *   Answers are built as the package's response types (`satisfies`).
 * - Keeps points in memory and really computes cosine similarity, filters on `base_id`
 *   (match value / any) and checks vector dimensions against the collection, as Qdrant does.
 * - Checks the `api-key` header when given one; records requests by path for assertions.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Schemas } from '@qdrant/js-client-rest';
import { combinators, type Validator } from './openai-realtime.js';

const { obj, opt, lit, str, bool, num, arr, union, nullable, subsetOf } = combinators;

/** An optional field's type as the validators see it (undefined = absent). */
type Def<T> = Exclude<T, undefined>;

function unmodelled(what: string): Validator<any> {
  return { check: (_x, p, e) => e.push(`${p}: ${what} is valid in Qdrant's API but the gateway never sends it (not modelled by the stand-in)`) };
}
const notSent = unmodelled('this field');

const pointId = subsetOf<Schemas['ExtendedPointId']>()(num(0, Number.MAX_SAFE_INTEGER, true));
const matchValue = obj<Schemas['MatchValue']>({ value: subsetOf<Schemas['ValueVariants']>()(str) });
const matchAny = obj<Schemas['MatchAny']>({ any: subsetOf<Schemas['AnyVariants']>()(arr(str)) });
const fieldCondition = obj<Schemas['FieldCondition']>({
  key: subsetOf<string>()(lit('base_id')),
  match: opt(subsetOf<Def<Schemas['FieldCondition']['match']>>()(union(matchValue, matchAny))),
  range: opt(notSent),
  geo_bounding_box: opt(notSent),
  geo_radius: opt(notSent),
  geo_polygon: opt(notSent),
  values_count: opt(notSent),
  is_empty: opt(notSent),
  is_null: opt(notSent),
});
const filter = obj<Schemas['Filter']>({
  must: opt(subsetOf<Def<Schemas['Filter']['must']>>()(arr(fieldCondition))),
  should: opt(notSent),
  min_should: opt(notSent),
  must_not: opt(notSent),
});
const optFilter = opt(subsetOf<Def<Schemas['QueryRequest']['filter']>>()(filter));

const vectorParams = obj<Schemas['VectorParams']>({
  size: num(1, 65536, true),
  distance: subsetOf<Schemas['Distance']>()(lit('Cosine')),
  hnsw_config: opt(notSent),
  quantization_config: opt(notSent),
  on_disk: opt(notSent),
  datatype: opt(notSent),
  multivector_config: opt(notSent),
});
const createCollection = obj<Schemas['CreateCollection']>({
  vectors: opt(subsetOf<Schemas['VectorsConfig']>()(vectorParams)),
  shard_number: opt(notSent),
  sharding_method: opt(notSent),
  replication_factor: opt(notSent),
  write_consistency_factor: opt(notSent),
  on_disk_payload: opt(notSent),
  hnsw_config: opt(notSent),
  wal_config: opt(notSent),
  optimizers_config: opt(notSent),
  quantization_config: opt(notSent),
  sparse_vectors: opt(notSent),
  strict_mode_config: opt(notSent),
  metadata: opt(notSent),
});
const createFieldIndex = obj<Schemas['CreateFieldIndex']>({
  field_name: subsetOf<string>()(lit('base_id')),
  field_schema: opt(subsetOf<Def<Schemas['CreateFieldIndex']['field_schema']>>()(lit('keyword'))),
});
const payload = subsetOf<Schemas['Payload']>()(obj<{ base_id: string }>({ base_id: str }));
const pointStruct = obj<Schemas['PointStruct']>({
  id: pointId,
  vector: subsetOf<Schemas['VectorStruct']>()(arr(num())),
  payload: opt(subsetOf<Def<Schemas['PointStruct']['payload']>>()(payload)),
});
const pointsList = obj<Schemas['PointsList']>({
  points: arr(pointStruct),
  shard_key: opt(notSent),
  update_filter: opt(notSent),
  update_mode: opt(notSent),
});
const pointIdsList = obj<Schemas['PointIdsList']>({ points: arr(pointId), shard_key: opt(notSent) });
const filterSelector = obj<Schemas['FilterSelector']>({ filter, shard_key: opt(notSent) });
const queryRequest = obj<Schemas['QueryRequest']>({
  query: opt(subsetOf<Def<Schemas['QueryRequest']['query']>>()(arr(num()))),
  filter: optFilter,
  limit: opt(subsetOf<Def<Schemas['QueryRequest']['limit']>>()(num(1, 1000, true))),
  with_payload: opt(subsetOf<Def<Schemas['QueryRequest']['with_payload']>>()(bool)),
  with_vector: opt(subsetOf<Def<Schemas['QueryRequest']['with_vector']>>()(bool)),
  shard_key: opt(notSent),
  prefetch: opt(notSent),
  using: opt(notSent),
  params: opt(notSent),
  score_threshold: opt(notSent),
  offset: opt(notSent),
  lookup_from: opt(notSent),
});
const countRequest = obj<Schemas['CountRequest']>({ exact: opt(bool), filter: optFilter, shard_key: opt(notSent) });
const scrollRequest = obj<Schemas['ScrollRequest']>({
  limit: opt(subsetOf<Def<Schemas['ScrollRequest']['limit']>>()(num(1, 10_000, true))),
  offset: opt(subsetOf<Def<Schemas['ScrollRequest']['offset']>>()(nullable(pointId) as Validator<Schemas['ExtendedPointId']>)),
  with_payload: opt(subsetOf<Def<Schemas['ScrollRequest']['with_payload']>>()(bool)),
  with_vector: opt(subsetOf<Schemas['WithVector']>()(bool)),
  filter: optFilter,
  shard_key: opt(notSent),
  order_by: opt(notSent),
});

interface StoredPoint {
  vector: number[];
  baseId: string;
}
interface Collection {
  size: number;
  points: Map<number, StoredPoint>;
  indexed: Set<string>;
}

const ok = <T>(result: T): { result: T; status: string; time: number } => ({ result, status: 'ok', time: 0.0001 });

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function matches(f: Schemas['Filter'] | undefined | null, p: StoredPoint): boolean {
  const must = (f?.must ?? []) as Schemas['FieldCondition'][];
  return must.every((c) => {
    const m = c.match as { value?: string; any?: string[] } | undefined;
    if (m?.value !== undefined) return p.baseId === m.value;
    if (m?.any !== undefined) return m.any.includes(p.baseId);
    return true;
  });
}

export class QdrantStandIn {
  readonly violations: string[] = [];
  /** `METHOD /path` of every request, in order. */
  readonly requests: string[] = [];
  readonly collections = new Map<string, Collection>();
  private readonly server: http.Server;

  private constructor(private readonly apiKey: string | undefined) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  static async start(opts: { apiKey?: string } = {}): Promise<QdrantStandIn> {
    const s = new QdrantStandIn(opts.apiKey);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (status: number, error: string): void => send(status, { status: { error }, time: 0 });
    if (this.apiKey !== undefined && req.headers['api-key'] !== this.apiKey) return fail(401, 'Invalid api-key');
    let body: unknown = undefined;
    if (chunks.length > 0) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        this.violations.push(`${method} ${url.pathname}: body is not JSON`);
        return fail(400, 'bad JSON');
      }
    }
    /** The body as T, or null (a violation recorded and answered 422). */
    const parsed = <T>(v: Validator<T>, what: string): T | null => {
      const errors: string[] = [];
      v.check(body, what, errors);
      this.violations.push(...errors);
      if (errors.length > 0) fail(422, errors.join('; '));
      return errors.length === 0 ? (body as T) : null;
    };
    const m = /^\/collections\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) {
      this.violations.push(`${method} ${url.pathname}: not an endpoint the adapter uses`);
      return fail(404, 'not found');
    }
    const name = decodeURIComponent(m[1]!);
    const rest = m[2] ?? '';
    const col = this.collections.get(name);
    const missing = (): void => fail(404, `Not found: Collection \`${name}\` doesn't exist!`);
    const route = `${method} ${rest}`;
    switch (route) {
      case 'GET /exists':
        return send(200, ok({ exists: col !== undefined } satisfies Schemas['CollectionExistence']));
      case 'PUT ': {
        const b = parsed(createCollection, 'CreateCollection');
        if (b === null) return;
        if (col) return fail(409, `Collection \`${name}\` already exists!`);
        const vectors = b.vectors as Schemas['VectorParams'];
        this.collections.set(name, { size: vectors.size, points: new Map(), indexed: new Set() });
        return send(200, ok(true));
      }
      case 'DELETE ':
        this.collections.delete(name);
        return send(200, ok(col !== undefined));
      case 'PUT /index': {
        const b = parsed(createFieldIndex, 'CreateFieldIndex');
        if (b === null) return;
        if (!col) return missing();
        col.indexed.add(b.field_name);
        return send(200, ok({ operation_id: 1, status: 'completed' } satisfies Schemas['UpdateResult']));
      }
      case 'PUT /points': {
        const b = parsed(pointsList, 'PointsList');
        if (b === null) return;
        if (!col) return missing();
        for (const p of b.points) {
          const vector = p.vector as number[];
          if (vector.length !== col.size) return fail(400, `Wrong input: Vector dimension error: expected dim: ${col.size}, got ${vector.length}`);
          col.points.set(Number(p.id), { vector, baseId: (p.payload as { base_id: string }).base_id });
        }
        return send(200, ok({ operation_id: 2, status: 'completed' } satisfies Schemas['UpdateResult']));
      }
      case 'POST /points/delete': {
        const byIds = body !== null && typeof body === 'object' && 'points' in body;
        const b = byIds ? parsed(pointIdsList, 'PointIdsList') : parsed(filterSelector, 'FilterSelector');
        if (b === null) return;
        if (!col) return missing();
        if ('points' in b) for (const id of b.points) col.points.delete(Number(id));
        else for (const [id, p] of col.points) if (matches(b.filter, p)) col.points.delete(id);
        return send(200, ok({ operation_id: 3, status: 'completed' } satisfies Schemas['UpdateResult']));
      }
      case 'POST /points/query': {
        const b = parsed(queryRequest, 'QueryRequest');
        if (b === null) return;
        if (!col) return missing();
        const q = b.query as number[];
        if (q.length !== col.size) return fail(400, `Wrong input: Vector dimension error: expected dim: ${col.size}, got ${q.length}`);
        if (b.filter && !col.indexed.has('base_id')) this.violations.push('query filters on base_id, which has no payload index');
        const points: Schemas['ScoredPoint'][] = [...col.points.entries()]
          .filter(([, p]) => matches(b.filter as Schemas['Filter'] | undefined, p))
          .map(([id, p]) => ({ id, version: 1, score: cosine(q, p.vector) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, b.limit ?? 10);
        return send(200, ok({ points } satisfies Schemas['QueryResponse']));
      }
      case 'POST /points/count': {
        const b = parsed(countRequest, 'CountRequest');
        if (b === null) return;
        if (!col) return missing();
        return send(200, ok({ count: col.points.size } satisfies Schemas['CountResult']));
      }
      case 'POST /points/scroll': {
        const b = parsed(scrollRequest, 'ScrollRequest');
        if (b === null) return;
        if (!col) return missing();
        const ids = [...col.points.keys()].sort((a, b) => a - b);
        const from = b.offset === undefined || b.offset === null ? 0 : ids.findIndex((id) => id >= Number(b.offset));
        const limit = b.limit ?? 10;
        const page = from < 0 ? [] : ids.slice(from, from + limit);
        const next = from < 0 ? undefined : ids[from + limit];
        const result: Schemas['ScrollResult'] = {
          points: page.map((id) => {
            const p = col.points.get(id)!;
            return { id, ...(b.with_payload ? { payload: { base_id: p.baseId } } : {}), ...(b.with_vector ? { vector: p.vector } : {}) };
          }),
          next_page_offset: next ?? null,
        };
        return send(200, ok(result));
      }
      default:
        this.violations.push(`${route} on a collection: not an endpoint the adapter uses`);
        return fail(404, 'not found');
    }
  }
}

/**
 * The worker thread of SqliteVecWorker: its own connection to the gateway's database (WAL lets it
 * read while the main thread writes), sqlite-vec loaded, one KNN per message. Read-only by pragma.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { knn, loadSqliteVec, type Prefilter } from './sqlite-vec-store.js';

interface Request {
  readonly id: number;
  readonly accountId: string;
  readonly baseIds: readonly string[];
  readonly vector: Float32Array;
  readonly k: number;
}

const { path, busyTimeoutMs, prefilter } = workerData as { path: string; busyTimeoutMs: number; prefilter: Prefilter };
const db = new Database(path, { fileMustExist: true });
db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
db.pragma('query_only = 1');
// vec0 reads every vector of the account per search: through mmap that is about a third of the
// CPU of copying the pages through SQLite's pager (docs/BENCHMARKS.md). Address space, not RAM.
db.pragma(`mmap_size = ${1024 * 1024 * 1024}`);
loadSqliteVec(db);

parentPort!.on('message', (req: Request) => {
  try {
    parentPort!.postMessage({ id: req.id, hits: knn(db, req, prefilter) });
  } catch (err) {
    parentPort!.postMessage({ id: req.id, error: (err as Error).message });
  }
});

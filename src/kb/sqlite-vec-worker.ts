/**
 * Runs sqlite-vec KNN searches in a worker thread, so a call's kb_search never blocks the event
 * loop that paces every call's audio: vec0 scans all of an account's vectors, several ms at 10k
 * chunks and far more at 100k (docs/BENCHMARKS.md).
 *
 * One worker, requests answered in order. Like the rtpengine ng client, every pending request is
 * rejected when the worker dies or is closed; a dead worker is started again on the next search.
 * An aborted search is rejected at once; the worker finishes it and the answer is dropped.
 */
import { Worker } from 'node:worker_threads';
import { VectorStoreError } from './vector-store-error.js';
import type { Prefilter } from './sqlite-vec-store.js';
import type { VectorHit, VectorSearch } from './vector-store.js';

interface Pending {
  resolve(h: VectorHit[]): void;
  reject(e: Error): void;
  cleanup(): void;
}

export class SqliteVecWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly busyTimeoutMs = 5000,
    private readonly prefilter: Prefilter = 'binary',
  ) {}

  /** Starts the thread now (loading its modules and opening its connection) so the first call's search does not wait for that. */
  warm(): void {
    if (!this.closed) this.ensure();
  }

  search(q: VectorSearch): Promise<VectorHit[]> {
    if (this.closed) return Promise.reject(new VectorStoreError('the vector search worker is closed'));
    if (q.signal?.aborted) return Promise.reject(new VectorStoreError('the vector search was cancelled', null, true));
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise<VectorHit[]>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.get(id)?.cleanup();
        this.pending.delete(id);
        reject(new VectorStoreError('the vector search was cancelled', null, true));
      };
      q.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { resolve, reject, cleanup: () => q.signal?.removeEventListener('abort', onAbort) });
      // A copy: the caller keeps its vector (the transfer would detach it).
      const vector = Float32Array.from(q.vector);
      worker.postMessage({ id, accountId: q.accountId, baseIds: [...q.baseIds], vector, k: q.k }, [vector.buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new VectorStoreError('the vector search worker is closed'));
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./sqlite-vec-worker-thread.js', import.meta.url), {
      workerData: { path: this.path, busyTimeoutMs: this.busyTimeoutMs, prefilter: this.prefilter },
    });
    // An idle worker must not keep the process alive.
    w.unref();
    w.on('message', (m: { id: number; hits?: VectorHit[]; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.cleanup();
      if (m.error !== undefined) p.reject(new VectorStoreError(`sqlite-vec search failed: ${m.error}`));
      else p.resolve(m.hits ?? []);
    });
    const gone = (why: string): void => {
      if (this.worker === w) this.worker = null;
      this.failAll(new VectorStoreError(`the vector search worker ${why}`));
    };
    w.on('error', (err) => gone(`failed: ${err.message}`));
    w.on('exit', (code) => gone(`exited (${code})`));
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(err);
    }
    this.pending.clear();
  }
}

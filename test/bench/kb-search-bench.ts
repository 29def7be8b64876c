/**
 * Knowledge-base cost on sqlite-vec, embeddings excluded (an instant in-process embedder gives
 * random unit vectors of dimension 1536, text-embedding-3-small's):
 *
 * 1. Ingest rate through the real service: a Markdown document is read, extracted, chunked with
 *    cl100k_base, each chunk sealed under the account key and stored, its vector inserted.
 * 2. Search latency in one account at N chunks (default 1k, 10k, 100k): the vec0 KNN alone (the
 *    synchronous work: what blocks the thread that runs it), exact and with the binary prefilter
 *    (and the prefilter's recall@4 against the exact result), the KNN in the worker thread the
 *    daemon uses (what a call's lookup waits for, while the event loop stays free), and the full
 *    KnowledgeService.search (embed + KNN + opening the sealed chunks). p50/p99 over `queries`
 *    random queries, k = 4, filtered to the base. Vectors are clustered (200 centroids + noise).
 *
 * A program, not a test:
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/kb-search-bench.js [sizes=1000,10000,100000] [queries=200]
 *
 * Beyond the first document, vectors for the larger sizes are inserted straight into the vec0
 * table with chunk rows (sealed filler text) so the 100k run does not take an hour of chunking.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { FakeClock } from '../../src/core/clock.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { KbRepository } from '../../src/kb/kb-repository.js';
import { KnowledgeService, chunkName } from '../../src/kb/knowledge-service.js';
import { knn, SqliteVecStore, type Prefilter } from '../../src/kb/sqlite-vec-store.js';
import { SqliteVecWorker } from '../../src/kb/sqlite-vec-worker.js';
import type { Embeddings } from '../../src/kb/embeddings.js';
import { migrate, openDatabase } from '../../src/store/database.js';
import { SqliteTenantStore } from '../../src/store/sqlite-tenant-store.js';
import { ProvisioningService } from '../../src/tenancy/provisioning-service.js';

const DIM = 1536;
const sizes = (process.argv[2] ?? '1000,10000,100000').split(',').map(Number);
const queries = Number(process.argv[3] ?? '200');

/** Topical text gives clustered embeddings: 200 random centroids plus noise, normalised. */
const CENTROIDS = Array.from({ length: 200 }, () => Float32Array.from({ length: DIM }, () => Math.random() - 0.5));

function randomUnit(): Float32Array {
  const c = CENTROIDS[Math.floor(Math.random() * CENTROIDS.length)]!;
  const v = new Float32Array(DIM);
  let n = 0;
  for (let i = 0; i < DIM; i++) {
    v[i] = c[i]! + (Math.random() - 0.5) * 0.8;
    n += v[i]! * v[i]!;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < DIM; i++) v[i]! /= n;
  return v;
}

const instant: Embeddings = { model: 'bench', embed: async (texts) => texts.map(() => randomUnit()) };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const ms = (x: number): string => x.toFixed(2);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-kb-bench-'));
  try {
    const path = join(dir, 'kalem.db');
    const db = openDatabase({ path, busyTimeoutMs: 5000 });
    migrate(db, path, () => new Date().toISOString());
    // As the daemon's worker connection does (src/kb/sqlite-vec-worker-thread.ts).
    if (process.env.KB_BENCH_NO_MMAP !== '1') db.pragma(`mmap_size = ${1024 * 1024 * 1024}`);
    const store = new SqliteTenantStore(db);
    const keyring = new Keyring(await sodiumReady(), randomBytes(32));
    const clock = new FakeClock();
    const provisioning = new ProvisioningService(store, keyring, clock, 'bench');
    const account = provisioning.createAccount({ name: 'bench' });
    const repo = new KbRepository(db);
    const vectors = new SqliteVecStore(db);
    const service = new KnowledgeService({
      store,
      repo,
      vault: keyring,
      clock,
      actor: 'bench',
      vectorStore: () => vectors,
      defaultBackend: 'sqlite-vec',
      embeddings: () => instant,
      defaultModel: 'bench',
      chunking: { maxTokens: 350, overlapTokens: 50 },
      maxDocumentBytes: 64 * 1024 * 1024,
    });
    const base = service.createBase('bench', 'faq');

    // 1. Ingest through the service.
    const para = 'Our support line answers questions about orders, returns, invoices and deliveries. '.repeat(6);
    const sections = Array.from({ length: 400 }, (_, i) => `## Topic ${i}\n\n${para}\n\n${para}\n`).join('\n');
    const docPath = join(dir, 'manual.md');
    writeFileSync(docPath, `# Manual\n\n${sections}`);
    const t0 = performance.now();
    const [r] = await service.addDocuments('bench', 'faq', [docPath]);
    const ingestMs = performance.now() - t0;
    console.log(`ingest (service, embeddings excluded): ${r!.chunks} chunks, ${r!.tokens} tokens in ${ingestMs.toFixed(0)} ms = ${((r!.chunks / ingestMs) * 1000).toFixed(0)} chunks/s`);

    // Filler chunks for the larger sizes: sealed rows + vectors, in one transaction per 5000.
    const docId = repo.listDocuments(account.id, base.id)[0]!.id;
    const wrapped = store.accounts.wrappedKey(account.id)!;
    let have = r!.chunks;
    const worker = new SqliteVecWorker(path);
    const rows: string[] = [];
    const load = `${loadavg()[0]!.toFixed(2)}`;
    for (const target of sizes) {
      const t1 = performance.now();
      const before = have;
      while (have < target) {
        const n = Math.min(5000, target - have);
        const points: Array<{ id: number; baseId: string; vector: Float32Array }> = [];
        store.transaction(() => {
          for (let i = 0; i < n; i++) {
            const seq = 1_000_000 + have + i;
            const sealed = keyring.seal(account.id, wrapped, chunkName(docId, seq), 1, new TextEncoder().encode(`filler chunk ${seq} ${para}`));
            points.push({ id: repo.insertChunk(account.id, docId, seq, 100, sealed), baseId: base.id, vector: randomUnit() });
          }
        });
        await vectors.upsert(account.id, points);
        have += n;
      }
      const loadMs = performance.now() - t1;
      if (have > before) console.log(`  loaded ${have - before} more vectors in ${loadMs.toFixed(0)} ms (${(((have - before) / loadMs) * 1000).toFixed(0)} vectors/s incl. sealing)`);

      const q = Array.from({ length: queries }, () => randomUnit());
      for (const v of q.slice(0, 5)) knn(db, { accountId: account.id, baseIds: [base.id], vector: v, k: 4 }, 'none'); // warm the page cache
      // Wall time (what the thread is blocked for) and CPU time (the same on an idle box; on a
      // loaded one the difference is time the process waited for a core), exact and prefiltered.
      const measure = (prefilter: Prefilter): { wall: number[]; cpu: number[]; ids: number[][] } => {
        const out = { wall: [] as number[], cpu: [] as number[], ids: [] as number[][] };
        for (const v of q) {
          const c = process.cpuUsage();
          const s = performance.now();
          const hits = knn(db, { accountId: account.id, baseIds: [base.id], vector: v, k: 4 }, prefilter);
          out.wall.push(performance.now() - s);
          const used = process.cpuUsage(c);
          out.cpu.push((used.user + used.system) / 1000);
          out.ids.push(hits.map((h) => h.id));
        }
        return out;
      };
      const exact = measure('none');
      const binary = measure('binary');
      let found = 0;
      exact.ids.forEach((ids, i) => (found += ids.filter((id) => binary.ids[i]!.includes(id)).length));
      const recall = found / (exact.ids.length * 4);
      const viaWorker: number[] = [];
      // The daemon starts its worker at start-up (worker.warm()); warm it here too, so its own
      // thread start, sqlite-vec load and page cache are not counted as a search.
      for (const v of q.slice(0, 5)) await worker.search({ accountId: account.id, baseIds: [base.id], vector: v, k: 4 });
      // While the worker searches, the event loop is free: its delay is what a call's 20 ms frame tick would see.
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      loopDelay.enable();
      for (const v of q) {
        const s = performance.now();
        await worker.search({ accountId: account.id, baseIds: [base.id], vector: v, k: 4 });
        viaWorker.push(performance.now() - s);
      }
      loopDelay.disable();
      const loopMaxMs = loopDelay.max / 1e6;
      const full: number[] = [];
      for (const v of q.slice(0, Math.min(q.length, 100))) {
        void v;
        const s = performance.now();
        const hits = await service.search(account.id, [base.id], 'what are your opening hours', { k: 4, minScore: -1 });
        full.push(performance.now() - s);
        if (hits.length !== 4) throw new Error(`expected 4 hits, got ${hits.length}`);
      }
      rows.push(
        `| ${target.toLocaleString('en')} | ${ms(pct(exact.wall, 50))} | ${ms(pct(exact.wall, 99))} | ${ms(pct(exact.cpu, 50))} | ${ms(pct(exact.cpu, 99))} | ${ms(pct(binary.wall, 50))} | ${ms(pct(binary.wall, 99))} | ${ms(pct(binary.cpu, 50))} | ${ms(pct(binary.cpu, 99))} | ${recall.toFixed(3)} | ${ms(pct(viaWorker, 50))} | ${ms(pct(viaWorker, 99))} | ${ms(loopMaxMs)} | ${ms(pct(full, 50))} | ${ms(pct(full, 99))} |`,
      );
      console.log(rows.at(-1));
    }
    await worker.close();
    console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}, load ${load} at start, ${loadavg()[0]!.toFixed(2)} at end, ${queries} queries per size, k = 4, dimension ${DIM}`);
    console.log('| chunks in the account | exact KNN p50 | p99 | CPU p50 | CPU p99 | binary prefilter p50 | p99 | CPU p50 | CPU p99 | recall@4 of the prefilter | worker p50 | worker p99 | event-loop delay max during worker searches | service.search p50 | p99 |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(r);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * The sqlite-vec worker thread the daemon searches through: same answers as the in-thread KNN,
 * pending searches rejected on close and on abort, a fresh worker after one dies.
 */
import t from 'tap';
import { knn } from '../../src/kb/sqlite-vec-store.js';
import { SqliteVecWorker } from '../../src/kb/sqlite-vec-worker.js';
import { HOURS_MD, kbFixture } from './helpers.js';

t.test('the worker answers as the in-thread KNN does, from its own connection', async (t) => {
  const f = await kbFixture();
  t.teardown(() => f.close());
  f.account('acme');
  f.kb.knowledge.createBase('acme', 'faq');
  await f.kb.knowledge.addDocuments('acme', 'faq', [f.file('hours.md', HOURS_MD)]);
  const accountId = f.app.provisioning.account('acme').id;
  const baseId = f.kb.knowledge.listBases('acme')[0]!.id;
  const worker = new SqliteVecWorker(f.dbPath);
  t.teardown(() => worker.close());
  const vector = new Float32Array(f.embeddings.dimension).fill(1 / Math.sqrt(f.embeddings.dimension));
  const q = { accountId, baseIds: [baseId], vector, k: 3 };
  const inThread = knn(f.app.store.db, q);
  t.equal(inThread.length, 3);
  t.same(await worker.search(q), inThread, 'same chunk ids and scores');
  t.same(knn(f.app.store.db, q, 'none'), inThread, 'the binary prefilter and the exact scan agree here');
  t.equal(vector[0], 1 / Math.sqrt(f.embeddings.dimension), 'the caller\'s vector is not detached by the transfer');
  t.same(await worker.search({ ...q, accountId: 'acc_other' }), [], 'another account (no table): nothing');

  const ac = new AbortController();
  const aborted = worker.search({ ...q, signal: ac.signal });
  ac.abort();
  await t.rejects(aborted, /cancelled/);
  const pending = t.rejects(worker.search(q), /closed/, 'a search pending at close is rejected, not left hanging');
  await worker.close();
  await pending;
  await t.rejects(worker.search(q), /closed/);
});

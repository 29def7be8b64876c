/**
 * Knowledge bases end to end below the CLI: the real extraction, chunking, sealing and service,
 * the real `openai` client against the embeddings STAND-IN (test/stand-ins/openai-embeddings.ts),
 * and each vector backend: sqlite-vec for real; Qdrant through the real @qdrant/js-client-rest
 * against the Qdrant REST STAND-IN (test/stand-ins/qdrant.ts), and against a real Qdrant when
 * QDRANT_URL is set.
 */
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKalemError } from '../../src/core/errors.js';
import { vecTable } from '../../src/kb/sqlite-vec-store.js';
import { QdrantStandIn } from '../stand-ins/qdrant.js';
import { HOURS_MD, kbFixture, type KbFixture } from './helpers.js';

interface Backend {
  name: string;
  toml: () => string;
  standIn?: QdrantStandIn;
  skip?: string;
}

const backends: Backend[] = [{ name: 'sqlite-vec', toml: () => 'backend = "sqlite-vec"\n' }];
{
  const b: Backend = { name: 'qdrant (REST stand-in)', toml: () => `backend = "qdrant"\nqdrant_url = "${b.standIn!.url}"\n` };
  backends.push(b);
  const real = process.env.QDRANT_URL;
  backends.push({
    name: 'qdrant (real server at QDRANT_URL)',
    toml: () => `backend = "qdrant"\nqdrant_url = "${real}"\n`,
    ...(real ? {} : { skip: 'QDRANT_URL is not set: this run did NOT test a real Qdrant' }),
  });
}

async function fixtureFor(t: { teardown(fn: () => unknown): void }, b: Backend): Promise<KbFixture> {
  if (b.name.includes('stand-in')) {
    b.standIn = await QdrantStandIn.start();
    const s = b.standIn;
    t.teardown(() => s.close());
  }
  const f = await kbFixture({ kbToml: b.toml() });
  t.teardown(() => f.close());
  return f;
}

const opts = { k: 3, minScore: 0.1 };

for (const b of backends) {
  t.test(`[${b.name}] retrieval, re-adding, replacing, sealing, deleting`, b.skip ? { skip: b.skip } : {}, async (t) => {
    const f = await fixtureFor(t, b);
    const k = f.kb.knowledge;
    f.account('dental');
    k.createBase('dental', 'faq');
    const hours = f.file('hours.md', HOURS_MD);
    const added = await k.addDocuments('dental', 'faq', [hours]);
    t.same(added.map((r) => [r.document, r.status, r.chunks]), [['hours.md', 'added', 3]]);
    const requestsAfterAdd = f.embeddings.requests.length;

    const open = await k.searchBase('dental', 'faq', 'When are you open?', opts);
    t.ok(open.length >= 1, 'the question finds something');
    t.match(open[0]!.text, /Opening hours\n\nWe are open Monday to Friday/, 'the opening-hours chunk answers "when are you open"');
    t.equal(open[0]!.source, 'hours.md');
    t.equal(open[0]!.base, 'faq');
    t.ok(open.every((h, i) => i === 0 || h.score <= open[i - 1]!.score), 'best first');
    const price = await k.searchBase('dental', 'faq', 'How much does a cleaning cost?', opts);
    t.match(price[0]!.text, /Prices/, 'and the prices chunk answers a price question');

    const again = await k.addDocuments('dental', 'faq', [hours]);
    t.same(again.map((r) => r.status), ['unchanged']);
    t.equal(f.embeddings.requests.length, requestsAfterAdd + 2, 'an unchanged document embeds nothing (the 2 requests are the two searches)');

    f.file('hours.md', HOURS_MD.replace('Monday to Friday from 8 am to 6 pm', 'Tuesday to Saturday from 10 am to 7 pm'));
    const replaced = await k.addDocuments('dental', 'faq', [hours]);
    t.same(replaced.map((r) => r.status), ['replaced']);
    const after = await k.searchBase('dental', 'faq', 'When are you open?', { k: 10, minScore: -1 });
    t.match(after[0]!.text, /Tuesday to Saturday/, 'the new version answers');
    t.notOk(after.some((h) => h.text.includes('Monday to Friday')), 'the old version is gone from results');
    t.same(k.listDocuments('dental', 'faq').map((d) => [d.name, d.chunks]), [['hours.md', 3]], 'one document, its new chunks');

    const dbBytes = readdirSync(f.dir)
      .filter((n) => n.startsWith('kalem.db'))
      .map((n) => readFileSync(join(f.dir, n)).toString('latin1'))
      .join('');
    t.notOk(dbBytes.includes('Tuesday to Saturday'), 'chunk text is not in the database files in clear (sealed)');
    t.notOk(dbBytes.includes('Whitening starts'), 'none of it');
    if (b.standIn) {
      const held = JSON.stringify([...b.standIn.collections.values()].map((c) => [...c.points.values()]));
      t.notMatch(held, /Tuesday|Whitening|hours\.md/, 'Qdrant holds vectors and base ids only: no text, no document names');
      t.same(b.standIn.violations, [], 'every request matched the client package\'s types');
    }
    t.same(f.embeddings.violations, []);

    const audit = f.app.provisioning.listAudit('dental', 50).map((a) => a.action);
    for (const action of ['kb.create', 'kb.document.add', 'kb.document.replace', 'kb.search']) t.ok(audit.includes(action), `audited: ${action}`);

    const store = f.kb.knowledge;
    const accountId = f.app.provisioning.account('dental').id;
    const count = async (): Promise<number> => {
      if (b.name === 'sqlite-vec') {
        return (f.app.store.db.prepare(`SELECT count(*) AS n FROM "${vecTable(accountId)}"`).get() as { n: number }).n;
      }
      return b.standIn ? (b.standIn.collections.get(`kalem_${accountId}`)?.points.size ?? 0) : -1;
    };
    if (b.skip === undefined && !b.name.includes('real')) t.equal(await count(), 3, 'exactly the live chunks have vectors (the old version\'s were deleted)');
    await store.removeDocument('dental', 'faq', 'hours.md');
    t.same(k.listDocuments('dental', 'faq'), []);
    if (!b.name.includes('real')) t.equal(await count(), 0, 'removing the document removed its vectors');
    t.same(await k.searchBase('dental', 'faq', 'When are you open?', opts), []);
    await t.rejects(store.removeDocument('dental', 'faq', 'hours.md'), /no document hours\.md in knowledge base faq/);

    await k.addDocuments('dental', 'faq', [hours]);
    await k.deleteBase('dental', 'faq');
    if (!b.name.includes('real')) t.equal(await count(), 0, 'deleting the base removed its vectors');
    t.equal((f.app.store.db.prepare('SELECT count(*) AS n FROM kb_chunks').get() as { n: number }).n, 0, 'and its sealed chunks');
    t.throws(() => k.listDocuments('dental', 'faq'), /no knowledge base faq in account dental/);

    k.createBase('dental', 'faq2');
    await k.addDocuments('dental', 'faq2', [hours]);
    await k.dropAccount(accountId);
    f.app.provisioning.deleteAccount('dental');
    if (b.name === 'sqlite-vec') {
      t.notOk(f.app.store.db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(vecTable(accountId)), 'the account\'s vec0 table is dropped');
    } else if (b.standIn) {
      t.notOk(b.standIn.collections.has(`kalem_${accountId}`), 'the account\'s Qdrant collection is deleted');
    }
    t.equal((f.app.store.db.prepare('SELECT count(*) AS n FROM kb_documents').get() as { n: number }).n, 0, 'no kb rows survive the account');
  });

  t.test(`[${b.name}] isolation: a search only reaches the calling account's vectors`, b.skip ? { skip: b.skip } : {}, async (t) => {
    const f = await fixtureFor(t, b);
    const k = f.kb.knowledge;
    f.account('alpha');
    f.account('beta');
    k.createBase('alpha', 'faq');
    k.createBase('beta', 'faq');
    const a = f.file('alpha-hours.md', '# Opening hours\n\nAlpha Bakery is open every day from 6 am to 2 pm.\n');
    const bb = f.file('beta-hours.md', '# Opening hours\n\nBeta Bikes is open weekdays from 9 am to 5 pm.\n');
    await k.addDocuments('alpha', 'faq', [a]);
    await k.addDocuments('beta', 'faq', [bb]);
    const alphaId = f.app.provisioning.account('alpha').id;
    const betaId = f.app.provisioning.account('beta').id;
    const betaBase = k.listBases('beta')[0]!.id;
    // A real Qdrant keeps collections: remove what this test made.
    t.teardown(async () => {
      await k.dropAccount(alphaId);
      await k.dropAccount(betaId);
    });
    const alphaBase = k.listBases('alpha')[0]!.id;

    const hits = await k.search(alphaId, [alphaBase], 'when are you open', { k: 10, minScore: -1 });
    t.ok(hits.length >= 1);
    t.ok(hits.every((h) => h.text.includes('Alpha') && h.source === 'alpha-hours.md'), 'alpha sees only alpha\'s chunk');
    const cross = await k.search(alphaId, [betaBase, alphaBase], 'when are you open', { k: 10, minScore: -1 });
    t.notOk(cross.some((h) => h.text.includes('Beta')), 'naming beta\'s base while searching as alpha reaches nothing of beta');
    t.same(await k.search(alphaId, [betaBase], 'when are you open', { k: 10, minScore: -1 }), [], 'beta\'s base alone: nothing');
    const betaHits = await k.search(betaId, [betaBase], 'when are you open', { k: 10, minScore: -1 });
    t.ok(betaHits.length >= 1 && betaHits.every((h) => h.text.includes('Beta')), 'and beta sees only beta\'s');
    if (b.standIn) {
      t.equal(b.standIn.collections.size, 2, 'one Qdrant collection per account');
      t.same(b.standIn.violations, []);
    }
  });
}

t.test('embeddings: retries 429 and 5xx with backoff, clear errors on 401 and on exhausted retries, never the key', async (t) => {
  const f = await kbFixture();
  t.teardown(() => f.close());
  const k = f.kb.knowledge;
  f.account('acme');
  k.createBase('acme', 'faq');
  const doc = f.file('hours.md', HOURS_MD);

  f.embeddings.failNext(429, 2);
  f.embeddings.failNext(503, 1);
  const r = await k.addDocuments('acme', 'faq', [doc]);
  t.equal(r[0]!.status, 'added', 'three failures (429, 429, 503) were retried through');
  t.equal(f.embeddings.failuresServed, 3);

  f.embeddings.failNext(500, 10);
  const doc2 = f.file('more.md', '# More\n\nSomething else entirely.\n');
  const exhausted = await k.addDocuments('acme', 'faq', [doc2]).catch((e: unknown) => e);
  t.ok(isKalemError(exhausted, 'KALEM_ERR_KB_EMBEDDINGS'));
  t.match((exhausted as Error).message, /the embeddings API failed \(500\) after 3 retries/);
  t.same(k.listDocuments('acme', 'faq').map((d) => d.name), ['hours.md'], 'nothing of the failed document was stored');
  t.equal(f.embeddings.failuresServed, 3 + 4, 'one try and 3 retries');
  f.embeddings.clearFailures();

  const wrongKey = `sk-proj-WRONG${'x'.repeat(20)}`;
  f.app.provisioning.createAccount({ name: 'other' });
  f.app.provisioning.setSecret('other', 'openai', Buffer.from(wrongKey));
  k.createBase('other', 'faq');
  const refused = await k.addDocuments('other', 'faq', [doc]).catch((e: unknown) => e);
  t.ok(isKalemError(refused, 'KALEM_ERR_KB_EMBEDDINGS'));
  t.match((refused as Error).message, /OpenAI refused the "openai" key of account acc_\S+ \(401 \(invalid_api_key\)\); store a valid key with `kalem secret rotate/);
  t.notOk(String((refused as Error).message).includes(wrongKey.slice(8)), 'the 401 body quotes the key; the error does not');
  t.notOk(JSON.stringify(refused).includes('WRONG'), 'nor any field of the error');

  f.app.provisioning.createAccount({ name: 'nokey' });
  k.createBase('nokey', 'faq');
  await t.rejects(k.addDocuments('nokey', 'faq', [doc]), /has no "openai" secret; set it with `kalem secret set/);
  await t.rejects(k.addDocuments('acme', 'faq', [f.file('x.docx', 'zz')]), /x\.docx: unsupported file type/);
  await t.rejects(k.addDocuments('acme', 'faq', [f.file('empty.md', '\n\n')]), /empty\.md: no text found; nothing was added/);
  await t.rejects(k.addDocuments('acme', 'nope', [doc]), /no knowledge base nope in account acme/);
  t.same(f.embeddings.violations, []);
});

t.test('kb migrate: an account\'s vectors move from sqlite-vec to Qdrant and back; searches answer the same', async (t) => {
  const q = await QdrantStandIn.start();
  t.teardown(() => q.close());
  const f = await kbFixture({ kbToml: `backend = "sqlite-vec"\nqdrant_url = "${q.url}"\n` });
  t.teardown(() => f.close());
  const k = f.kb.knowledge;
  f.account('acme');
  k.createBase('acme', 'faq');
  await k.addDocuments('acme', 'faq', [f.file('hours.md', HOURS_MD)]);
  const before = await k.searchBase('acme', 'faq', 'when are you open', opts);
  const id = f.app.provisioning.account('acme').id;
  const progress: number[] = [];
  const moved = await k.migrate('acme', 'qdrant', (done) => progress.push(done));
  t.same(moved, { from: 'sqlite-vec', to: 'qdrant', vectors: 3 });
  t.same(progress.at(-1), 3);
  t.equal(q.collections.get(`kalem_${id}`)?.points.size, 3, 'the vectors are in Qdrant');
  t.notOk(f.app.store.db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(vecTable(id)), 'and no longer in sqlite-vec');
  const after = await k.searchBase('acme', 'faq', 'when are you open', opts);
  t.same(after.map((h) => h.chunkId), before.map((h) => h.chunkId), 'the same chunks answer');
  await t.rejects(k.migrate('acme', 'qdrant'), /already in qdrant/);
  const back = await k.migrate('acme', 'sqlite-vec');
  t.equal(back.vectors, 3);
  t.notOk(q.collections.has(`kalem_${id}`), 'the Qdrant collection is dropped after moving back');
  t.same((await k.searchBase('acme', 'faq', 'when are you open', opts)).map((h) => h.chunkId), before.map((h) => h.chunkId));
  t.ok(f.app.provisioning.listAudit('acme', 50).some((a) => a.action === 'kb.migrate'), 'audited');
  t.same(q.violations, []);
});

t.test('Qdrant API key: read from a 0600 file and sent; a readable file or a wrong key is refused plainly, the key never shown', async (t) => {
  const q = await QdrantStandIn.start({ apiKey: 'qk-PLANTED-0123456789' });
  t.teardown(() => q.close());
  const dir = mkdtempSync(join(tmpdir(), 'kalem-qk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, 'qdrant.key');
  writeFileSync(keyFile, 'qk-PLANTED-0123456789\n', { mode: 0o600 });
  const f = await kbFixture({ kbToml: `backend = "qdrant"\nqdrant_url = "${q.url}"\nqdrant_api_key_file = "${keyFile}"\n` });
  t.teardown(() => f.close());
  f.account('acme');
  f.kb.knowledge.createBase('acme', 'faq');
  const doc = f.file('hours.md', HOURS_MD);
  t.same((await f.kb.knowledge.addDocuments('acme', 'faq', [doc])).map((r) => r.status), ['added'], 'the right key is accepted');

  writeFileSync(keyFile, 'qk-WRONG-key-value\n', { mode: 0o600 });
  const wrong = await kbFixture({ kbToml: `backend = "qdrant"\nqdrant_url = "${q.url}"\nqdrant_api_key_file = "${keyFile}"\n` });
  t.teardown(() => wrong.close());
  wrong.account('acme');
  wrong.kb.knowledge.createBase('acme', 'faq');
  const err = await wrong.kb.knowledge.addDocuments('acme', 'faq', [wrong.file('hours.md', HOURS_MD)]).catch((e: unknown) => e);
  t.match((err as Error).message, /Qdrant at 127\.0\.0\.1:\d+ refused to check the collection \(HTTP 401\); check \[kb\] qdrant_api_key_file/);
  t.notOk(JSON.stringify({ m: (err as Error).message, ...(err as object) }).includes('qk-'), 'no key in the error');

  chmodSync(keyFile, 0o644);
  const open = await kbFixture({ kbToml: `backend = "qdrant"\nqdrant_url = "${q.url}"\nqdrant_api_key_file = "${keyFile}"\n` });
  t.teardown(() => open.close());
  open.account('acme');
  open.kb.knowledge.createBase('acme', 'faq');
  await t.rejects(open.kb.knowledge.addDocuments('acme', 'faq', [open.file('hours.md', HOURS_MD)]), /qdrant_api_key_file .* is readable by others: run `chmod 600/);
  t.same(q.violations, []);
});

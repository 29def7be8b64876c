import t, { type Test } from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallRecordsService } from '../../src/tenancy/call-records-service.js';
import { ErasureService } from '../../src/privacy/erasure-service.js';
import type { TranscriptTurn } from '../../src/tenancy/model.js';
import { makeProvisioning, utf8 } from '../helpers/store.js';

/**
 * Erasure proven at the byte level: after each kind of deletion the database file, its WAL and
 * its shared-memory index are copied (as a file-level backup would copy them), and the old
 * sealed bytes and wrapped keys are searched for in every copy. Each search is first run before
 * the deletion and must find what it looks for, so an absent match means erased, not mis-aimed.
 */

const turns = (word: string): TranscriptTurn[] => [
  { role: 'agent', text: 'Hello, how can I help?', at: '2026-11-25T10:00:01.000Z' },
  { role: 'caller', text: `My code word is ${word}`, at: '2026-11-25T10:00:04.500Z' },
];

/** Distinctive slices of a blob: the whole, its nonce, its tag. Any one surviving is a failure. */
function pieces(label: string, blob: Uint8Array): Array<[string, Buffer]> {
  const b = Buffer.from(blob);
  return [
    [`${label} (whole)`, b],
    [`${label} (first 24 bytes)`, b.subarray(0, 24)],
    [`${label} (last 16 bytes)`, b.subarray(b.length - 16)],
  ];
}

async function setup(t: Test) {
  const p = await makeProvisioning();
  const calls = new CallRecordsService(p.store, p.keyring, p.clock, 'test');
  const erasure = new ErasureService(p.store, p.keyring, p.clock, 'test');
  const snapshots = mkdtempSync(join(tmpdir(), 'kalem-snap-'));
  t.teardown(() => {
    p.close();
    rmSync(p.dir, { recursive: true, force: true });
    rmSync(snapshots, { recursive: true, force: true });
  });
  let n = 0;
  const call = (accountId: string, agentId: string, fromUri = 'sip:+15551234567@carrier.example'): string => {
    const id = `call_bytes${++n}`;
    const at = new Date(Date.UTC(2026, 10, 25, 10, n)).toISOString();
    calls.insert({ id, accountId, agentId, trunkId: null, numberE164: '+14155550100', sipCallId: `sip-${n}@carrier`, fromUri, startedAt: at });
    calls.finish(accountId, id, { answeredAt: at, endedAt: at, endReason: 'remote-bye', hangupBy: 'caller', details: {} });
    return id;
  };
  let snap = 0;
  /** Copies kalem.db* to a fresh directory and returns the copies' bytes by name. */
  const copyFiles = (): Map<string, Buffer> => {
    const dir = join(snapshots, String(++snap));
    rmSync(dir, { recursive: true, force: true });
    const out = new Map<string, Buffer>();
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(p.dir).filter((f) => f.startsWith('kalem.db'))) {
      copyFileSync(join(p.dir, f), join(dir, f));
      out.set(f, readFileSync(join(dir, f)));
    }
    return out;
  };
  const found = (files: Map<string, Buffer>, needle: Buffer): string[] => [...files].filter(([, b]) => b.includes(needle)).map(([f]) => f);
  const expectPresent = (what: Array<[string, Buffer]>): void => {
    const files = copyFiles();
    for (const [label, needle] of what) t.not(found(files, needle).length, 0, `before: ${label} is in the files (the search works)`);
  };
  const expectGone = (what: Array<[string, Buffer]>, when: string): void => {
    const files = copyFiles();
    t.ok(files.has('kalem.db'), 'the database file was copied');
    for (const [label, needle] of what) t.same(found(files, needle), [], `${when}: ${label} is in none of ${[...files.keys()].join(', ')}`);
  };
  return { p, calls, erasure, call, expectPresent, expectGone };
}

t.test('every writing connection runs with secure_delete', async (t) => {
  const { p } = await setup(t);
  t.equal(p.db.pragma('secure_delete', { simple: true }), 1);
});

t.test('a secret overwritten: the old sealed value is in no copy of the files', async (t) => {
  const { p, expectPresent, expectGone } = await setup(t);
  p.provisioning.createAccount({ name: 'alpha' });
  p.provisioning.setSecret('alpha', 'openai', utf8('sk-PLANTED-old-value-1111'));
  const old = p.store.secrets.latest(p.store.accounts.findByName('alpha')!.id, 'openai')!.sealed;
  expectPresent(pieces('old sealed secret', old));
  p.provisioning.rotateSecret('alpha', 'openai', utf8('sk-PLANTED-new-value-2222'));
  expectGone(pieces('old sealed secret', old), 'after rotate');
  p.provisioning.deleteSecret('alpha', 'openai');
});

t.test('a transcript erased: its sealed bytes and wrapped data key are in no copy; the CDR stays', async (t) => {
  const { p, calls, erasure, call, expectPresent, expectGone } = await setup(t);
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot' });
  const keep = call(a.id, agent.id);
  const gone = call(a.id, agent.id);
  calls.storeTranscript(a.id, keep, turns('kept-plum'));
  calls.storeTranscript(a.id, gone, turns('erased-quince'));
  const stored = p.store.transcripts.get(a.id, gone)!;
  const what = [...pieces('sealed transcript', stored.sealed), ...pieces('wrapped data key', stored.wrappedKey)];
  expectPresent(what);
  const r = erasure.deleteCall('alpha', gone);
  t.match(r, { accountId: a.id, calls: 1, transcripts: 1, recordings: 0, callerFields: 1, walTruncated: true });
  expectGone(what, 'after calls delete');
  t.ok(calls.callRecord('alpha', gone), 'the CDR itself stays');
  t.equal(calls.callRecord('alpha', gone).fromUri, null, 'its caller is gone');
  t.equal(calls.callRecord('alpha', gone).hasTranscript, false);
  t.same(calls.transcript('alpha', keep)[1]!.text, 'My code word is kept-plum', 'the other call is untouched');
  const audit = p.store.audit.list({ accountId: a.id, limit: 10 }).find((e) => e.action === 'call.erase')!;
  t.match(audit, { target: gone, details: { calls: 1, transcripts: 1, callerFields: 1 } });
  t.notOk(JSON.stringify(audit).includes('quince') || JSON.stringify(audit).includes('5551234567'), 'the audit row holds no content and no number');
});

t.test('a caller erased: transcripts and caller fields of that caller only, in that account or all accounts', async (t) => {
  const { p, calls, erasure, call, expectPresent, expectGone } = await setup(t);
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const b = p.provisioning.createAccount({ name: 'bravo' });
  const agentA = p.provisioning.createAgent('alpha', { name: 'bot' });
  const agentB = p.provisioning.createAgent('bravo', { name: 'bot' });
  const mine1 = call(a.id, agentA.id, 'sip:+15551234567@carrier.example;user=phone');
  const mine2 = call(a.id, agentA.id, '<tel:0015551234567>');
  const other = call(a.id, agentA.id, 'sip:+15559999999@carrier.example');
  const inB = call(b.id, agentB.id, 'sip:+15551234567@other-carrier.example');
  for (const [acc, id] of [[a.id, mine1], [a.id, mine2], [a.id, other], [b.id, inB]] as const) calls.storeTranscript(acc, id, turns(`word-${id}`));
  const callerRow = (acc: string, id: string) =>
    p.db.prepare('SELECT caller_hash, caller_sealed FROM calls WHERE account_id = ? AND id = ?').get(acc, id) as { caller_hash: Buffer; caller_sealed: Buffer };
  t.same(callerRow(a.id, mine1).caller_hash, callerRow(a.id, mine2).caller_hash, 'two notations of one number hash alike');
  t.not(callerRow(a.id, mine1).caller_hash.equals(callerRow(b.id, inB).caller_hash), true, 'the same number hashes differently in another account');
  t.equal(calls.callRecord('alpha', mine1).fromUri, 'sip:+15551234567@carrier.example;user=phone', 'the operator sees the caller');
  const fileTexts = readFileSync(join(p.dir, 'kalem.db-wal'));
  t.notOk(fileTexts.includes('5551234567'), 'the number is not in the WAL in clear');

  const what = [mine1, mine2].flatMap((id) => {
    const s = p.store.transcripts.get(a.id, id)!;
    const c = callerRow(a.id, id);
    return [...pieces(`${id} transcript`, s.sealed), ...pieces(`${id} data key`, s.wrappedKey), [`${id} caller hash`, c.caller_hash], ...pieces(`${id} sealed caller`, c.caller_sealed)] as Array<[string, Buffer]>;
  });
  expectPresent(what);
  t.throws(() => erasure.eraseCaller('alpha', 'not a number'), { code: 'KALEM_ERR_INVALID_ARGUMENT', message: /--caller takes a phone number/ });
  const r = erasure.eraseCaller('alpha', '+1 (555) 123-4567');
  t.match(r.totals, { calls: 2, transcripts: 2, callerFields: 2 });
  t.equal(r.accounts.length, 1);
  expectGone(what, 'after calls erase --caller');
  t.ok(p.store.transcripts.get(a.id, other), 'another caller\'s transcript stays');
  t.ok(p.store.transcripts.get(b.id, inB), 'the same caller in another account is untouched without --all-accounts');
  const audit = p.store.audit.list({ accountId: a.id, limit: 10 }).find((e) => e.action === 'caller.erase')!;
  t.equal(audit.target, r.accounts[0]!.callerHash, 'audited under the caller hash');
  t.notOk(JSON.stringify(audit).includes('5551234567'));

  const all = erasure.eraseCaller(null, '+15551234567');
  t.same(all.accounts.map((x) => [x.account, x.calls]), [['alpha', 0], ['bravo', 1]], 'every account searched; alpha has nothing left');
  t.equal(p.store.transcripts.get(b.id, inB), undefined);
});

t.test('an account deleted: its wrapped key, secrets, transcripts and callers are in no copy', async (t) => {
  const { p, calls, erasure, call, expectPresent, expectGone } = await setup(t);
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const b = p.provisioning.createAccount({ name: 'bravo' });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot' });
  p.provisioning.setSecret('alpha', 'openai', utf8('sk-PLANTED-account-secret'));
  const id = call(a.id, agent.id);
  calls.storeTranscript(a.id, id, turns('account-fig'));
  const s = p.store.transcripts.get(a.id, id)!;
  const what = [
    ...pieces('wrapped account key', p.store.accounts.wrappedKey(a.id)!),
    ...pieces('sealed secret', p.store.secrets.latest(a.id, 'openai')!.sealed),
    ...pieces('sealed transcript', s.sealed),
    ...pieces('wrapped data key', s.wrappedKey),
  ];
  expectPresent(what);
  const r = erasure.deleteAccount('alpha');
  t.match(r, { account: 'alpha', calls: 1, transcripts: 1, callerFields: 1, walTruncated: true });
  expectGone(what, 'after account delete');
  t.equal(p.store.accounts.get(a.id), undefined);
  t.ok(p.store.accounts.wrappedKey(b.id), 'the other account keeps its key');
  t.same(
    p.store.audit.list({ accountId: a.id, limit: 10 }).map((e) => e.action).slice(0, 2).sort(),
    ['account.delete', 'account.erase'],
    'the erasure and the deletion are audited',
  );
});

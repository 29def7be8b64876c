import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CallRecordsService } from '../../src/tenancy/call-records-service.js';
import type { TranscriptTurn } from '../../src/tenancy/model.js';
import { makeProvisioning } from '../helpers/store.js';

/**
 * CDRs and sealed transcripts at the store and service level: tenant isolation, sealing (the
 * words never reach the database file or its WAL), blobs copied between calls or accounts, the
 * audit row on every read, and the agent's "do not store transcripts" setting.
 */

const PLANTED = 'PLANTED-caller-phrase-tangerine-47b1';

async function setup() {
  const p = await makeProvisioning();
  const calls = new CallRecordsService(p.store, p.keyring, p.clock, 'test');
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const b = p.provisioning.createAccount({ name: 'bravo' });
  const agentA = p.provisioning.createAgent('alpha', { name: 'bot' });
  const agentB = p.provisioning.createAgent('bravo', { name: 'bot' });
  let n = 0;
  /** A finished call as the call path writes it. */
  const call = (accountId: string, agentId: string, at?: string): string => {
    const id = `call_test${++n}`;
    const startedAt = at ?? new Date(Date.UTC(2026, 10, 25, 10, n)).toISOString();
    calls.insert({ id, accountId, agentId, trunkId: null, numberE164: '+14155550100', sipCallId: `sip-${n}@carrier`, fromUri: 'sip:+15551234567@carrier.example', startedAt });
    calls.finish(accountId, id, {
      answeredAt: startedAt,
      endedAt: new Date(Date.parse(startedAt) + 65_000).toISOString(),
      endReason: 'remote-bye',
      hangupBy: 'caller',
      details: { media: { received: 3250, sent: 3249 } },
    });
    return id;
  };
  const turns: TranscriptTurn[] = [
    { role: 'agent', text: 'Hello, how can I help?', at: '2026-11-25T10:00:01.000Z' },
    { role: 'caller', text: `My code word is ${PLANTED}`, at: '2026-11-25T10:00:04.500Z' },
    { role: 'agent', text: 'Thank you, let me', at: '2026-11-25T10:00:09.000Z', truncated: true },
    { role: 'dtmf', text: '42#', at: '2026-11-25T10:00:12.000Z' },
  ];
  return { p, calls, a, b, agentA, agentB, call, turns };
}

t.test('store, list, show and read back a transcript; the read is audited', async (t) => {
  const { p, calls, a, agentA, call, turns } = await setup();
  t.teardown(p.close);
  const id = call(a.id, agentA.id);
  const older = call(a.id, agentA.id, '2026-11-24T09:00:00.000Z');
  t.equal(calls.callRecord('alpha', id).hasTranscript, false);
  t.equal(calls.storeTranscript(a.id, id, turns), true);

  const rec = calls.callRecord('alpha', id);
  t.same(rec, {
    id, accountId: a.id, agentId: agentA.id, numberE164: '+14155550100', sipCallId: 'sip-1@carrier',
    startedAt: '2026-11-25T10:01:00.000Z', endedAt: '2026-11-25T10:02:05.000Z', endReason: 'remote-bye',
    trunkId: null, fromUri: 'sip:+15551234567@carrier.example', answeredAt: '2026-11-25T10:01:00.000Z',
    hangupBy: 'caller', details: { media: { received: 3250, sent: 3249 } }, hasTranscript: true, hasRecording: false,
  });
  t.same(calls.listCalls(a.id, 10).map((c) => [c.id, c.hasTranscript]), [[id, true], [older, false]], 'newest first, by id or name');
  t.same(calls.listCalls('alpha', 1).map((c) => c.id), [id], 'limit');
  t.throws(() => calls.listCalls('alpha', 0), { code: 'KALEM_ERR_INVALID_ARGUMENT' });

  t.same(p.store.audit.list({ accountId: a.id, limit: 100 }).filter((e) => e.action.startsWith('call.')), [], 'storing and listing are not audited as reads');
  t.same(calls.transcript('alpha', id), turns, 'the turns come back exactly, the truncated flag included');
  const reads = p.store.audit.list({ accountId: a.id, limit: 100 }).filter((e) => e.action === 'call.transcript.read');
  t.equal(reads.length, 1, 'one audit row per read');
  t.match(reads[0], { actor: 'test', accountId: a.id, target: id, details: { turns: 4 } });
  t.notOk(JSON.stringify(reads[0]).includes(PLANTED), 'the audit row holds no transcript text');
  calls.transcript(a.id, id);
  t.equal(p.store.audit.list({ accountId: a.id, limit: 100 }).filter((e) => e.action === 'call.transcript.read').length, 2);

  t.throws(() => calls.transcript('alpha', older), { code: 'KALEM_ERR_NO_TRANSCRIPT', message: /has no stored transcript/ });
  t.throws(() => calls.transcript('alpha', 'call_nope'), { code: 'KALEM_ERR_UNKNOWN_CALL', message: 'no call call_nope in account alpha; list them with `kalem calls list`' });
  t.throws(() => calls.callRecord('alpha', 'call_nope'), { code: 'KALEM_ERR_UNKNOWN_CALL' });
  t.throws(() => calls.listCalls('nobody', 5), { code: 'KALEM_ERR_UNKNOWN_ACCOUNT' });
  t.equal(p.store.audit.list({ accountId: a.id, limit: 100 }).filter((e) => e.action === 'call.transcript.read').length, 2, 'failed reads write no read row');
});

t.test('account B reaches neither account A\'s CDR nor its transcript', async (t) => {
  const { p, calls, a, b, agentA, agentB, call, turns } = await setup();
  t.teardown(p.close);
  const idA = call(a.id, agentA.id);
  call(b.id, agentB.id);
  calls.storeTranscript(a.id, idA, turns);

  const s = p.store;
  t.equal(s.calls.get(b.id, idA), undefined, 'CDR by id');
  t.equal(s.calls.list(b.id, 100).some((c) => c.id === idA), false, 'CDR list');
  t.equal(s.transcripts.get(b.id, idA), undefined, 'transcript by id');
  t.ok(s.transcripts.get(a.id, idA), 'A still has its transcript');
  t.throws(() => calls.callRecord('bravo', idA), { code: 'KALEM_ERR_UNKNOWN_CALL' });
  t.throws(() => calls.transcript('bravo', idA), { code: 'KALEM_ERR_UNKNOWN_CALL' }, 'B is told the call does not exist, not that it is someone else\'s');
  t.throws(() => calls.storeTranscript(b.id, idA, turns), { code: 'KALEM_ERR_UNKNOWN_CALL' }, 'B cannot attach a transcript to A\'s call');
  // Even bypassing the service, the composite foreign key refuses a B row on A's call.
  t.throws(() => s.transcripts.put(b.id, idA, { wrappedKey: new Uint8Array([1, 2, 3]), sealed: new Uint8Array([4, 5, 6]) }, 'x'), /FOREIGN KEY/);
});

t.test('the transcript text never reaches the database file or its WAL', async (t) => {
  const { p, calls, a, agentA, call, turns } = await setup();
  t.teardown(p.close);
  const id = call(a.id, agentA.id);
  calls.storeTranscript(a.id, id, turns);
  t.same(calls.transcript('alpha', id)[1]!.text, `My code word is ${PLANTED}`, 'the phrase is really stored');
  const scan = (when: string): void => {
    const files = readdirSync(p.dir).filter((f) => f.startsWith('kalem.db'));
    t.ok(files.includes('kalem.db-wal') || when === 'after checkpoint', `the WAL exists ${when}`);
    for (const f of files) {
      const bytes = readFileSync(join(p.dir, f));
      t.notOk(bytes.includes(PLANTED), `phrase absent from ${f} ${when}`);
      t.notOk(bytes.includes(Buffer.from(PLANTED, 'utf16le')), `phrase absent from ${f} ${when} (UTF-16)`);
      t.notOk(bytes.includes('tangerine'), `no fragment of it in ${f} ${when}`);
    }
  };
  scan('before checkpoint');
  p.db.pragma('wal_checkpoint(TRUNCATE)');
  scan('after checkpoint');
});

t.test('a sealed transcript copied to another call or account fails to open', async (t) => {
  const { p, calls, a, b, agentA, agentB, call, turns } = await setup();
  t.teardown(p.close);
  const first = call(a.id, agentA.id);
  const second = call(a.id, agentA.id);
  const other = call(b.id, agentB.id);
  calls.storeTranscript(a.id, first, turns);
  const blob = p.store.transcripts.get(a.id, first)!;

  // An attacker with write access to the database copies A's blob onto another call of A…
  p.store.transcripts.put(a.id, second, blob, 'x');
  t.throws(() => calls.transcript('alpha', second), {
    code: 'KALEM_ERR_TRANSCRIPT_TAMPERED',
    message: `the transcript of call ${second} in account alpha does not open: it was tampered with, or copied from another call or account`,
  });
  // …and onto a call of another account.
  p.store.transcripts.put(b.id, other, blob, 'x');
  t.throws(() => calls.transcript('bravo', other), { code: 'KALEM_ERR_TRANSCRIPT_TAMPERED' });
  // A flipped byte in place.
  const flipped = Uint8Array.from(blob.sealed);
  flipped[flipped.length - 1]! ^= 1;
  p.db.prepare('UPDATE call_transcripts SET sealed = ? WHERE account_id = ? AND call_id = ?').run(Buffer.from(flipped), a.id, first);
  t.throws(() => calls.transcript('alpha', first), { code: 'KALEM_ERR_TRANSCRIPT_TAMPERED' });
  t.equal(p.store.audit.list({ limit: 100 }).filter((e) => e.action === 'call.transcript.read').length, 0, 'a transcript that does not open is not recorded as read');
});

t.test('storeTranscript: written once, the agent\'s opt-out holds, bad turns are refused without echoing text', async (t) => {
  const { p, calls, a, agentA, call, turns } = await setup();
  t.teardown(p.close);
  const id = call(a.id, agentA.id);
  t.throws(() => calls.storeTranscript(a.id, 'call_nope', turns), { code: 'KALEM_ERR_UNKNOWN_CALL' });
  t.equal(calls.storeTranscript(a.id, id, turns), true);
  t.throws(() => calls.storeTranscript(a.id, id, turns), { code: 'KALEM_ERR_DUPLICATE', message: /already has a transcript/ });
  t.same(calls.transcript(a.id, id), turns, 'the first transcript is kept');

  const quiet = p.provisioning.createAgent('alpha', { name: 'quiet', storeTranscripts: false });
  const quietCall = call(a.id, quiet.id);
  t.equal(calls.storeTranscript(a.id, quietCall, turns), false, 'nothing stored for an agent that does not store transcripts');
  t.equal(p.store.transcripts.get(a.id, quietCall), undefined);
  t.equal(calls.callRecord('alpha', quietCall).hasTranscript, false);

  const empty = call(a.id, agentA.id);
  t.equal(calls.storeTranscript(a.id, empty, []), true, 'a call where nobody spoke has an empty transcript');
  t.same(calls.transcript(a.id, empty), []);

  const bad: Array<[unknown, RegExp]> = [
    [[{ role: 'narrator', text: PLANTED, at: '2026-11-25T10:00:00Z' }], /turn 1: role must be one of caller, agent, dtmf, tool/],
    [[turns[0], { role: 'caller', text: 5, at: '2026-11-25T10:00:00Z' }], /turn 2: text must be a string/],
    [[{ role: 'caller', text: PLANTED, at: 'yesterday' }], /turn 1: at must be an ISO 8601 time/],
    [[{ role: 'caller', text: PLANTED, at: '2026-11-25T10:00:00Z', truncated: 'yes' }], /turn 1: truncated must be true or false/],
    [[null], /turn 1: not an object/],
  ];
  const fresh = call(a.id, agentA.id);
  for (const [input, message] of bad) {
    const err = t.throws(() => calls.storeTranscript(a.id, fresh, input as TranscriptTurn[]), { code: 'KALEM_ERR_INVALID_ARGUMENT', message });
    t.ok(err instanceof Error && !err.message.includes(PLANTED), 'the message does not repeat the text');
  }
  t.equal(p.store.transcripts.get(a.id, fresh), undefined, 'nothing written for bad input');

  // Only the known fields are sealed: an extra property (say, raw audio) is dropped.
  const extra = call(a.id, agentA.id);
  calls.storeTranscript(a.id, extra, [{ role: 'caller', text: 'hi', at: '2026-11-25T10:00:00.000Z', audio: 'AAAA', truncated: false } as TranscriptTurn]);
  t.same(calls.transcript(a.id, extra), [{ role: 'caller', text: 'hi', at: '2026-11-25T10:00:00.000Z' }]);
});

t.test('deleting a call or its account deletes the transcript with it', async (t) => {
  const { p, calls, a, agentA, call, turns } = await setup();
  t.teardown(p.close);
  const one = call(a.id, agentA.id);
  const two = call(a.id, agentA.id);
  calls.storeTranscript(a.id, one, turns);
  calls.storeTranscript(a.id, two, turns);
  p.db.prepare('DELETE FROM calls WHERE account_id = ? AND id = ?').run(a.id, one);
  t.equal(p.store.transcripts.get(a.id, one), undefined, 'gone with its call');
  t.ok(p.store.transcripts.get(a.id, two));
  p.provisioning.deleteAccount('alpha');
  t.equal((p.db.prepare('SELECT COUNT(*) AS n FROM call_transcripts').get() as { n: number }).n, 0, 'gone with the account');
});

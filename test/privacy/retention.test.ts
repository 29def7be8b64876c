import t from 'tap';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import pino from 'pino';
import { CallRecordsService } from '../../src/tenancy/call-records-service.js';
import { RetentionService, type SweepResult } from '../../src/privacy/retention-service.js';
import { RetentionSweeper } from '../../src/privacy/retention-sweeper.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteTenantStore } from '../../src/store/sqlite-tenant-store.js';
import type { TranscriptTurn } from '../../src/tenancy/model.js';
import { makeProvisioning } from '../helpers/store.js';

/** Retention windows on a fake clock: what each window removes and when, 0 and none, batches, audit, the daemon's sweeper. */

const DAY = 86_400_000;
const turns: TranscriptTurn[] = [{ role: 'caller', text: 'hello', at: '2026-11-25T10:00:01.000Z' }];

async function setup() {
  const p = await makeProvisioning();
  const calls = new CallRecordsService(p.store, p.keyring, p.clock, 'test');
  const retention = new RetentionService(p.store, p.clock, 'test');
  let n = 0;
  /** A finished call started now (fake clock), with a transcript stored now. */
  const call = (accountId: string, agentId: string, transcript = true): string => {
    const id = `call_ret${++n}`;
    const at = new Date(p.clock.now()).toISOString();
    calls.insert({ id, accountId, agentId, trunkId: null, numberE164: '+14155550100', sipCallId: `s${n}`, fromUri: 'sip:+15551234567@x', startedAt: at });
    calls.finish(accountId, id, { answeredAt: at, endedAt: at, endReason: 'remote-bye', hangupBy: 'caller', details: {} });
    if (transcript) calls.storeTranscript(accountId, id, turns);
    return id;
  };
  const cleanup = () => {
    p.close();
    rmSync(p.dir, { recursive: true, force: true });
  };
  return { p, calls, retention, call, cleanup };
}

t.test('windows: transcripts after their days, CDRs after theirs, none = kept, each sweep audited with counts', async (t) => {
  const { p, calls, retention, call, cleanup } = await setup();
  t.teardown(cleanup);
  const a = p.provisioning.createAccount({ name: 'alpha', retention: { transcriptsDays: 30, cdrDays: 90 } });
  const keep = p.provisioning.createAccount({ name: 'keeper' });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot' });
  const keepAgent = p.provisioning.createAgent('keeper', { name: 'bot' });
  const old = call(a.id, agent.id);
  const kept = call(keep.id, keepAgent.id);
  p.clock.advance(20 * DAY);
  const newer = call(a.id, agent.id);

  p.clock.advance(9 * DAY);
  t.same(retention.runAll().totals, { transcripts: 0, recordings: 0, cdrs: 0 }, 'day 29: nothing is due');
  p.clock.advance(DAY + 1);
  const r = retention.runAll();
  t.same(r.totals, { transcripts: 1, recordings: 0, cdrs: 0 }, 'day 30: the first transcript is due');
  t.equal(calls.callRecord('alpha', old).hasTranscript, false);
  t.equal(calls.callRecord('alpha', newer).hasTranscript, true);
  t.equal(calls.callRecord('alpha', old).fromUri, 'sip:+15551234567@x', 'the CDR keeps its own window');

  p.clock.advance(60 * DAY);
  t.same(retention.runAll('alpha').totals, { transcripts: 1, recordings: 0, cdrs: 1 }, 'day 90: the first CDR, and the second transcript');
  t.throws(() => calls.callRecord('alpha', old), { code: 'KALEM_ERR_UNKNOWN_CALL' });
  t.ok(calls.callRecord('alpha', newer));
  t.equal(calls.callRecord('keeper', kept).hasTranscript, true, 'an account without windows keeps everything');

  const audit = p.store.audit.list({ accountId: a.id, limit: 20 }).filter((e) => e.action === 'retention.sweep');
  t.same(audit.map((e) => e.details), [
    { transcripts: 1, recordings: 0, cdrs: 1, trigger: 'command' },
    { transcripts: 1, recordings: 0, cdrs: 0, trigger: 'command' },
  ], 'one audit row per sweep that removed something, newest first, counts only');
  t.throws(() => retention.runAll('nobody'), { code: 'KALEM_ERR_UNKNOWN_ACCOUNT' });
});

t.test('0 days: never stored (transcripts, callers), and swept at once if any were', async (t) => {
  const { p, calls, retention, call, cleanup } = await setup();
  t.teardown(cleanup);
  const a = p.provisioning.createAccount({ name: 'alpha', retention: { transcriptsDays: 0, cdrDays: 0 } });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot' });
  const id = call(a.id, agent.id, false);
  t.equal(calls.storeTranscript(a.id, id, turns), false, 'a transcript is not stored at all');
  t.equal(calls.callRecord('alpha', id).fromUri, null, 'nor the caller');
  t.equal((p.db.prepare('SELECT caller_hash FROM calls WHERE id = ?').get(id) as { caller_hash: unknown }).caller_hash, null);
  p.clock.advance(1);
  t.same(retention.runAll().totals, { transcripts: 0, recordings: 0, cdrs: 1 }, 'the ended CDR goes at the next sweep');
});

t.test('small batches: each its own transaction, a run loops until done', async (t) => {
  const { p, retention, call, cleanup } = await setup();
  t.teardown(cleanup);
  const a = p.provisioning.createAccount({ name: 'alpha', retention: { transcriptsDays: 1 } });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot' });
  for (let i = 0; i < 7; i++) call(a.id, agent.id);
  p.clock.advance(2 * DAY);
  t.equal(retention.sweepBatch(a.id, 'transcripts', 3), 3);
  t.equal(p.db.prepare('SELECT COUNT(*) AS n FROM call_transcripts').pluck().get(), 4);
  t.same(retention.runAll(undefined, 3).totals.transcripts, 4);
});

t.test('the daemon sweeper: first pass after its delay, then every interval; SQLITE_BUSY reschedules instead of blocking', async (t) => {
  const { p, call, cleanup } = await setup();
  t.teardown(cleanup);
  const a = p.provisioning.createAccount({ name: 'alpha', retention: { transcriptsDays: 1 } });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot' });
  for (let i = 0; i < 5; i++) call(a.id, agent.id);
  // The sweeper's own connection, busy_timeout 0, as the daemon opens it.
  const own = new SqliteTenantStore(openDatabase({ path: p.path, busyTimeoutMs: 0 }));
  const swept: Array<[string, number]> = [];
  let onPass: (r: SweepResult & { interrupted: boolean }) => void = () => undefined;
  const nextPass = () => new Promise<SweepResult & { interrupted: boolean }>((resolve) => (onPass = resolve));
  const sweeper = new RetentionSweeper({
    service: new RetentionService(own, p.clock, 'daemon'),
    clock: p.clock,
    log: pino({ level: 'silent' }),
    intervalMs: 600_000,
    firstDelayMs: 2_000,
    busyRetryMs: 5_000,
    batch: 2,
    flush: () => own.flushErased(),
    onSwept: (kind, n) => swept.push([kind, n]),
    onPass: (r) => onPass(r),
  });
  t.teardown(async () => {
    await sweeper.close();
    own.close();
  });
  p.clock.advance(2 * DAY);
  sweeper.start();
  let pass = nextPass();
  p.clock.advance(2_000);
  let r = await pass;
  t.same(r.totals, { transcripts: 5, recordings: 0, cdrs: 0 });
  t.same(swept, [['transcripts', 2], ['transcripts', 2], ['transcripts', 1]], 'in batches of 2, each reported to /metrics');
  t.same(p.store.audit.list({ accountId: a.id, limit: 5 }).find((e) => e.action === 'retention.sweep')?.details, { transcripts: 5, recordings: 0, cdrs: 0, trigger: 'daemon' });

  // Another process holds the write lock: the batch fails at once, nothing waits, a retry is scheduled.
  for (let i = 0; i < 3; i++) call(a.id, agent.id);
  p.provisioning.updateAccount('alpha', { retention: { transcriptsDays: 0 } });
  p.clock.advance(1);
  const other = new Database(p.path);
  other.prepare('BEGIN IMMEDIATE').run();
  pass = nextPass();
  p.clock.advance(600_000);
  r = await pass;
  t.equal(r.interrupted, true, 'SQLITE_BUSY interrupts the pass');
  t.same(r.totals.transcripts, 0);
  other.prepare('ROLLBACK').run();
  other.close();
  pass = nextPass();
  p.clock.advance(5_000);
  r = await pass;
  t.same([r.interrupted, r.totals.transcripts], [false, 3], 'the retry after busyRetryMs sweeps them');
});

import t from 'tap';
import Database from 'better-sqlite3';
import { openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';
import type { IncomingCall } from '../../src/sip/sip-engine.js';

/**
 * Issue 10 item 11: a damaged database is not reported healthy. At start, quick_check refuses
 * it; mid-run, /healthz runs a real query and says "database" failed, INVITEs get 503 (a carrier
 * fails over on 503, not on 500) and the call path stops writing into the damaged file.
 */
const NUMBER = '+14155550100';

async function provisioned(): Promise<TestGateway> {
  const gw = new TestGateway(loopbackConfig('', '[rtpengine]\nmode = "off"'));
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme' });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    // Enough numbers for the table and its indexes to have pages of their own beyond the root.
    p.addNumbers('acme', 'echo', [NUMBER, ...Array.from({ length: 400 }, (_, i) => `+1415556${String(i).padStart(4, '0')}`)]);
  });
  return gw;
}

/**
 * Overwrites every page of the numbers table and its indexes in the file with garbage, the way
 * a failing disk or a stray write would, after moving everything out of the WAL.
 */
function damageNumbers(dbPath: string): void {
  const db = new Database(dbPath);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = (
      db.prepare("SELECT pageno FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'numbers')").all() as Array<{
        pageno: number;
      }>
    ).map((r) => r.pageno);
    const fd = openSync(dbPath, 'r+');
    try {
      for (const p of pages) writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (p - 1) * pageSize);
    } finally {
      closeSync(fd);
    }
    // A write through the WAL, so other connections drop their page caches and read the file again.
    db.prepare("INSERT INTO meta (key, value) VALUES ('poke', x'01') ON CONFLICT(key) DO UPDATE SET value = x'02'").run();
  } finally {
    db.close();
  }
}

async function healthz(gw: TestGateway): Promise<{ status: number; body: { status: string; failing: string[]; checks: Record<string, { ok: boolean; detail?: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${gw.daemon.apiAddress()!.port}/healthz`);
  return { status: res.status, body: (await res.json()) as never };
}

t.test('a database that fails quick_check is refused at start, naming the problem', async (t) => {
  const gw = await provisioned();
  t.teardown(() => gw.stop());
  damageNumbers(join(gw.dir, 'kalem.db'));
  await t.rejects(gw.start(), { code: 'KALEM_ERR_DB_CORRUPT', message: /fails its integrity check .*restore it from a backup/ });
});

t.test('a database failing mid-run: /healthz says so, INVITEs get 503, the call path stops writing', async (t) => {
  const gw = await provisioned();
  await gw.start();
  t.teardown(() => gw.stop());
  const dbPath = join(gw.dir, 'kalem.db');
  const target = `127.0.0.1:${gw.port('udp')}`;

  const before = await healthz(gw);
  t.equal(before.status, 200);
  t.match(before.body.checks.database, { ok: true, detail: /schema \d+, 1 accounts, 401 numbers, 1 trunks/ }, 'the probe reads the tables');

  // A call is up when the disk goes bad.
  const confirmed = new Promise<IncomingCall>((resolve) => gw.daemon.sipEngine.once('call', (c) => c.once('confirmed', () => resolve(c))));
  const live = runSipp({ scenario: 'uac-invite-bye.xml', target, transport: 'u1', service: NUMBER, pauseMs: 2500 });
  const call = await confirmed;
  damageNumbers(dbPath);

  const after = await healthz(gw);
  t.equal(after.status, 503, '/healthz answers 503');
  t.same(after.body.failing, ['database']);
  t.match(after.body.checks.database!.detail, /^SQLITE_CORRUPT/, 'and names the failure');

  const refused = await runSipp({ scenario: 'uac-expect-503-over-limit.xml', target, transport: 'u1', service: NUMBER });
  t.equal(refused.code, 0, `a new INVITE gets 503 with Retry-After${refused.errors}`);

  const ended = new Promise<void>((resolve) => call.once('ended', () => resolve()));
  t.equal((await live).code, 0, 'the call in progress ended normally');
  await ended;
  t.equal(gw.records('database damaged: call-path writes are refused until it is restored').length, 1, 'its CDR update was refused, once, with a log line');
  const db = new Database(dbPath, { readonly: true });
  const row = db.prepare('SELECT ended_at FROM calls').get() as { ended_at: string | null };
  db.close();
  t.equal(row.ended_at, null, 'nothing was written into the damaged file after the failure');
});

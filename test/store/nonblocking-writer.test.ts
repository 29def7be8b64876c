import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/core/clock.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { NonBlockingWriter } from '../../src/store/nonblocking-writer.js';

/**
 * The writer against a real SQLite file, with a second connection holding the write lock (as
 * another process would). Timers run on a fake clock, so retries are driven by the test.
 */
function setup(t: { teardown(fn: () => unknown): void }, opts: { maxQueued?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-nbw-'));
  const path = join(dir, 'w.db');
  const other = openDatabase({ path, busyTimeoutMs: 0 });
  other.exec('CREATE TABLE rows (n INTEGER NOT NULL, label TEXT NOT NULL)');
  // A busy timeout of 5 s on the writer's own connection would show up as a stall: it must be reset.
  const own = openDatabase({ path, busyTimeoutMs: 5000 });
  const clock = new FakeClock();
  const writer = new NonBlockingWriter({ db: own, clock, ...(opts.maxQueued ? { maxQueued: opts.maxQueued } : {}) });
  t.teardown(() => {
    writer.close();
    own.close();
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const insert = (n: number) => (db: Db) => void db.prepare('INSERT INTO rows (n, label) VALUES (?, ?)').run(n, `job${n}`);
  const rows = () => (other.prepare('SELECT n FROM rows ORDER BY rowid').all() as Array<{ n: number }>).map((r) => r.n);
  return { other, own, clock, writer, insert, rows };
}

t.test('a free lock: the write lands inside enqueue', async (t) => {
  const { writer, insert, rows, own } = setup(t);
  t.equal(own.pragma('busy_timeout', { simple: true }), 0, 'the writer connection never waits for a lock');
  t.equal(writer.enqueue('one', insert(1)), true);
  t.same(rows(), [1]);
  t.equal(writer.pending, 0);
});

t.test('a held lock: enqueue returns at once, jobs wait in order and land after the lock is released', async (t) => {
  const { writer, insert, rows, other, clock } = setup(t);
  const blocked: string[] = [];
  let idle = 0;
  writer.on('blocked', (l) => blocked.push(l));
  writer.on('idle', () => idle++);
  other.exec('BEGIN IMMEDIATE');
  const started = performance.now();
  for (let n = 1; n <= 5; n++) t.equal(writer.enqueue(`job${n}`, insert(n)), true);
  t.ok(performance.now() - started < 1000, 'enqueue did not sleep on the lock');
  t.equal(writer.pending, 5, 'all five wait');
  t.same(blocked, ['job1'], 'the head job met the lock, reported once');
  clock.advance(1000); // retries while still locked
  t.equal(writer.pending, 5);
  t.ok(writer.stats().busyRetries > 1, 'it retried on its timer');
  other.exec('COMMIT');
  t.same(rows(), [], 'nothing written yet: the retry is on a timer');
  clock.advance(250);
  t.same(rows(), [1, 2, 3, 4, 5], 'all landed, in the order queued');
  t.equal(writer.pending, 0);
  t.equal(idle, 1, 'idle once the queue emptied');
  t.same(writer.stats(), { queued: 0, written: 5, failed: 0, dropped: 0, busyRetries: writer.stats().busyRetries });
});

t.test('a job queued while others wait never jumps the queue, even when the lock is free', async (t) => {
  const { writer, insert, rows, other, clock } = setup(t);
  other.exec('BEGIN IMMEDIATE');
  writer.enqueue('a', insert(1));
  other.exec('COMMIT');
  writer.enqueue('b', insert(2)); // lock free now, but job 1 is still waiting for its retry timer
  t.same(rows(), []);
  clock.advance(250);
  t.same(rows(), [1, 2]);
});

t.test('a failing job is dropped and reported; the queue carries on', async (t) => {
  const { writer, insert, rows } = setup(t);
  const failures: string[] = [];
  writer.on('failed', (f) => failures.push(`${f.label}: ${f.error.message}`));
  writer.enqueue('bad', (db) => {
    db.prepare('INSERT INTO rows (n, label) VALUES (?, ?)').run(9, 'partial');
    db.prepare('INSERT INTO nowhere VALUES (1)').run();
  });
  writer.enqueue('good', insert(2));
  t.same(rows(), [2], 'the failed job left nothing behind (one transaction), the next landed');
  t.equal(failures.length, 1);
  t.match(failures[0], /^bad: no such table: nowhere/);
});

t.test('the queue is bounded: past maxQueued a job is refused and counted', async (t) => {
  const { writer, insert, other, rows, clock } = setup(t, { maxQueued: 3 });
  const dropped: string[] = [];
  writer.on('dropped', (l) => dropped.push(l));
  other.exec('BEGIN IMMEDIATE');
  t.same([1, 2, 3, 4].map((n) => writer.enqueue(`job${n}`, insert(n))), [true, true, true, false]);
  t.same(dropped, ['job4']);
  other.exec('COMMIT');
  clock.advance(250);
  t.same(rows(), [1, 2, 3]);
  t.equal(writer.stats().dropped, 1);
});

t.test('flush retries until the queue is empty, or gives up at its deadline', async (t) => {
  const { writer, insert, other, rows } = setup(t);
  other.exec('BEGIN IMMEDIATE');
  writer.enqueue('a', insert(1));
  // FakeClock timers do not fire by themselves: a flush deadline of 0 returns what is left.
  t.equal(await writer.flush(0), 1, 'still locked: one job left');
  other.exec('COMMIT');
  t.equal(await writer.flush(0), 0, 'lock free: flushed');
  t.same(rows(), [1]);
});

t.test('close drops what is still queued and refuses new jobs', async (t) => {
  const { writer, insert, other } = setup(t);
  other.exec('BEGIN IMMEDIATE');
  writer.enqueue('a', insert(1));
  t.equal(writer.close(), 1);
  t.equal(writer.enqueue('b', insert(2)), false);
  t.equal(writer.stats().dropped, 2);
});

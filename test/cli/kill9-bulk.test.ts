import t from 'tap';
import { once } from 'node:events';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KalemSandbox } from '../helpers/kalem-cli.js';

/** 60 000 distinct valid US numbers: big enough that the insert transaction spills to the WAL. */
function numberFile(dir: string, count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`+1 415 ${String(200 + Math.floor(i / 10000)).padStart(3, '0')} ${String(i % 10000).padStart(4, '0')}`);
  const path = join(dir, 'numbers.txt');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const count = (dbPath: string): number => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM numbers').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

t.test('kill -9 in the middle of `number add --from-file` leaves all or nothing', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  const file = numberFile(k.dir, 60_000);
  const walPath = k.dbPath + '-wal';
  // Empty the WAL first, so any growth from here on is the batch's transaction writing pages.
  const db = new Database(k.dbPath);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const walBefore = statSync(walPath, { throwIfNoEntry: false })?.size ?? 0;

  const child = k.spawn(['number', 'add', 'acme', 'support', '--from-file', file]);
  // The event we wait for: the write transaction has started putting pages into the WAL.
  let killedMidway = false;
  await new Promise<void>((resolve) => {
    const poll = (): void => {
      if (child.exitCode !== null) return resolve();
      const size = statSync(walPath, { throwIfNoEntry: false })?.size ?? 0;
      if (size > walBefore + 256 * 1024) {
        child.kill('SIGKILL');
        killedMidway = true;
        return resolve();
      }
      setImmediate(poll);
    };
    poll();
  });
  await once(child, 'exit').catch(() => undefined);
  t.ok(killedMidway, 'the process was killed while its transaction was writing');
  t.equal(count(k.dbPath), 0, 'nothing of the batch is visible');
  const check = JSON.parse(k.run(['--json', 'db', 'check']).stdout) as { integrity: string };
  t.equal(check.integrity, 'ok', 'integrity_check ok after recovery');
  t.notMatch(k.run(['--json', 'audit', 'list']).stdout, /number\.add/, 'no audit row for the lost batch');

  // The same batch, uninterrupted, lands whole.
  const r = k.run(['number', 'add', 'acme', 'support', '--from-file', file]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /added 60000 numbers/);
  t.equal(count(k.dbPath), 60_000);
});

import t from 'tap';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMasterKeyFile, readMasterKey } from '../../src/crypto/master-key.js';

const dir = mkdtempSync(join(tmpdir(), 'kalem-mk-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('init creates a 0600 base64 key and refuses to overwrite it', async (t) => {
  const p = join(dir, 'a.key');
  createMasterKeyFile(p);
  t.equal(statSync(p).mode & 0o777, 0o600);
  const first = readFileSync(p);
  t.equal(readMasterKey({ file: p }).length, 32);
  t.throws(() => createMasterKeyFile(p), { code: 'KALEM_ERR_MASTER_KEY_EXISTS' });
  t.same(readFileSync(p), first, 'untouched');
});

t.test('refuses a key others can read, a symlink, a wrong size, or a missing file', async (t) => {
  const p = join(dir, 'b.key');
  createMasterKeyFile(p);
  chmodSync(p, 0o644);
  t.throws(() => readMasterKey({ file: p }), { code: 'KALEM_ERR_MASTER_KEY_UNSAFE', message: /mode is 0644.*chmod 600/ });
  chmodSync(p, 0o400);
  t.equal(readMasterKey({ file: p }).length, 32, '0400 is stricter than 0600 and fine');
  const link = join(dir, 'link.key');
  symlinkSync(p, link);
  t.throws(() => readMasterKey({ file: link }), { code: 'KALEM_ERR_MASTER_KEY_UNSAFE', message: /symbolic link/ });
  const short = join(dir, 'short.key');
  writeFileSync(short, 'abc', { mode: 0o600 });
  t.throws(() => readMasterKey({ file: short }), { code: 'KALEM_ERR_MASTER_KEY_INVALID' });
  t.throws(() => readMasterKey({ file: join(dir, 'nope.key') }), { code: 'KALEM_ERR_MASTER_KEY_MISSING', message: /kalem keys init/ });
});

// Runs as root (make setup needs root, CI runs as root): chown to another uid needs it.
t.test('refuses a key owned by another user', async (t) => {
  const p = join(dir, 'c.key');
  createMasterKeyFile(p);
  chownSync(p, 4242, 4242);
  t.throws(() => readMasterKey({ file: p }), { code: 'KALEM_ERR_MASTER_KEY_UNSAFE', message: /owned by uid 4242/ });
});

t.test('systemd credentials directory wins over the configured file', async (t) => {
  const cred = mkdtempSync(join(tmpdir(), 'kalem-cred-'));
  t.teardown(() => rmSync(cred, { recursive: true, force: true }));
  writeFileSync(join(cred, 'master.key'), Buffer.alloc(32, 7), { mode: 0o440 });
  const key = readMasterKey({ file: join(dir, 'absent.key'), credentialsDirectory: cred });
  t.same(key, Buffer.alloc(32, 7));
});

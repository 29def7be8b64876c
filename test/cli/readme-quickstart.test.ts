import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

t.test('the README quick start works verbatim when pasted', async (t) => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const m = /<!-- quickstart -->\s*```sh\n([\s\S]*?)```\s*<!-- \/quickstart -->/.exec(readme);
  t.ok(m, 'README has a marked quick start block');
  const script = m![1]!;
  // A scratch copy of the repository's layout: the dev config and the built dist/.
  const dir = mkdtempSync(join(tmpdir(), 'kalem-quickstart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'config'));
  cpSync(join(repoRoot, 'config/kalem.dev.toml'), join(dir, 'config/kalem.dev.toml'));
  symlinkSync(join(repoRoot, 'dist'), join(dir, 'dist'));
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  const r = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, OPENAI_API_KEY: 'sk-quickstart-test-key' },
    timeout: 120_000,
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /\+14155550100\s+support/);
  t.match(r.stdout, /openai\s+1/);
  t.match(r.stdout, /number\.add/);
  t.notMatch(r.stdout + r.stderr, /sk-quickstart-test-key/);
});

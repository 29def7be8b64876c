import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KALEM_BIN, KalemSandbox } from '../helpers/kalem-cli.js';

t.test('a reader that stops early (| head) ends the command quietly, no EPIPE stack trace', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  // Far more output than a pipe buffer holds, so kalem is still writing when head has gone.
  const numbers = Array.from({ length: 3000 }, (_, i) => `+1415555${String(1000 + i).padStart(4, '0')}`);
  writeFileSync(join(k.dir, 'numbers.txt'), numbers.join('\n'));
  t.equal(k.run(['number', 'add', 'acme', 'support', '--from-file', join(k.dir, 'numbers.txt')]).code, 0);
  for (const args of ['--json number list acme', 'number list acme']) {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${KALEM_BIN}" -c "${k.configPath}" ${args} 2>"${k.dir}/err.txt" | head -n 1; echo "kalem=\${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
      env: { ...process.env, KALEM_CONFIG: '' },
    });
    const err = spawnSync('cat', [join(k.dir, 'err.txt')], { encoding: 'utf8' }).stdout;
    t.equal(err, "", `nothing on stderr for kalem ${args} | head: ${err}`);
    t.match(r.stdout, /kalem=0/, 'kalem exits 0');
    t.equal(r.stdout.split('\n').length, 3, 'head printed one line');
  }
});

t.test('no subcommand is a usage error; --json errors are JSON with the code', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  for (const args of [[], ['account'], ['trunk']]) {
    const r = k.run(args);
    t.equal(r.code, 2, `kalem ${args.join(' ')} exits 2`);
    t.match(r.stderr, /Usage: kalem/, 'and shows the help on stderr');
  }
  t.equal(k.run(['--help']).code, 0);
  t.equal(k.run(['account', '--help']).code, 0);
  const missing = k.run(['--json', 'account', 'list']);
  t.equal(missing.code, 1);
  t.same(JSON.parse(missing.stderr), { error: { code: 'KALEM_ERR_DB_MISSING', message: JSON.parse(missing.stderr).error.message } });
  t.match(JSON.parse(missing.stderr).error.message, /no database at/);
  const usage = k.run(['--json', 'account', 'create']);
  t.equal(usage.code, 2);
  t.same(JSON.parse(usage.stderr), { error: { code: 'KALEM_ERR_USAGE', message: "missing required argument 'name'" } });
  k.provisionBasic();
  const bad = k.run(['--json', 'number', 'add', 'acme', 'support', '12ab']);
  t.equal(bad.code, 2);
  t.equal(JSON.parse(bad.stderr).error.code, 'KALEM_ERR_INVALID_E164');
  t.equal(bad.stdout, '', 'stdout stays for results');
});

t.test('control characters from values are escaped in every human-readable output', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  const evil = 'Hello\u001b[2J\u001b]0;pwned\u0007 \u202eevil\nsecond line';
  t.equal(k.run(['agent', 'update', 'acme', 'support', '--instructions', evil, '--first-words', evil]).code, 0);
  const shown = k.run(['agent', 'show', 'acme', 'support']);
  t.equal(shown.code, 0);
  t.notMatch(shown.stdout, /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/, 'no raw control or bidi character reaches the terminal');
  t.match(shown.stdout, /instructions:\s+Hello\\u\{1b\}\[2J\\u\{1b\}\]0;pwned\\u\{7\} \\u\{202e\}evil ⏎ second line/);
  const json = JSON.parse(k.run(['--json', 'agent', 'show', 'acme', 'support']).stdout) as { instructions: string };
  t.equal(json.instructions, evil, '--json keeps the exact text');
  const err = k.run(['number', 'add', 'acme', 'support', '+1\u001b[2J']);
  t.notMatch(err.stderr, /\u001b/, 'error messages quoting input are escaped too');
  t.match(err.stderr, /\\u\{1b\}\[2J/);
});

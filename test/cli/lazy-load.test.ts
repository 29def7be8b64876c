import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KALEM_BIN, KalemSandbox } from '../helpers/kalem-cli.js';

/**
 * Start-up cost of the CLI, proven by what it loads rather than by timing (the figures are in
 * docs/BENCHMARKS.md): `kalem --help` and read commands must not load the daemon's packages,
 * libsodium, pino or the phone-number metadata. The recorder is checked to see each kind of
 * load (ES module: the command modules; CommonJS and createRequire: the packages) so that an
 * empty record cannot pass.
 */
const RECORDER = resolve(fileURLToPath(import.meta.url), '../../helpers/load-recorder.js');
const DAEMON_PACKAGES = ['drachtio-srf', 'openai', 'prom-client', 'fastify', 'ws'];

function loadedPackages(k: KalemSandbox, args: string[], input = ''): { code: number; stderr: string; packages: Set<string>; commandModules: Set<string> } {
  const log = join(k.dir, `loads-${Math.random().toString(36).slice(2)}.txt`);
  const r = spawnSync(process.execPath, ['--import', RECORDER, KALEM_BIN, '-c', k.configPath, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '', KALEM_LOAD_LOG: log },
    timeout: 60_000,
  });
  const packages = new Set<string>();
  const commandModules = new Set<string>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (m) packages.add(m[1]!);
    const c = /\/cli\/commands\/([a-z-]+)\.js$/.exec(line);
    if (c) commandModules.add(c[1]!);
  }
  return { code: r.status ?? -1, stderr: r.stderr, packages, commandModules };
}

t.test('kalem --help loads commander and nothing heavy', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  for (const args of [['--help'], ['serve', '--help'], ['number', 'list', '--help']]) {
    const r = loadedPackages(k, args);
    t.equal(r.code, 0, r.stderr);
    t.ok(r.packages.has('commander'), `the recorder saw commander (loaded with createRequire) for ${args.join(' ')}`);
    for (const p of [...DAEMON_PACKAGES, 'better-sqlite3', 'libsodium-wrappers', 'pino', 'libphonenumber-js', 'smol-toml']) {
      t.notOk(r.packages.has(p), `kalem ${args.join(' ')} does not load ${p}`);
    }
  }
});

t.test('read commands load SQLite but not the daemon, libsodium, pino or phone metadata', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  const create = loadedPackages(k, ['keys', 'init']);
  t.equal(create.code, 0, create.stderr);
  const acc = loadedPackages(k, ['account', 'create', 'acme']);
  t.equal(acc.code, 0, acc.stderr);
  t.ok(acc.packages.has('libsodium-wrappers'), 'the recorder saw libsodium (loaded with createRequire) where an account key is made');
  t.equal(k.run(['agent', 'create', 'acme', 'support']).code, 0);
  t.equal(k.run(['number', 'add', 'acme', 'support', '+14155550100']).code, 0);
  for (const args of [['number', 'list', 'acme'], ['account', 'list'], ['audit', 'list']]) {
    const r = loadedPackages(k, args);
    t.equal(r.code, 0, r.stderr);
    t.ok(r.packages.has('better-sqlite3'), `kalem ${args.join(' ')} reads the database`);
    for (const p of [...DAEMON_PACKAGES, 'libsodium-wrappers', 'pino', 'libphonenumber-js']) {
      t.notOk(r.packages.has(p), `kalem ${args.join(' ')} does not load ${p}`);
    }
  }
  // CDRs keep the caller sealed: listing calls opens it, so it needs libsodium, but never the daemon.
  const calls = loadedPackages(k, ['calls', 'list', 'acme']);
  t.equal(calls.code, 0, calls.stderr);
  for (const p of DAEMON_PACKAGES) t.notOk(calls.packages.has(p), `kalem calls list does not load ${p}`);
});

t.test('a command loads its own command module only; help and typos load them all', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  t.equal(k.run(['keys', 'init']).code, 0);
  t.equal(k.run(['account', 'create', 'acme']).code, 0);
  const list = loadedPackages(k, ['--json', 'number', 'list', 'acme']);
  t.equal(list.code, 0, list.stderr);
  t.same([...list.commandModules], ['number'], 'kalem --json number list loads cli/commands/number.js and no other command module');
  const help = loadedPackages(k, ['--help']);
  t.equal(help.code, 0, help.stderr);
  t.ok(help.commandModules.size >= 16 && help.commandModules.has('serve') && help.commandModules.has('kb'), `--help loads every command module to list them (${help.commandModules.size})`);
  const typo = loadedPackages(k, ['nmber', 'list']);
  t.equal(typo.code, 2, 'an unknown command is a usage error');
  t.match(typo.stderr, /Did you mean number\?/, 'commander still suggests the command meant, from the full list');
});

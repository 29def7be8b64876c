import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KALEM_BIN, KalemSandbox } from '../helpers/kalem-cli.js';
import { cliCopyForOtherUsers } from '../helpers/cli-copy.js';
import { freePort } from '../helpers/ports.js';

/** Runs kalem with a config file of the test's own (not the sandbox's), from `cwd`. */
function kalem(args: string[], opts: { cwd?: string; uid?: number; env?: NodeJS.ProcessEnv; bin?: string } = {}) {
  const node = [process.execPath, opts.bin ?? KALEM_BIN, ...args];
  // As another user, node must not load tap's process hooks from the (maybe private) checkout:
  // tap adds them to NODE_OPTIONS of every child it sees spawned, so env drops it in between.
  const [cmd, ...argv] = opts.uid === undefined ? node : ['/usr/bin/env', '-u', 'NODE_OPTIONS', ...node];
  const r = spawnSync(cmd!, argv, {
    cwd: opts.cwd ?? '/',
    encoding: 'utf8',
    input: '',
    env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '', ...opts.env },
    timeout: 60_000,
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const LOOPBACK = '[sip]\nlisten_address = "127.0.0.1"\nudp_port = 0\ntcp_port = 0\ntls_port = -1\n[api]\nport = 0\n[rtpengine]\nmode = "off"\n';

t.test('relative paths resolve against the config file, whatever the working directory', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  mkdirSync(join(k.dir, 'etc'));
  const conf = join(k.dir, 'etc', 'kalem.toml');
  writeFileSync(conf, `[store]\npath = "../data/kalem.db"\n[keys]\nmaster_key_file = "master.key"\n${LOOPBACK}`);
  t.equal(kalem(['-c', conf, 'keys', 'init'], { cwd: '/' }).code, 0);
  t.ok(existsSync(join(k.dir, 'etc', 'master.key')), 'the key is beside the config, not in /');
  const created = kalem(['-c', conf, 'account', 'create', 'acme'], { cwd: '/tmp' });
  t.equal(created.code, 0, created.stderr);
  t.ok(existsSync(join(k.dir, 'data', 'kalem.db')), 'the database is where the config says, relative to it');
  t.notOk(existsSync('/tmp/master.key') || existsSync('/data/kalem.db'), 'nothing was made relative to the working directory');
  const listed = kalem(['-c', conf, 'account', 'list'], { cwd: k.dir });
  t.match(listed.stdout, /acme/, 'a third working directory finds the same data');
  const check = kalem(['-c', conf, 'config', 'check']);
  t.equal(check.code, 0);
  t.match(check.stdout, `path = "${join(k.dir, 'data', 'kalem.db')}"`, 'config check prints effective, resolved values');
  t.match(check.stdout, /\[sip\]\nengine = "embedded"/, 'defaults included');
  t.match(check.stdout, /# tls_cert_file \(not set\)/);
});

t.test('RTP range smaller than max_calls: config check, doctor and serve all refuse it, serve before creating anything', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  const conf = join(k.dir, 'small.toml');
  writeFileSync(conf, `[store]\npath = "data/kalem.db"\n[keys]\nmaster_key_file = "master.key"\n[daemon]\nmax_calls = 10\n[media]\nport_min = 40000\nport_max = 40009\n${LOOPBACK}`);
  const message = /media\.port_min\.\.port_max \(40000-40009\) holds 5 RTP ports, fewer than daemon\.max_calls \(10\)/;
  const check = kalem(['-c', conf, 'config', 'check']);
  t.equal(check.code, 1);
  t.match(check.stderr, message);
  const doctor = kalem(['-c', conf, 'doctor']);
  t.equal(doctor.code, 1);
  t.match(doctor.stdout, message);
  const serve = kalem(['-c', conf, 'serve']);
  t.equal(serve.code, 1);
  t.match(serve.stderr, message);
  t.notOk(existsSync(join(k.dir, 'data')), 'serve created no database (nor its directory)');
  const dbCheck = kalem(['-c', join(k.dir, 'kalem.toml'), 'db', 'check']);
  t.equal(dbCheck.code, 1);
  t.match(dbCheck.stderr, /no database at .*kalem\.db \(config: .*kalem\.toml\)/, 'db check on a missing database says so and creates none');
  t.notOk(existsSync(k.dbPath));
});

t.test('no config file anywhere: commands say they run on built-in defaults', async (t) => {
  t.notOk(existsSync('/etc/kalem/kalem.toml'), 'this machine has no /etc/kalem/kalem.toml (the test needs that)');
  const r = kalem(['config', 'check']);
  t.equal(r.code, 0);
  t.match(r.stdout, /no config file found: these are the built-in defaults/);
  t.match(r.stderr, /note: no config file at \/etc\/kalem\/kalem\.toml \(and no --config or KALEM_CONFIG\): using built-in defaults/);
});

t.test('serve: a port in use names the setting to change', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  const port = await freePort();
  const busy = createSocket('udp4');
  await new Promise<void>((r) => busy.bind(port, '127.0.0.1', r));
  t.teardown(() => busy.close());
  const conf = join(k.dir, 'busy.toml');
  writeFileSync(
    conf,
    `[store]\npath = "kalem.db"\n[keys]\nmaster_key_file = "master.key"\n[sip]\nlisten_address = "127.0.0.1"\nudp_port = ${port}\ntcp_port = 0\ntls_port = -1\n[api]\nport = -1\n[rtpengine]\nmode = "off"\n`,
  );
  t.equal(kalem(['-c', conf, 'keys', 'init']).code, 0);
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [KALEM_BIN, '-c', conf, 'serve'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KALEM_CONFIG: '' } });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stderr }));
  });
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`udp 127\\.0\\.0\\.1:${port} is already in use \\(setting sip\\.udp_port\\)`));
  t.notMatch(r.stderr, /internal error/);
});

t.test('a database owned by another user: who owns it and the chown to run', { skip: process.getuid?.() !== 0 ? 'needs root to make a file owned by someone else' : false }, async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  // nobody runs a copy of the CLI: the checkout may be private to the tester (umask 077).
  const cli = cliCopyForOtherUsers();
  t.teardown(() => cli.cleanup());
  k.provisionBasic();
  // The sandbox is the tester's (root's); nobody may read the config but not the data.
  chmodSync(k.dir, 0o755);
  chmodSync(k.configPath, 0o644);
  chmodSync(join(k.dir, 'var'), 0o755);
  const r = kalem(['-c', k.configPath, 'account', 'list'], { uid: 65534, bin: cli.bin });
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot open database .*kalem\.db: .*kalem\.db is owned by root \(uid 0\) and kalem runs as nobody \(uid 65534\)/);
  t.match(r.stderr, new RegExp(`chown -R nobody ${join(k.dir, 'var').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  chownSync(join(k.dir, 'var'), 65534, 65534);
  t.match(kalem(['-c', k.configPath, 'account', 'list'], { uid: 65534, bin: cli.bin }).stderr, /kalem\.db is owned by root \(uid 0\)/, 'the file itself is named once its directory is fine');
});

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { runDoctor, type DoctorCheck, type DoctorOptions, type DoctorReport } from '../../src/app/doctor.js';
import { openProvisioning } from '../../src/app/open-app.js';
import { doctorCommand } from '../../src/cli/commands/doctor.js';
import { createMasterKeyFile } from '../../src/crypto/master-key.js';
import { openDatabase } from '../../src/store/database.js';

const quiet = (): pino.DestinationStream => pino.destination({ dest: '/dev/null', sync: true });

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A self-signed EC certificate and key valid for `days` from now. */
function makeCert(dir: string, base: string, days: number): { cert: string; key: string } {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${base}.test`, '-days', String(days)], dir);
  chmodSync(key, 0o600);
  return { cert, key };
}

/**
 * A certificate that really expired (2020-01-01 to 2020-01-02): `openssl req -days` refuses
 * non-positive values, `openssl ca` takes explicit dates.
 */
function makeExpiredCert(dir: string): { cert: string; key: string } {
  const ca = join(dir, 'ca');
  mkdirSync(ca);
  writeFileSync(join(ca, 'index.txt'), '');
  writeFileSync(join(ca, 'serial'), '01\n');
  writeFileSync(
    join(ca, 'ca.cnf'),
    '[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\npolicy = p\ndefault_md = sha256\n[p]\ncommonName = supplied\n',
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'old.key', '-out', 'old.csr', '-subj', '/CN=expired.test'], ca);
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'old.key', '-in', 'old.csr', '-out', 'old.crt', '-notext', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z'], ca);
  chmodSync(join(ca, 'old.key'), 0o600);
  return { cert: join(ca, 'old.crt'), key: join(ca, 'old.key') };
}

/** A port free right now on 127.0.0.1 (the kernel picks; we release it at once). */
async function freePort(proto: 'tcp' | 'udp'): Promise<number> {
  if (proto === 'udp') {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const { port } = s.address();
    await new Promise<void>((r) => s.close(r));
    return port;
  }
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A stand-in for rtpengine's ng control socket: answers `ping` with `pong`, or stays silent. */
async function fakeRtpengine(mode: 'pong' | 'silent'): Promise<{ address: string; pings: () => number; close: () => Promise<void> }> {
  const s: UdpSocket = createSocket('udp4');
  let pings = 0;
  s.on('message', (msg, rinfo) => {
    const m = /^(\S+) d7:command4:pinge$/.exec(msg.toString('latin1'));
    if (!m) return;
    pings++;
    if (mode === 'pong') s.send(`${m[1]} d6:result4:ponge`, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${s.address().port}`, pings: () => pings, close: () => new Promise((r) => s.close(r)) };
}

interface Install {
  dir: string;
  configPath: string;
  keyPath: string;
  dbPath: string;
  write(extraToml: string): void;
}

/** A temp install: config, a 0600 master key, and a database created (and key-checked) by kalem itself. */
async function makeInstall(t: { teardown(fn: () => unknown): void }, extraToml = '', opts: { db?: boolean } = {}): Promise<Install> {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-doctor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const install: Install = {
    dir,
    configPath: join(dir, 'kalem.toml'),
    keyPath: join(dir, 'master.key'),
    dbPath: join(dir, 'var', 'kalem.db'),
    write(extra: string) {
      writeFileSync(
        this.configPath,
        `[store]\npath = ${JSON.stringify(this.dbPath)}\n[keys]\nmaster_key_file = ${JSON.stringify(this.keyPath)}\n${extra}`,
      );
    },
  };
  install.write(extraToml);
  createMasterKeyFile(install.keyPath);
  if (opts.db ?? true) {
    const app = await openProvisioning({ configPath: install.configPath, env: {}, logDestination: quiet() });
    app.close();
  }
  return install;
}

const sipPorts = async (): Promise<string> =>
  `[sip]\nlisten_address = "127.0.0.1"\nudp_port = ${await freePort('udp')}\ntcp_port = ${await freePort('tcp')}\ntls_port = -1\n`;

const byName = (report: DoctorReport, name: string): DoctorCheck => {
  const c = report.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name} check in ${JSON.stringify(report.checks.map((x) => x.name))}`);
  return c;
};

const baseOptions = async (i: Install, extra: Partial<DoctorOptions> = {}): Promise<DoctorOptions> => ({
  configPath: i.configPath,
  env: {},
  api: { listenAddress: '127.0.0.1', port: await freePort('tcp') },
  clockSynchronized: async () => true,
  ...extra,
});

t.test('a complete install: every check ok', async (t) => {
  const i = await makeInstall(t);
  const { cert, key } = makeCert(i.dir, 'sip', 365);
  const tlsPort = await freePort('tcp');
  i.write(`${(await sipPorts()).replace('tls_port = -1', `tls_port = ${tlsPort}`)}tls_cert_file = ${JSON.stringify(cert)}\ntls_key_file = ${JSON.stringify(key)}\n`);
  const rtp = await fakeRtpengine('pong');
  t.teardown(rtp.close);
  const report = await runDoctor(await baseOptions(i, { rtpengineNgAddress: rtp.address }));
  t.same(
    report.checks.map((c) => [c.name, c.status]),
    [
      ['config', 'ok'],
      ['master-key', 'ok'],
      ['database', 'ok'],
      ['tls', 'ok'],
      ['rtpengine', 'ok'],
      ['media-ports', 'ok'],
      ['ports', 'ok'],
      ['open-files', 'ok'],
      ['clock', 'ok'],
    ],
    JSON.stringify(report.checks, null, 1),
  );
  t.equal(report.ok, true);
  t.match(byName(report, 'master-key').detail, /mode 0600.*opens .*kalem\.db/, 'the key is checked against the database');
  t.match(byName(report, 'tls').detail, /CN=sip\.test, self-signed\) valid until .* 36[45] day\(s\) left/);
  t.match(byName(report, 'rtpengine').detail, /answered ping with pong/);
  t.ok(rtp.pings() >= 1, 'the stand-in saw the ping');
  t.match(byName(report, 'ports').detail, new RegExp(`tcp 127\\.0\\.0\\.1:${tlsPort} \\(sip\\.tls_port\\)`));
  t.match(byName(report, 'open-files').detail, /needed 2256 \(daemon\.max_calls 500 × 4 \+ 256\)/);
});

t.test('what is not configured is a warning, not a failure', async (t) => {
  const i = await makeInstall(t, '', { db: false });
  i.write(await sipPorts());
  const report = await runDoctor(await baseOptions(i, { clockSynchronized: async () => undefined }));
  const status = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
  t.same(status, { config: 'ok', 'master-key': 'ok', database: 'warn', tls: 'warn', rtpengine: 'ok', 'media-ports': 'ok', ports: 'ok', 'open-files': 'ok', clock: 'warn' });
  t.equal(report.ok, true, 'warnings do not fail');
  t.match(byName(report, 'database').detail, /created on first use/);
  t.match(byName(report, 'rtpengine').detail, /managed: the daemon starts \/usr\/bin\/rtpengine itself/, 'the default mode is managed');
  t.match(byName(report, 'clock').detail, /cannot tell/);
});

t.test('rtpengine: external without ng_address fails the config (as serve would); managed with a missing binary fails', async (t) => {
  const ext = await makeInstall(t, '', { db: false });
  ext.write(`${await sipPorts()}\n[rtpengine]\nmode = "external"\n`);
  const r1 = await runDoctor(await baseOptions(ext));
  t.equal(byName(r1, 'config').status, 'fail');
  t.match(byName(r1, 'config').detail, /rtpengine\.ng_address: rtpengine\.mode = "external" needs the ng control address/);
  const missing = await makeInstall(t, '', { db: false });
  missing.write(`${await sipPorts()}\n[rtpengine]\nbinary = "/nonexistent/rtpengine"\n`);
  const r2 = await runDoctor(await baseOptions(missing));
  t.equal(byName(r2, 'rtpengine').status, 'fail');
  t.match(byName(r2, 'rtpengine').fix, /apt-get install rtpengine-daemon/);
});

t.test('a world-readable master key fails with the chmod fix, and `kalem doctor` exits 1', async (t) => {
  const i = await makeInstall(t);
  i.write(await sipPorts());
  chmodSync(i.keyPath, 0o644);
  const report = await runDoctor(await baseOptions(i));
  const mk = byName(report, 'master-key');
  t.equal(mk.status, 'fail');
  t.match(mk.detail, /mode is 0644/);
  t.equal(mk.fix, `chmod 600 ${i.keyPath}`);
  t.equal(report.ok, false);

  // The command module, in a program shaped like the real one (global -c and --json).
  const run = async (args: string[]): Promise<{ out: string; code: number }> => {
    let out = '';
    let code = 0;
    const program = new Command('kalem').option('-c, --config <file>').option('--json').exitOverride();
    program.addCommand(doctorCommand({ write: (s) => (out += s), setExitCode: (c) => (code = c) }));
    await program.parseAsync(['node', 'kalem', '-c', i.configPath, ...args]);
    return { out, code };
  };
  const text = await run(['doctor']);
  t.equal(text.code, 1, 'exit code 1');
  t.match(text.out, new RegExp(`^FAIL master-key\\s+master key file ${i.keyPath} is refused: its mode is 0644.*  fix: chmod 600 ${i.keyPath}$`, 'm'));
  t.match(text.out, /^OK {3}config\s+.*kalem\.toml is valid$/m);
  t.match(text.out, /^\d+ check\(s\) failed/m);
  const json = await run(['doctor', '--json']);
  t.equal(json.code, 1);
  const parsed = JSON.parse(json.out) as DoctorReport;
  t.equal(parsed.ok, false);
  t.equal(parsed.checks.find((c) => c.name === 'master-key')?.status, 'fail');

  chmodSync(i.keyPath, 0o600);
  const fixed = await runDoctor(await baseOptions(i));
  t.equal(byName(fixed, 'master-key').status, 'ok', 'after the fix, ok');
});

t.test('master key: missing, or not the key the database was sealed with', async (t) => {
  const i = await makeInstall(t);
  i.write(await sipPorts());
  rmSync(i.keyPath);
  const missing = byName(await runDoctor(await baseOptions(i)), 'master-key');
  t.equal(missing.status, 'fail');
  t.match(missing.fix, /kalem keys init/);
  createMasterKeyFile(i.keyPath); // a new, different key
  const wrong = byName(await runDoctor(await baseOptions(i)), 'master-key');
  t.equal(wrong.status, 'fail');
  t.match(wrong.detail, /not the key .*kalem\.db was sealed with/);

  const cred = mkdtempSync(join(tmpdir(), 'kalem-cred-'));
  t.teardown(() => rmSync(cred, { recursive: true, force: true }));
  writeFileSync(join(cred, 'master.key'), Buffer.alloc(32, 1), { mode: 0o440 });
  const viaSystemd = byName(await runDoctor({ ...(await baseOptions(i)), env: { CREDENTIALS_DIRECTORY: cred } }), 'master-key');
  t.equal(viaSystemd.status, 'fail', 'this is yet another key');
  t.match(viaSystemd.detail, /kalem-cred-.*master\.key \(from \$CREDENTIALS_DIRECTORY\) is not the key/, 'under systemd the credentials directory is what counts');
  rmSync(i.dbPath);
  const alone = byName(await runDoctor({ ...(await baseOptions(i)), env: { CREDENTIALS_DIRECTORY: cred } }), 'master-key');
  t.equal(alone.status, 'ok', 'mode 0440 is fine there: systemd made the directory private');
  t.match(alone.detail, /from \$CREDENTIALS_DIRECTORY: systemd LoadCredential=/);
});

t.test('TLS: expired, expiring soon, wrong key, half configured', async (t) => {
  const i = await makeInstall(t);
  const ports = await sipPorts();
  const tls = (cert: string, key: string): string => `${ports}tls_cert_file = ${JSON.stringify(cert)}\ntls_key_file = ${JSON.stringify(key)}\n`;

  const expired = makeExpiredCert(i.dir);
  i.write(tls(expired.cert, expired.key));
  const e = byName(await runDoctor(await baseOptions(i)), 'tls');
  t.equal(e.status, 'fail');
  t.match(e.detail, /CN=expired\.test\) expired on 2020-01-02/);
  t.match(e.fix, /renew.*systemctl reload kalem/);

  const soon = makeCert(i.dir, 'soon', 10);
  i.write(tls(soon.cert, soon.key));
  const s = byName(await runDoctor(await baseOptions(i)), 'tls');
  t.equal(s.status, 'warn');
  t.match(s.detail, /\b(9|10) day\(s\) left/);
  const later = byName(await runDoctor(await baseOptions(i, { now: () => Date.now() + 11 * 86_400_000 })), 'tls');
  t.equal(later.status, 'fail', 'the same certificate, eleven days on');

  const other = makeCert(i.dir, 'other', 365);
  i.write(tls(soon.cert, other.key));
  const mismatch = byName(await runDoctor(await baseOptions(i)), 'tls');
  t.equal(mismatch.status, 'fail');
  t.match(mismatch.detail, /other\.key is not the private key of .*soon\.crt/);

  i.write(`${ports}tls_cert_file = ${JSON.stringify(soon.cert)}\n`);
  const half = byName(await runDoctor(await baseOptions(i)), 'config');
  t.equal(half.status, 'fail', 'half a TLS pair is refused by the config cross-checks, as serve refuses it');
  t.match(half.detail, /sip\.tls_key_file: TLS needs both/);
});

t.test('ports: one in use fails naming it', async (t) => {
  const i = await makeInstall(t);
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => holder.close(() => r())));
  const busyTcp = (holder.address() as { port: number }).port;
  const udpHolder = createSocket('udp4');
  await new Promise<void>((r) => udpHolder.bind(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => udpHolder.close(r)));
  const busyUdp = udpHolder.address().port;
  i.write(`[sip]\nlisten_address = "127.0.0.1"\nudp_port = ${busyUdp}\ntcp_port = ${busyTcp}\ntls_port = -1\n`);

  const report = await runDoctor(await baseOptions(i));
  const ports = byName(report, 'ports');
  t.equal(ports.status, 'fail');
  t.match(ports.detail, `in use: udp 127.0.0.1:${busyUdp} (sip.udp_port), tcp 127.0.0.1:${busyTcp} (sip.tcp_port)`);
  t.notMatch(ports.detail, /held by the running kalem/, 'this test process is not a kalem daemon');
  t.match(ports.fix, /sip\.udp_port, sip\.tcp_port/);
  t.equal(report.ok, false);

  const api = byName(await runDoctor(await baseOptions(i, { api: { listenAddress: '127.0.0.1', port: busyTcp } })), 'ports');
  t.match(api.detail, `tcp 127.0.0.1:${busyTcp} (api.port)`, 'the api port too');
});

t.test('rtpengine: pong is ok; silence and refusal fail', async (t) => {
  const i = await makeInstall(t);
  i.write(await sipPorts());
  const silent = await fakeRtpengine('silent');
  t.teardown(silent.close);
  const started = Date.now();
  const s = byName(await runDoctor(await baseOptions(i, { rtpengineNgAddress: silent.address, rtpengineTimeoutMs: 300 })), 'rtpengine');
  t.equal(s.status, 'fail');
  t.match(s.detail, /no answer to ping within 300 ms/);
  t.ok(Date.now() - started < 3000, 'gives up after the timeout');
  t.equal(silent.pings(), 2, 'sent twice, in case one datagram was lost');

  const closed = `127.0.0.1:${await freePort('udp')}`;
  const r = byName(await runDoctor(await baseOptions(i, { rtpengineNgAddress: closed, rtpengineTimeoutMs: 2000 })), 'rtpengine');
  t.equal(r.status, 'fail');
  t.match(r.detail, /connection refused|no answer/);
  t.match(r.fix, /rtpengine-daemon/);

  const bad = byName(await runDoctor(await baseOptions(i, { rtpengineNgAddress: 'nonsense' })), 'rtpengine');
  t.equal(bad.status, 'fail');
  t.match(bad.detail, /expected "host:port"/);
});

t.test('database: missing is a warning; newer schema and garbage fail', async (t) => {
  const i = await makeInstall(t);
  i.write(await sipPorts());
  const db = openDatabase({ path: i.dbPath, busyTimeoutMs: 1000 });
  db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')").run();
  db.close();
  const newer = byName(await runDoctor(await baseOptions(i)), 'database');
  t.equal(newer.status, 'fail');
  t.match(newer.detail, /schema version 99, newer than this kalem/);

  rmSync(join(i.dir, 'var'), { recursive: true });
  mkdirSync(join(i.dir, 'var'));
  writeFileSync(i.dbPath, 'this is not a database'.repeat(100), { mode: 0o600 });
  const garbage = byName(await runDoctor(await baseOptions(i)), 'database');
  t.equal(garbage.status, 'fail');
  t.match(garbage.detail, /not a database|cannot open/);
});

t.test('config: an invalid file is the one failing line', async (t) => {
  const i = await makeInstall(t, '', { db: false });
  i.write('[sip]\nudp_prot = 5060\n');
  const report = await runDoctor(await baseOptions(i));
  t.equal(report.ok, false);
  t.equal(report.checks.length, 1);
  t.equal(report.checks[0]?.status, 'fail');
  t.match(report.checks[0]?.detail, /invalid config: .*udp_prot/);
  t.match(report.checks[0]?.fix, /kalem\.example\.toml/);
});

t.test('open files below the capacity fail; an unsynchronised clock fails', async (t) => {
  const i = await makeInstall(t);
  i.write(`${await sipPorts()}[daemon]\nmax_calls = 1000\n`);
  const limits = join(i.dir, 'limits');
  writeFileSync(limits, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n');
  const report = await runDoctor(await baseOptions(i, { limitsFile: limits, clockSynchronized: async () => false }));
  const fds = byName(report, 'open-files');
  t.equal(fds.status, 'fail');
  t.match(fds.detail, /limit 1024, needed 4256/);
  t.match(fds.fix, /LimitNOFILE=.*ulimit -n 4256/);
  const clock = byName(report, 'clock');
  t.equal(clock.status, 'fail');
  t.match(clock.fix, /timedatectl set-ntp true/);
});

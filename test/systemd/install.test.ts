// scripts/install.sh and scripts/uninstall.sh, staged with DESTDIR into a temporary directory.
//
// The source is a small build-shaped tree (a dist/src/main.js that prints its argv, a module
// with a .bin symlink, an addon file, package.json) next to the repository's real scripts/,
// systemd/ and config/ files, so the test is fast and does not depend on the state of the
// real build. A staged install creates no user and changes no owners; the root-only steps
// (useradd, chown) are the same commands run without DESTDIR.
import t from 'tap';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEMD_ANALYZE_MISSING, repoRoot, run, verifyComplaints } from './helpers.js';
import type { RunResult } from './helpers.js';

const ROOT = repoRoot();
const work = mkdtempSync(join(tmpdir(), 'kalem-install-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const SAMPLE_TOML = '# kalem.toml sample written by the install test\n[sip]\n';

/** A source tree shaped like a finished `make build`. */
function makeSourceTree(dir: string): string {
  for (const d of ['scripts', 'systemd', 'config']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  // The real example config belongs to the config work; use ours so the test owns its content.
  writeFileSync(join(dir, 'config', 'kalem.example.toml'), SAMPLE_TOML);
  mkdirSync(join(dir, 'dist', 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'src', 'main.js'), 'console.log(JSON.stringify(process.argv.slice(2)));\n');
  writeFileSync(join(dir, 'dist', 'src', 'cli', 'serve.js'), 'export {};\n');
  mkdirSync(join(dir, 'dist', 'test'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'test', 'x.test.js'), '');
  mkdirSync(join(dir, 'node_modules', 'dep', 'bin'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'dep', 'index.js'), 'export default 1;\n');
  writeFileSync(join(dir, 'node_modules', 'dep', 'bin', 'dep.js'), '');
  symlinkSync('../dep/bin/dep.js', join(dir, 'node_modules', '.bin', 'dep'));
  mkdirSync(join(dir, 'native', 'build', 'Release', 'obj.target'), { recursive: true });
  writeFileSync(join(dir, 'native', 'build', 'Release', 'kalem_media.node'), 'addon');
  writeFileSync(join(dir, 'native', 'build', 'Release', 'obj.target', 'media.o'), 'object');
  writeFileSync(join(dir, 'package.json'), '{"name":"kalem-gateway","type":"module"}\n');
  return dir;
}

const src = makeSourceTree(join(work, 'src'));
const dest = join(work, 'dest');
// The prefix lives under the test directory too; a symlink from it to its staged copy lets the
// installed wrapper and unit be run and verified where they would live after packaging.
const prefix = join(work, 'prefix');
const systemdDir = '/etc/systemd/system';
const staged = (p: string): string => join(dest, p);

function script(name: 'install.sh' | 'uninstall.sh', extra: NodeJS.ProcessEnv = {}): RunResult {
  return run('sh', [join(src, 'scripts', name)], {
    ...process.env,
    DESTDIR: dest,
    PREFIX: prefix,
    SYSTEMDDIR: systemdDir,
    NODE: process.execPath,
    PURGE: '',
    ...extra,
  });
}

const mode = (p: string): number => statSync(p).mode & 0o7777;

t.test('install stages the program, units, config and state directory', async (t) => {
  const r = script('install.sh');
  t.equal(r.status, 0, `install.sh exits 0\n${r.stderr}`);
  t.match(r.stdout, /DESTDIR is set.*not creating user 'kalem', not changing owners/, 'says it skips user and owners');
  t.match(r.stdout, new RegExp(`${prefix}/bin/kalem keys init --key-file /etc/kalem/master\\.key`), 'next: keys init');
  t.match(r.stdout, /^\s*systemctl enable kalem$/m, 'next: enable');
  t.match(r.stdout, /^\s*systemctl start kalem$/m, 'next: start');

  const lib = staged(`${prefix}/lib/kalem`);
  t.ok(existsSync(join(lib, 'dist', 'src', 'main.js')), 'dist/src installed');
  t.ok(existsSync(join(lib, 'dist', 'src', 'cli', 'serve.js')), 'with its subdirectories');
  t.notOk(existsSync(join(lib, 'dist', 'test')), 'compiled tests are not installed');
  t.ok(existsSync(join(lib, 'node_modules', 'dep', 'index.js')), 'node_modules installed');
  t.ok(lstatSync(join(lib, 'node_modules', '.bin', 'dep')).isSymbolicLink(), '.bin symlinks stay symlinks');
  t.ok(existsSync(join(lib, 'native', 'build', 'Release', 'kalem_media.node')), 'native addon installed');
  t.notOk(existsSync(join(lib, 'native', 'build', 'Release', 'obj.target')), 'compiler leftovers are not');
  t.ok(existsSync(join(lib, 'package.json')), 'package.json installed (type: module)');
  t.equal(mode(join(lib, 'dist', 'src', 'main.js')), 0o644);

  const wrapper = staged(`${prefix}/bin/kalem`);
  t.equal(mode(wrapper), 0o755, 'wrapper is executable');
  t.match(readFileSync(wrapper, 'utf8'), new RegExp(`exec '${process.execPath}' '${prefix}/lib/kalem/dist/src/main\\.js' "\\$@"`));

  const unit = staged(`${systemdDir}/kalem.service`);
  t.equal(mode(unit), 0o644);
  const unitText = readFileSync(unit, 'utf8');
  t.notMatch(unitText, /@PREFIX@/, 'no placeholder left');
  t.match(unitText, new RegExp(`^ExecStart=${prefix}/bin/kalem serve --config /etc/kalem/kalem\\.toml$`, 'm'));
  t.equal(mode(staged(`${systemdDir}/rtpengine-daemon.service.d/kalem.conf`)), 0o644, 'rtpengine drop-in');

  t.equal(mode(staged('/etc/kalem')), 0o750, '/etc/kalem is 0750');
  t.equal(mode(staged('/etc/kalem/kalem.toml')), 0o640, 'kalem.toml is 0640');
  t.equal(readFileSync(staged('/etc/kalem/kalem.toml'), 'utf8'), SAMPLE_TOML, 'kalem.toml from the example');
  t.equal(
    readFileSync(staged('/etc/rtpengine/rtpengine-kalem.conf'), 'utf8'),
    readFileSync(join(ROOT, 'config', 'rtpengine.conf'), 'utf8'),
    'rtpengine config where the drop-in reads it',
  );
  t.equal(mode(staged('/var/lib/kalem')), 0o700, 'state directory is 0700');
  for (const f of ['kalem.example.toml', 'rtpengine.conf', 'drachtio.conf.xml', 'drachtio-server.service']) {
    t.ok(existsSync(staged(`${prefix}/share/kalem/${f}`)), `sample ${f}`);
  }
});

t.test('the installed wrapper runs node on the installed program', async (t) => {
  symlinkSync(staged(prefix), prefix);
  const r = run(join(prefix, 'bin', 'kalem'), ['serve', '--config', '/etc/kalem/kalem.toml']);
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), ['serve', '--config', '/etc/kalem/kalem.toml'], 'arguments passed through');
});

t.test('the installed kalem.service verifies', async (t) => {
  const missing = SYSTEMD_ANALYZE_MISSING();
  if (missing !== undefined) {
    t.fail(missing);
    return;
  }
  const unit = staged(`${systemdDir}/kalem.service`);
  const r = run('systemd-analyze', ['verify', '--man=no', unit]);
  t.same(verifyComplaints(`${r.stdout}\n${r.stderr}`, work, ['kalem.service']), [], 'no complaint');
  t.equal(r.status, 0);
});

t.test('a second install upgrades the program and keeps the configuration', async (t) => {
  writeFileSync(staged('/etc/kalem/kalem.toml'), '# edited by the operator\n');
  writeFileSync(staged('/etc/rtpengine/rtpengine-kalem.conf'), '# tuned by the operator\n');
  const stale = staged(`${prefix}/lib/kalem/dist/src/removed-in-this-release.js`);
  writeFileSync(stale, '');
  writeFileSync(join(src, 'dist', 'src', 'main.js'), 'console.log(JSON.stringify(["v2"]));\n');

  const r = script('install.sh');
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /kept existing .*\/etc\/kalem\/kalem\.toml/, 'says it kept kalem.toml');
  t.equal(readFileSync(staged('/etc/kalem/kalem.toml'), 'utf8'), '# edited by the operator\n', 'kalem.toml untouched');
  t.equal(
    readFileSync(staged('/etc/rtpengine/rtpengine-kalem.conf'), 'utf8'),
    '# tuned by the operator\n',
    'rtpengine-kalem.conf untouched',
  );
  t.notOk(existsSync(stale), 'files gone from the release are gone from the install');
  t.same(JSON.parse(run(join(prefix, 'bin', 'kalem'), []).stdout), ['v2'], 'the new program runs');
  t.notOk(existsSync(staged(`${prefix}/lib/kalem.new`)) || existsSync(staged(`${prefix}/lib/kalem.old`)), 'no swap leftovers');
});

t.test('uninstall removes the program and units, keeps config, keys and data', async (t) => {
  writeFileSync(staged('/etc/kalem/master.key'), 'k'.repeat(32));
  chmodSync(staged('/etc/kalem/master.key'), 0o600);
  writeFileSync(staged('/var/lib/kalem/kalem.db'), 'db');

  const r = script('uninstall.sh');
  t.equal(r.status, 0, r.stderr);
  for (const p of [
    `${prefix}/lib/kalem`,
    `${prefix}/bin/kalem`,
    `${prefix}/share/kalem`,
    `${systemdDir}/kalem.service`,
    `${systemdDir}/rtpengine-daemon.service.d`,
  ]) {
    t.notOk(existsSync(staged(p)), `${p} removed`);
  }
  for (const p of ['/etc/kalem/kalem.toml', '/etc/kalem/master.key', '/var/lib/kalem/kalem.db', '/etc/rtpengine/rtpengine-kalem.conf']) {
    t.ok(existsSync(staged(p)), `${p} kept`);
  }
  t.match(r.stdout, /PURGE=1/, 'tells how to remove them too');
});

t.test('uninstall with PURGE=1 removes configuration, keys and data too', async (t) => {
  const r = script('uninstall.sh', { PURGE: '1' });
  t.equal(r.status, 0, r.stderr);
  for (const p of ['/etc/kalem', '/var/lib/kalem', '/etc/rtpengine/rtpengine-kalem.conf']) {
    t.notOk(existsSync(staged(p)), `${p} removed`);
  }
});

t.test('install refuses an unbuilt tree and unsafe paths', async (t) => {
  const bare = join(work, 'bare');
  mkdirSync(bare);
  cpSync(join(src, 'scripts'), join(bare, 'scripts'), { recursive: true });
  const unbuilt = run('sh', [join(bare, 'scripts', 'install.sh')], {
    ...process.env,
    DESTDIR: join(work, 'dest2'),
    PREFIX: prefix,
    NODE: process.execPath,
  });
  t.not(unbuilt.status, 0, 'fails');
  t.match(unbuilt.stderr, /dist\/src\/main\.js is missing: run 'make build' first/);
  t.notOk(existsSync(join(work, 'dest2')), 'and writes nothing');

  const relative = script('install.sh', { PREFIX: 'usr/local' });
  t.not(relative.status, 0);
  t.match(relative.stderr, /PREFIX must be an absolute path/);
  const spaced = script('install.sh', { PREFIX: '/opt/my kalem' });
  t.not(spaced.status, 0);
  t.match(spaced.stderr, /may only contain/);
  const badUninstall = script('uninstall.sh', { PREFIX: 'relative' });
  t.not(badUninstall.status, 0, 'uninstall refuses a relative PREFIX before any rm');
});

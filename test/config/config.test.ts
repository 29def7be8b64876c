import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { renderExampleConfig } from '../../src/config/example.js';
import { isKalemError } from '../../src/core/errors.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

t.test('defaults fill every key and the result is frozen', async (t) => {
  const c = validateConfig({});
  t.equal(c.store.path, '/var/lib/kalem/kalem.db');
  t.equal(c.keys.master_key_file, '/etc/kalem/master.key');
  t.equal(c.sip.engine, 'embedded');
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.store) && Object.isFrozen(c.sip.scanner_user_agents));
  t.throws(() => {
    (c.store as { path: string }).path = 'x';
  }, TypeError);
});

t.test('an unknown key is refused with its full path', async (t) => {
  t.throws(() => validateConfig({ store: { path: '/x', pathh: 1 } }), /store\.pathh: unknown key/);
  t.throws(() => validateConfig({ stor: {} }), /stor: unknown key/);
});

t.test('a wrong type names the key and what was expected', async (t) => {
  t.throws(() => validateConfig({ store: { busy_timeout_ms: 'soon' } }), /store\.busy_timeout_ms: expected an integer, got the string "soon"/);
  t.throws(() => validateConfig({ sip: { engine: 'asterisk' } }), /sip\.engine: expected one of "embedded", "drachtio"/);
  t.throws(() => validateConfig({ sip: { udp_port: 70000 } }), /sip\.udp_port: expected a value between -1 and 65535/);
  t.throws(() => validateConfig({ log: { sip_trace: 'yes' } }), /log\.sip_trace: expected true or false/);
  t.throws(() => validateConfig({ keys: 'file' }), /keys: expected a table/);
  try {
    validateConfig({ store: { busy_timeout_ms: 1.5, x: 1 } });
    t.fail('should throw');
  } catch (err) {
    t.ok(isKalemError(err, 'KALEM_ERR_CONFIG_INVALID'));
    t.match((err as Error).message, /store\.busy_timeout_ms.*; store\.x: unknown key|store\.x: unknown key.*store\.busy_timeout_ms/);
  }
});

t.test('TOML files: explicit path, KALEM_CONFIG, syntax errors, missing files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kalem-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.toml');
  writeFileSync(good, '[store]\npath = "/tmp/a.db"\n[sip]\nudp_port = 5070\n');
  t.equal(loadConfig({ path: good, env: {} }).config.sip.udp_port, 5070);
  t.equal(loadConfig({ env: { KALEM_CONFIG: good } }).config.store.path, '/tmp/a.db');
  const bad = join(dir, 'bad.toml');
  writeFileSync(bad, '[store\npath = 1');
  t.throws(() => loadConfig({ path: bad, env: {} }), /is not valid TOML/);
  t.throws(() => loadConfig({ path: join(dir, 'none.toml'), env: {} }), /cannot read config file .*none\.toml: ENOENT/);
});

t.test('config/kalem.example.toml shows every key and loads as the defaults', async (t) => {
  const shipped = readFileSync(join(repoRoot, 'config/kalem.example.toml'), 'utf8');
  t.equal(shipped, renderExampleConfig(), 'regenerate with: node dist/src/main.js config example > config/kalem.example.toml');
  const c = loadConfig({ path: join(repoRoot, 'config/kalem.example.toml'), env: {} }).config;
  t.same(c, validateConfig({}));
  const dev = loadConfig({ path: join(repoRoot, 'config/kalem.dev.toml'), env: {} }).config;
  t.equal(dev.store.path, join(repoRoot, 'var/kalem.db'), 'relative to config/, the data lands in the repository\'s var/');
});

t.test('realtime.base_url: wss only, ws:// only to loopback (the key crosses in the upgrade), no ?model=', async (t) => {
  t.equal(validateConfig({}).realtime.base_url, 'wss://api.openai.com/v1/realtime');
  t.doesNotThrow(() => validateConfig({ realtime: { base_url: 'ws://127.0.0.1:8080/v1/realtime' } }));
  t.throws(() => validateConfig({ realtime: { base_url: 'ws://10.0.0.5/v1/realtime' } }), /realtime\.base_url: ws:\/\/ \(no TLS\) is only allowed to a loopback host/);
  t.throws(() => validateConfig({ realtime: { base_url: 'https://api.openai.com/v1/realtime' } }), /realtime\.base_url: expected a wss:\/\/ URL, got https:/);
  t.throws(() => validateConfig({ realtime: { base_url: 'not a url' } }), /realtime\.base_url: "not a url" is not a URL/);
  t.throws(() => validateConfig({ realtime: { base_url: 'wss://x.example/v1/realtime?model=gpt-realtime' } }), /leave out \?model=/);
});

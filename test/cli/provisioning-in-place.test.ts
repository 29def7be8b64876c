import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { KALEM_BIN, KalemSandbox } from '../helpers/kalem-cli.js';
import { openProvisioning } from '../../src/app/open-app.js';
import { REALTIME_MODELS, REALTIME_VOICES } from '../../src/tenancy/realtime-catalog.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';

const json = <T>(s: string): T => JSON.parse(s) as T;

t.test('trunk update: CIDRs, limit and a digest password swapped in place; strict CIDRs', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  t.equal(k.run(['trunk', 'add', 'acme', 'carrier', '--cidr', '203.0.113.0/24', '--digest-username', 'acme-trunk'], 'old-pass').code, 0);
  const id = json<Array<{ id: string }>>(k.run(['--json', 'trunk', 'list', 'acme']).stdout)[0]!.id;
  const r = k.run(['--json', 'trunk', 'update', 'acme', 'carrier', '--add-cidr', '198.51.100.7', '--remove-cidr', '203.0.113.0/24', '--max-calls', '4']);
  t.equal(r.code, 0, r.stderr);
  const t1 = json<{ id: string; cidrs: string[]; maxConcurrentCalls: number; digestUsername: string }>(r.stdout);
  t.same([t1.id, t1.cidrs, t1.maxConcurrentCalls, t1.digestUsername], [id, ['198.51.100.7/32'], 4, 'acme-trunk'], 'same trunk id, changed in place');
  t.equal(k.run(['trunk', 'update', 'acme', 'carrier', '--digest-password'], 'new-pass\n').code, 0);
  const app = await openProvisioning({ configPath: k.configPath, env: {}, logDestination: { write: () => undefined } });
  try {
    const accountId = app.provisioning.account('acme').id;
    t.equal(Buffer.from(app.provisioning.openTrunkPassword(accountId, id)!).toString(), 'new-pass', 'the next INVITE is checked against the new password');
  } finally {
    app.close();
  }
  t.equal(k.run(['trunk', 'update', 'acme', 'carrier', '--max-calls', 'none']).code, 0);
  t.equal(json<Array<{ maxConcurrentCalls: null }>>(k.run(['--json', 'trunk', 'list', 'acme']).stdout)[0]!.maxConcurrentCalls, null);
  // `none` clears a limit (commander used to hand the action '' for it, which was refused).
  t.equal(k.run(['account', 'update', 'acme', '--max-calls', '3', '--cdr-days', '5']).code, 0);
  t.equal(k.run(['account', 'update', 'acme', '--max-calls', 'none', '--cdr-days', 'none']).code, 0);
  const acc = json<{ maxConcurrentCalls: null; retention: { cdrDays: null } }>(k.run(['--json', 'account', 'show', 'acme']).stdout);
  t.same([acc.maxConcurrentCalls, acc.retention.cdrDays], [null, null]);

  const hostBits = k.run(['trunk', 'add', 'acme', 'other', '--cidr', '10.0.0.5/8']);
  t.equal(hostBits.code, 2);
  t.match(hostBits.stderr, /10\.0\.0\.5\/8 has host bits set: the network is 10\.0\.0\.0\/8 \(or, for one host, 10\.0\.0\.5\/32\)/);
  const v6 = k.run(['trunk', 'update', 'acme', 'carrier', '--add-cidr', '2001:db8::1/32']);
  t.match(v6.stderr, /the network is 2001:db8::\/32/);
  for (const any of ['0.0.0.0/0', '::/0']) {
    const refused = k.run(['trunk', 'add', 'acme', 'open', '--cidr', any]);
    t.equal(refused.code, 2, `${any} without --allow-any-source`);
    t.match(refused.stderr, /trusts every address on the internet.*--allow-any-source/);
  }
  t.equal(k.run(['trunk', 'update', 'acme', 'carrier', '--add-cidr', '0.0.0.0/0']).code, 2);
  t.equal(k.run(['trunk', 'add', 'acme', 'open', '--cidr', '0.0.0.0/0', '--allow-any-source', '--digest-username', 'open-user'], 'pw').code, 0);
  const audit = json<Array<{ action: string; details: { fields?: string[] } }>>(k.run(['--json', 'audit', 'list', '--account', 'acme']).stdout);
  t.same(audit.filter((a) => a.action === 'trunk.update').map((a) => a.details.fields).reverse(), [['cidrs', 'maxConcurrentCalls'], ['digestPassword'], ['maxConcurrentCalls']]);
});

t.test('numbers: move to another agent, remove with --country, unknown or missing country explained', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic('acme', 'support');
  t.equal(k.run(['agent', 'create', 'acme', 'sales', '--kind', 'echo']).code, 0);
  t.equal(k.run(['number', 'add', 'acme', 'support', '020 7946 0958', '+14155550100', '--country', 'GB']).code, 0);
  const moved = k.run(['number', 'move', 'acme', 'sales', '+442079460958']);
  t.equal(moved.code, 0, moved.stderr);
  const list = json<Array<{ e164: string; agentName: string }>>(k.run(['--json', 'number', 'list', 'acme']).stdout);
  t.same(list.map((n) => [n.e164, n.agentName]).sort(), [['+14155550100', 'support'], ['+442079460958', 'sales']]);
  t.equal(k.run(['number', 'move', 'acme', 'sales', '+14155550199']).code, 1, 'a number the account does not have');
  const national = k.run(['number', 'remove', 'acme', '020 7946 0958']);
  t.equal(national.code, 2);
  t.match(national.stderr, /020 7946 0958 has no country code: write it as \+<country code><number>, or add --country/);
  const unknown = k.run(['number', 'remove', 'acme', '020 7946 0958', '--country', 'XX']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /--country XX is not an ISO 3166 country code/);
  t.equal(k.run(['number', 'add', 'acme', 'support', '5550100', '--country', 'gb']).code, 2, 'lower case is not a code either');
  t.equal(k.run(['number', 'remove', 'acme', '020 7946 0958', '--country', 'GB']).code, 0);
  t.same(json<Array<{ e164: string }>>(k.run(['--json', 'number', 'list', 'acme']).stdout).map((n) => n.e164), ['+14155550100']);
});

t.test('agents: positive --transcripts/--end-call, known voices and models (extendable), known secret names, missing openai warned', async (t) => {
  const k = new KalemSandbox('[realtime]\nextra_voices = ["studio-voice"]\n');
  t.teardown(() => k.cleanup());
  k.provisionBasic('acme', 'support');
  const agent = () => json<{ storeTranscripts: boolean; tools: { endCall: boolean } }>(k.run(['--json', 'agent', 'show', 'acme', 'support']).stdout);
  t.equal(k.run(['agent', 'update', 'acme', 'support', '--no-transcripts', '--no-end-call']).code, 0);
  t.same([agent().storeTranscripts, agent().tools.endCall], [false, false]);
  t.equal(k.run(['agent', 'update', 'acme', 'support', '--transcripts', '--end-call']).code, 0);
  t.same([agent().storeTranscripts, agent().tools.endCall], [true, true], 'turned back on in place');

  const voice = k.run(['agent', 'update', 'acme', 'support', '--voice', 'marine']);
  t.equal(voice.code, 2);
  t.match(voice.stderr, /unknown voice "marine"; known: alloy, .*marin.*studio-voice \(add others with \[realtime\] extra_voices\)/);
  t.equal(k.run(['agent', 'update', 'acme', 'support', '--voice', 'studio-voice']).code, 0, 'a voice the config adds');
  t.match(k.run(['agent', 'create', 'acme', 'x', '--model', 'gpt-realtim']).stderr, /unknown model "gpt-realtim"/);

  const typo = k.run(['secret', 'set', 'acme', 'opneai'], 'sk-x');
  t.equal(typo.code, 2);
  t.match(typo.stderr, /no part of kalem reads a secret named "opneai"; known names: openai, webhook/);

  const warned = k.run(['number', 'add', 'acme', 'support', '+14155550100']);
  t.equal(warned.code, 0);
  t.match(warned.stderr, /warning: agent support is a realtime agent but account acme has no "openai" secret/);
  t.equal(k.run(['secret', 'set', 'acme', 'openai'], 'sk-x').code, 0);
  t.equal(k.run(['number', 'add', 'acme', 'support', '+14155550101']).stderr, '', 'no warning once the key is there');
});

t.test('the model and voice lists are the openai package\'s own', async (t) => {
  const require = createRequire(import.meta.url);
  const types = readFileSync(join(dirname(require.resolve('openai/resources/realtime/realtime')), 'realtime.d.ts'), 'utf8');
  for (const m of REALTIME_MODELS) t.ok(types.includes(`'${m}'`), `${m} is a model in openai's Realtime types`);
  for (const v of REALTIME_VOICES) t.ok(types.includes(`'${v}'`), `${v} is a voice in openai's Realtime types`);
});

/** kalem run without blocking this process (the stand-in server below lives in it). */
function runAsync(k: KalemSandbox, args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [KALEM_BIN, '-c', k.configPath, ...args], { env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

t.test('secret test: the key checked against GET /v1/models at the configured base, never printed', async (t) => {
  // Stand-in for OpenAI's REST API (it cannot be reached from here): checks the request it gets
  // the way the real API would (path, method, bearer header) and answers in OpenAI's shapes.
  const GOOD = 'sk-test-good-0123456789';
  const seen: Array<{ method?: string; url?: string; auth?: string }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    res.setHeader('content-type', 'application/json');
    if (req.method !== 'GET' || req.url !== '/v1/models') {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { message: 'unknown path', type: 'invalid_request_error', code: 'unknown_url' } }));
    } else if (req.headers.authorization !== `Bearer ${GOOD}`) {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }));
    } else res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-realtime', object: 'model' }, { id: 'gpt-realtime-mini', object: 'model' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const k = new KalemSandbox(`[realtime]\nbase_url = "ws://127.0.0.1:${port}/v1/realtime"\n`);
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  t.equal(k.run(['secret', 'set', 'acme', 'openai'], GOOD).code, 0);
  const good = await runAsync(k, ['secret', 'test', 'acme', 'openai']);
  t.equal(good.code, 0, good.stderr);
  t.match(good.stdout, `openai key of acme: accepted by http://127.0.0.1:${port}/v1/models (2 models listed)`);
  t.equal(k.run(['secret', 'rotate', 'acme', 'openai'], 'sk-test-wrong-9876543210').code, 0);
  const bad = await runAsync(k, ['secret', 'test', 'acme', 'openai']);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /REFUSED by .*: HTTP 401 \(invalid_api_key\)/);
  t.same(seen.map((s) => [s.method, s.url]), [['GET', '/v1/models'], ['GET', '/v1/models']]);
  t.equal(seen[1]!.auth, 'Bearer sk-test-wrong-9876543210', 'the stand-in saw the key in the header');
  for (const out of [good, bad]) t.notMatch(out.stdout + out.stderr, /sk-test-/, 'the key is never printed');
});

t.test('audit list --account works for a deleted account (by its id and by its name); names are unique without case', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic('acme', 'support');
  const dup = k.run(['account', 'create', 'ACME']);
  t.equal(dup.code, 1);
  t.match(dup.stderr, /an account named "acme" already exists \(names are compared without case\)/);
  t.equal(k.run(['account', 'create', 'Other']).code, 0);
  t.equal(k.run(['account', 'update', 'other', '--name', 'Acme']).code, 1, 'a rename cannot collide either');
  t.equal(json<{ name: string }>(k.run(['--json', 'account', 'show', 'ACME']).stdout).name, 'acme', 'lookup by name ignores case');
  const id = json<{ id: string }>(k.run(['--json', 'account', 'show', 'acme']).stdout).id;
  t.equal(k.run(['account', 'delete', 'acme', '--yes']).code, 0);
  for (const ref of [id, 'acme']) {
    const r = k.run(['--json', 'audit', 'list', '--account', ref]);
    t.equal(r.code, 0, r.stderr);
    const actions = json<Array<{ action: string; accountId: string }>>(r.stdout);
    t.same(actions.map((a) => a.action).reverse(), ['account.create', 'agent.create', 'account.erase', 'account.delete'], `the kept trail, asked for by ${ref === id ? 'id' : 'name'}`);
    t.ok(actions.every((a) => a.accountId === id));
  }
  t.equal(k.run(['audit', 'list', '--account', 'never-existed']).code, 1);
});

t.test('a disabled account\'s calls are answered 403, even when another tenant trusts the same source', async (t) => {
  const gw = new TestGateway(loopbackConfig('', '[rtpengine]\nmode = "off"\n'));
  t.teardown(() => gw.stop());
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme' });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', ['+14155550100']);
    p.createAccount({ name: 'other' });
    p.addTrunk('other', { name: 'carrier', cidrs: ['127.0.0.0/8'] });
    p.updateAccount('acme', { status: 'disabled' });
  });
  await gw.start();
  const run = await runSipp({ scenario: 'uac-expect-403-account-disabled.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: '+14155550100' });
  t.equal(run.code, 0, `SIPp got its 403\n${run.errors}\n${run.stdout.slice(-1500)}`);
  t.match(gw.logs.join('\n'), /account acc_[^ ]+ is disabled/, 'refused for the disabled account, not as an untrusted source or unknown number');
});

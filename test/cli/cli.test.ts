import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KalemSandbox } from '../helpers/kalem-cli.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/migrations.js';

t.test('the provisioning flow through the built binary', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  t.equal(k.run(['keys', 'init']).code, 0);
  const acc = k.run(['--json', 'account', 'create', 'acme', '--max-calls', '5', '--transcripts-days', '30']);
  t.equal(acc.code, 0, acc.stderr);
  const account = JSON.parse(acc.stdout) as { id: string; maxConcurrentCalls: number; retention: { transcriptsDays: number } };
  t.equal(account.maxConcurrentCalls, 5);
  t.equal(account.retention.transcriptsDays, 30);
  t.equal(k.run(['agent', 'create', 'acme', 'support', '--voice', 'cedar', '--turn-detection', 'semantic_vad', '--eagerness', 'low']).code, 0);
  t.equal(k.run(['agent', 'create', 'acme', 'echo-test', '--kind', 'echo']).code, 0);
  const agent = JSON.parse(k.run(['--json', 'agent', 'show', 'acme', 'support']).stdout) as { voice: string; turnDetection: unknown };
  t.equal(agent.voice, 'cedar');
  t.same(agent.turnDetection, { type: 'semantic_vad', eagerness: 'low' });
  t.equal(k.run(['agent', 'update', 'acme', 'support', '--vad-threshold', '0.7']).code, 2, 'vad options need server_vad');
  t.equal(k.run(['agent', 'update', 'acme', 'support', '--turn-detection', 'server_vad', '--vad-threshold', '0.7']).code, 0);
  t.equal(k.run(['secret', 'set', 'acme', 'openai'], 'sk-example-value\n').code, 0);
  t.equal(k.run(['trunk', 'add', 'acme', 'carrier', '--cidr', '203.0.113.0/24', '--cidr', '2001:db8::/32']).code, 0);
  t.equal(k.run(['number', 'add', 'acme', 'support', '+1 (415) 555-0100']).code, 0);
  const numbers = JSON.parse(k.run(['--json', 'number', 'list', 'acme']).stdout) as Array<{ e164: string; agentName: string }>;
  t.same(numbers.map((n) => [n.e164, n.agentName]), [['+14155550100', 'support']]);
  const listed = k.run(['account', 'list']);
  t.match(listed.stdout, /acme\s+active\s+5/);
  const secrets = JSON.parse(k.run(['--json', 'secret', 'list', 'acme']).stdout) as Array<Record<string, unknown>>;
  t.same(Object.keys(secrets[0]!).sort(), ['createdAt', 'name', 'version']);
  const audit = JSON.parse(k.run(['--json', 'audit', 'list', '--account', 'acme']).stdout) as Array<{ action: string }>;
  t.same(audit.map((a) => a.action).reverse(), ['account.create', 'agent.create', 'agent.create', 'agent.update', 'secret.set', 'trunk.add', 'number.add']);
  const check = JSON.parse(k.run(['--json', 'db', 'check']).stdout) as { integrity: string; schemaVersion: number };
  t.equal(check.integrity, 'ok');
  t.equal(k.run(['account', 'update', 'acme', '--status', 'disabled']).code, 0);
  t.equal(JSON.parse(k.run(['--json', 'account', 'show', 'acme']).stdout).status, 'disabled');
});

t.test('bad input: specific message, exit code, nothing written', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  const auditBefore = k.run(['--json', 'audit', 'list']).stdout;
  const cases: Array<[string[], number, RegExp, string?]> = [
    [['number', 'add', 'acme', 'support', '123abc'], 2, /not a valid E\.164 phone number: 123abc/],
    [['trunk', 'add', 'acme', 't', '--cidr', '10.0.0.0/33'], 2, /not a valid IPv4 or IPv6 address or CIDR: 10\.0\.0\.0\/33/],
    [['agent', 'create', 'nobody', 'x'], 1, /no account nobody; list them with `kalem account list`/],
    [['number', 'add', 'acme', 'ghost', '+14155550100'], 1, /no agent ghost in account acme/],
    [['account', 'create', 'acme'], 1, /already exists/],
    [['account', 'create', 'bad name!'], 2, /account names are/],
    [['account', 'create', 'x', '--max-calls', '0'], 2, /expected a whole number of at least 1/],
    [['account', 'delete', 'acme'], 2, /add --yes/],
    [['secret', 'set', 'acme', 'openai'], 2, /no secret value on standard input/, ''],
    [['account', 'frobnicate'], 2, /unknown command/],
    [['number', 'add', 'acme', 'support', '--from-file', '/nonexistent/file'], 2, /cannot read \/nonexistent\/file: ENOENT/],
  ];
  for (const [args, code, message, input] of cases) {
    const r = k.run(args, input);
    t.equal(r.code, code, `exit code of kalem ${args.join(' ')}`);
    t.match(r.stderr, message, `message of kalem ${args.join(' ')}`);
  }
  t.equal(k.run(['--json', 'audit', 'list']).stdout, auditBefore, 'no change was written');
});

t.test('missing or wrong master key, unreadable config, newer database', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  const noDb = k.run(['account', 'list']);
  t.equal(noDb.code, 1);
  t.match(noDb.stderr, /no database at .*kalem\.db \(config: .*kalem\.toml\); check \[store\] path/);
  t.notOk(existsSync(k.dbPath), 'a read command does not create the database');
  const noKey = k.run(['account', 'create', 'first']);
  t.equal(noKey.code, 1);
  t.match(noKey.stderr, /master key not found at .*master\.key; create one with `kalem keys init`/);
  k.provisionBasic();
  // Replace the key with another valid key: the database knows it is not the right one.
  const { rmSync } = await import('node:fs');
  rmSync(k.keyPath);
  t.equal(k.run(['keys', 'init']).code, 0);
  const wrong = k.run(['account', 'create', 'other']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /is not the one this database was sealed with/);
  const r = k.run(['-c', join(k.dir, 'missing.toml'), 'account', 'list']);
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot read config file .*missing\.toml: ENOENT/);
  writeFileSync(join(k.dir, 'bad.toml'), '[store]\npath = 5\n');
  const bad = k.run(['-c', join(k.dir, 'bad.toml'), 'account', 'list']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /invalid config: store\.path: expected a string, got number 5/);
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(k.dbPath);
  db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')").run();
  db.close();
  const newer = k.run(['account', 'list']);
  t.equal(newer.code, 1);
  t.match(newer.stderr, new RegExp(`schema version 99 but this kalem only knows up to ${LATEST_SCHEMA_VERSION}; upgrade kalem`));
});

t.test('master key rotation through the CLI', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic();
  t.equal(k.run(['secret', 'set', 'acme', 'openai'], 'sk-rotate-me').code, 0);
  const newKey = join(k.dir, 'new.key');
  t.equal(k.run(['keys', 'init', '--key-file', newKey]).code, 0);
  const r = k.run(['keys', 'rotate-master', '--new-key-file', newKey]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /re-wrapped 1 account key/);
  t.match(k.run(['account', 'create', 'other']).stderr, /not the one this database was sealed with/, 'the old key no longer fits');
  const { renameSync } = await import('node:fs');
  renameSync(newKey, k.keyPath);
  t.equal(k.run(['secret', 'rotate', 'acme', 'openai'], 'sk-rotated').code, 0, 'the new key works');
});

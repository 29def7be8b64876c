import t from 'tap';
import { makeProvisioning, text, utf8 } from '../helpers/store.js';

t.test('every change writes its audit row, and a failed change writes none', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  p.provisioning.createAccount({ name: 'acme' });
  p.provisioning.createAgent('acme', { name: 'bot' });
  const n = p.store.audit.list({ limit: 100 }).length;
  t.throws(() => p.provisioning.createAccount({ name: 'acme' }), { code: 'KALEM_ERR_DUPLICATE' });
  t.throws(() => p.provisioning.addNumbers('acme', 'bot', ['+14155550100', 'nonsense']), { code: 'KALEM_ERR_INVALID_E164', message: /entry 2.*nothing was added/ });
  t.equal(p.store.audit.list({ limit: 100 }).length, n, 'no audit rows for failures');
  t.same(p.provisioning.listNumbers('acme'), []);
  p.provisioning.addNumbers('acme', 'bot', ['+14155550100', '+14155550101']);
  const last = p.store.audit.list({ limit: 1 })[0]!;
  t.equal(last.action, 'number.add');
  t.same(last.details.count, 2);
});

t.test('a number already owned is refused without naming the owner', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  p.provisioning.createAccount({ name: 'secret-owner' });
  p.provisioning.createAgent('secret-owner', { name: 'bot' });
  p.provisioning.createAccount({ name: 'other' });
  p.provisioning.createAgent('other', { name: 'bot' });
  p.provisioning.addNumbers('secret-owner', 'bot', ['+14155550100']);
  try {
    p.provisioning.addNumbers('other', 'bot', ['+14155550199', '+1 415 555 0100']);
    t.fail('should refuse');
  } catch (err) {
    t.match(err, { code: 'KALEM_ERR_NUMBER_TAKEN' });
    t.notMatch((err as Error).message, /secret-owner|acc_/);
  }
  t.same(p.provisioning.listNumbers('other'), [], 'the batch was all or nothing');
});

t.test('secrets: set refuses to overwrite, rotate bumps the version and erases the old one', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  const a = p.provisioning.createAccount({ name: 'acme' });
  p.provisioning.setSecret('acme', 'openai', utf8('v1'));
  t.throws(() => p.provisioning.setSecret('acme', 'openai', utf8('v1b')), { code: 'KALEM_ERR_DUPLICATE' });
  t.equal(p.provisioning.rotateSecret('acme', 'openai', utf8('v2')).version, 2);
  t.equal(text(p.provisioning.openSecret(a.id, 'openai')), 'v2');
  t.equal((p.db.prepare('SELECT COUNT(*) AS n FROM secrets').get() as { n: number }).n, 1, 'old version erased');
  t.throws(() => p.provisioning.rotateSecret('acme', 'stripe', utf8('x')), { code: 'KALEM_ERR_UNKNOWN_SECRET' });
  t.throws(() => p.provisioning.setSecret('acme', 'Bad Name', utf8('x')), { code: 'KALEM_ERR_INVALID_ARGUMENT' });
  t.throws(() => p.provisioning.setSecret('acme', 'webhook', new Uint8Array()), { code: 'KALEM_ERR_SECRET_INPUT' });
  t.throws(() => p.provisioning.setSecret('acme', 'opneai', utf8('x')), { code: 'KALEM_ERR_INVALID_ARGUMENT', message: /no part of kalem reads a secret named "opneai"/ });
  const value = utf8('wipe-me');
  p.provisioning.setSecret('acme', 'stripe', value);
  t.ok(value.every((b) => b === 0), 'the caller\'s buffer is wiped once sealed');
  p.provisioning.deleteSecret('acme', 'openai');
  t.same(p.provisioning.listSecrets('acme').map((s) => s.name), ['stripe']);
});

t.test('agents: defaults, validation, in-use protection', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  p.provisioning.createAccount({ name: 'acme' });
  const agent = p.provisioning.createAgent('acme', { name: 'bot', voice: 'cedar', turnDetection: { type: 'semantic_vad', eagerness: 'high' } });
  t.equal(agent.model, 'gpt-realtime');
  t.equal(agent.voice, 'cedar');
  t.same(agent.turnDetection, { type: 'semantic_vad', eagerness: 'high' });
  t.throws(() => p.provisioning.createAgent('acme', { name: 'x', tools: { transferTarget: 'tel:123', endCall: true, webhooks: [] } }), /sip: or sips: URI/);
  t.throws(() => p.provisioning.createAgent('acme', { name: 'y', maxCallSeconds: 0 }), /max call seconds/);
  p.provisioning.addNumbers('acme', 'bot', ['+14155550100']);
  t.throws(() => p.provisioning.deleteAgent('acme', 'bot'), { code: 'KALEM_ERR_IN_USE' });
  p.provisioning.removeNumber('acme', '+14155550100');
  p.provisioning.deleteAgent('acme', 'bot');
  t.same(p.provisioning.listAgents('acme'), []);
});

t.test('trunks: CIDRs canonical, digest needs both parts, usernames unique', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  p.provisioning.createAccount({ name: 'acme' });
  p.provisioning.createAccount({ name: 'other' });
  const tr = p.provisioning.addTrunk('acme', { name: 'c1', cidrs: ['203.0.113.0/24', '203.0.113.0/24 ', '2001:DB8::/48'] });
  t.same(tr.cidrs, ['203.0.113.0/24', '2001:db8::/48']);
  t.throws(() => p.provisioning.addTrunk('acme', { name: 'c2', cidrs: ['10.0.0.0/40'] }), { code: 'KALEM_ERR_INVALID_CIDR' });
  t.throws(() => p.provisioning.addTrunk('acme', { name: 'c2', cidrs: ['203.0.113.9/24'] }), { code: 'KALEM_ERR_CIDR_HOST_BITS', message: /the network is 203\.0\.113\.0\/24/ });
  t.throws(() => p.provisioning.addTrunk('acme', { name: 'c3', cidrs: [] }), /at least one --cidr/);
  t.throws(() => p.provisioning.addTrunk('acme', { name: 'c4', cidrs: [], digestUsername: 'u' }), /both a username and a password/);
  p.provisioning.addTrunk('acme', { name: 'c5', cidrs: [], digestUsername: 'u1', digestPassword: utf8('pw') });
  t.throws(() => p.provisioning.addTrunk('other', { name: 'c6', cidrs: [], digestUsername: 'u1', digestPassword: utf8('pw') }), /already used/);
  t.equal(p.provisioning.listTrunks('other').length, 0);
  const acme = p.provisioning.account('acme');
  const c5 = p.provisioning.listTrunks('acme').find((x) => x.name === 'c5')!;
  t.equal(text(p.provisioning.openTrunkPassword(acme.id, c5.id)!), 'pw');
});

t.test('deleting an account erases everything it owns but keeps its audit trail', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  const a = p.provisioning.createAccount({ name: 'acme' });
  p.provisioning.createAgent('acme', { name: 'bot' });
  p.provisioning.addNumbers('acme', 'bot', ['+14155550100']);
  p.provisioning.setSecret('acme', 'openai', utf8('x'));
  p.provisioning.addTrunk('acme', { name: 't', cidrs: ['10.0.0.1'] });
  p.provisioning.deleteAccount('acme');
  for (const table of ['accounts', 'agents', 'numbers', 'secrets', 'trunks']) {
    t.equal((p.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n, 0, `${table} empty`);
  }
  t.equal(p.store.audit.list({ accountId: a.id, limit: 10 })[0]?.action, 'account.delete');
  t.equal(p.store.numbers.resolve('+14155550100'), undefined);
});

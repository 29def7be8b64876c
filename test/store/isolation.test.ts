import t from 'tap';
import { makeProvisioning, text, utf8 } from '../helpers/store.js';

/**
 * Tenant isolation: every repository call made for account B must come back empty-handed for
 * account A's rows, and A's sealed values copied into B's rows must not open.
 */
t.test('no repository call for account B returns account A data', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const b = p.provisioning.createAccount({ name: 'bravo' });
  const agentA = p.provisioning.createAgent('alpha', { name: 'bot' });
  p.provisioning.createAgent('bravo', { name: 'bot' });
  p.provisioning.addNumbers('alpha', 'bot', ['+14155550100']);
  const trunkA = p.provisioning.addTrunk('alpha', { name: 'carrier', cidrs: ['203.0.113.0/24'], digestUsername: 'alpha-user', digestPassword: utf8('pw-a') });
  p.provisioning.setSecret('alpha', 'openai', utf8('sk-alpha'));

  const s = p.store;
  t.equal(s.agents.get(b.id, agentA.id), undefined, 'agent by id');
  t.equal(s.agents.list(b.id).some((x) => x.id === agentA.id), false, 'agent list');
  t.equal(s.numbers.get(b.id, '+14155550100'), undefined, 'number get');
  t.same(s.numbers.list(b.id), [], 'number list');
  t.equal(s.numbers.delete(b.id, '+14155550100'), false, 'number delete');
  t.ok(s.numbers.get(a.id, '+14155550100'), 'A still has its number');
  t.equal(s.trunks.get(b.id, trunkA.id), undefined, 'trunk get');
  t.equal(s.trunks.sealedDigestPassword(b.id, trunkA.id), undefined, 'trunk password');
  t.equal(s.trunks.delete(b.id, trunkA.id), false, 'trunk delete');
  t.equal(s.secrets.latest(b.id, 'openai'), undefined, 'secret');
  t.same(s.secrets.list(b.id), [], 'secret list');
  t.equal(s.secrets.deleteAll(b.id, 'openai'), 0, 'secret delete');
  t.same(s.audit.list({ accountId: b.id, limit: 100 }).filter((e) => e.target === agentA.id), [], 'audit');

  // Through the service: names are resolved inside the account only.
  t.throws(() => p.provisioning.agent('bravo', agentA.id), { code: 'KALEM_ERR_UNKNOWN_AGENT' });
  t.throws(() => p.provisioning.addNumbers('bravo', agentA.id, ['+14155550101']), { code: 'KALEM_ERR_UNKNOWN_AGENT' });
  t.throws(() => p.provisioning.removeTrunk('bravo', trunkA.id), { code: 'KALEM_ERR_UNKNOWN_TRUNK' });
  t.throws(() => p.provisioning.openSecret(b.id, 'openai'), { code: 'KALEM_ERR_UNKNOWN_SECRET' });
  t.equal(text(p.provisioning.openSecret(a.id, 'openai')), 'sk-alpha');
});

t.test('a number cannot point at another account\'s agent, even bypassing the service', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  p.provisioning.createAccount({ name: 'alpha' });
  const b = p.provisioning.createAccount({ name: 'bravo' });
  const agentA = p.provisioning.createAgent('alpha', { name: 'bot' });
  t.throws(() => p.store.numbers.insert({ e164: '+14155550199', accountId: b.id, agentId: agentA.id, createdAt: 'x' }), /FOREIGN KEY/);
});

t.test('a sealed secret copied into another account\'s row fails to open', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const b = p.provisioning.createAccount({ name: 'bravo' });
  p.provisioning.setSecret('alpha', 'openai', utf8('sk-alpha'));
  p.provisioning.setSecret('bravo', 'openai', utf8('sk-bravo'));
  // An attacker with write access to the database copies A's sealed blob into B's row.
  p.db.prepare("UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE account_id = ?) WHERE account_id = ?").run(a.id, b.id);
  t.throws(() => p.provisioning.openSecret(b.id, 'openai'), { code: 'KALEM_ERR_SECRET_TAMPERED', message: /copied from another row or account/ });
  // And into another name of the same account.
  p.db.prepare("INSERT INTO secrets (account_id, name, version, sealed, created_at) SELECT account_id, 'twilio', version, sealed, created_at FROM secrets WHERE account_id = ?").run(a.id);
  t.throws(() => p.provisioning.openSecret(a.id, 'twilio'), { code: 'KALEM_ERR_SECRET_TAMPERED' });
  // A's wrapped account key copied onto B: B's secrets no longer open, reported as a key problem.
  p.db.prepare('UPDATE accounts SET wrapped_key = (SELECT wrapped_key FROM accounts WHERE id = ?) WHERE id = ?').run(a.id, b.id);
  t.throws(() => p.provisioning.openSecret(b.id, 'openai'), { code: 'KALEM_ERR_WRONG_MASTER_KEY' });
  t.equal(text(p.provisioning.openSecret(a.id, 'openai')), 'sk-alpha');
});

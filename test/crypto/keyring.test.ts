import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../../src/crypto/keyring.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { rotateMasterKey } from '../../src/app/master-key-rotation.js';
import { makeProvisioning, text, utf8 } from '../helpers/store.js';

t.test('seal and open round trip; the sealed bytes do not contain the value', async (t) => {
  const sodium = await sodiumReady();
  const k = new Keyring(sodium, randomBytes(32));
  const wrapped = k.newWrappedAccountKey('acc_1');
  const sealed = k.seal('acc_1', wrapped, 'openai', 1, utf8('sk-live-value'));
  t.notOk(Buffer.from(sealed).includes('sk-live-value'));
  t.equal(text(k.open('acc_1', wrapped, 'openai', 1, sealed)), 'sk-live-value');
  t.not(Buffer.from(k.seal('acc_1', wrapped, 'openai', 1, utf8('x'))).toString('hex'), Buffer.from(k.seal('acc_1', wrapped, 'openai', 1, utf8('x'))).toString('hex'), 'fresh nonce each time');
});

t.test('a sealed value moved to another name, version or account does not open', async (t) => {
  const sodium = await sodiumReady();
  const k = new Keyring(sodium, randomBytes(32));
  const wa = k.newWrappedAccountKey('acc_a');
  const wb = k.newWrappedAccountKey('acc_b');
  const sealed = k.seal('acc_a', wa, 'openai', 1, utf8('secret'));
  t.throws(() => k.open('acc_a', wa, 'twilio', 1, sealed), { code: 'KALEM_ERR_SECRET_TAMPERED' });
  t.throws(() => k.open('acc_a', wa, 'openai', 2, sealed), { code: 'KALEM_ERR_SECRET_TAMPERED' });
  t.throws(() => k.open('acc_b', wb, 'openai', 1, sealed), { code: 'KALEM_ERR_SECRET_TAMPERED' });
  // Account A's wrapped key copied onto account B's row: the wrap is bound to A's id.
  t.throws(() => k.open('acc_b', wa, 'openai', 1, sealed), { code: 'KALEM_ERR_WRONG_MASTER_KEY' });
});

t.test('a tampered blob or a wrong master key is reported as such', async (t) => {
  const sodium = await sodiumReady();
  const k = new Keyring(sodium, randomBytes(32));
  const other = new Keyring(sodium, randomBytes(32));
  const w = k.newWrappedAccountKey('acc_1');
  const sealed = k.seal('acc_1', w, 'openai', 1, utf8('secret'));
  const flipped = Uint8Array.from(sealed);
  flipped[flipped.length - 3]! ^= 0x01;
  t.throws(() => k.open('acc_1', w, 'openai', 1, flipped), { code: 'KALEM_ERR_SECRET_TAMPERED' });
  t.throws(() => k.open('acc_1', w, 'openai', 1, sealed.subarray(0, 10)), { code: 'KALEM_ERR_SECRET_TAMPERED' });
  t.throws(() => other.open('acc_1', w, 'openai', 1, sealed), { code: 'KALEM_ERR_WRONG_MASTER_KEY' });
  t.ok(k.verifyMasterCheck(k.masterCheck()));
  t.notOk(other.verifyMasterCheck(k.masterCheck()));
  t.throws(() => new Keyring(sodium, randomBytes(16)), TypeError);
});

t.test('master key rotation re-wraps every account key in one transaction', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  const a = p.provisioning.createAccount({ name: 'a' });
  const b = p.provisioning.createAccount({ name: 'b' });
  p.provisioning.setSecret('a', 'openai', utf8('key-of-a'));
  p.provisioning.setSecret('b', 'openai', utf8('key-of-b'));
  const before = p.store.accounts.allWrappedKeys();
  const newKeyring = new Keyring(p.sodium, randomBytes(32));
  const r = rotateMasterKey(p.store, p.keyring, newKeyring, { actor: 't', at: new Date().toISOString() });
  t.equal(r.accounts, 2);
  const after = p.store.accounts.allWrappedKeys();
  t.notSame(after.map((x) => Buffer.from(x.wrappedKey).toString('hex')), before.map((x) => Buffer.from(x.wrappedKey).toString('hex')));
  // Secrets open with the new master key and no longer with the old one.
  for (const [acc, want] of [[a.id, 'key-of-a'], [b.id, 'key-of-b']] as const) {
    const s = p.store.secrets.latest(acc, 'openai')!;
    t.equal(text(newKeyring.open(acc, p.store.accounts.wrappedKey(acc)!, 'openai', s.version, s.sealed)), want);
    t.throws(() => p.keyring.open(acc, p.store.accounts.wrappedKey(acc)!, 'openai', s.version, s.sealed), { code: 'KALEM_ERR_WRONG_MASTER_KEY' });
  }
  t.ok(newKeyring.verifyMasterCheck(p.store.getMeta('master_key_check')!));
  t.equal(p.store.audit.list({ limit: 1 })[0]?.action, 'keys.rotate-master');
});

t.test('rotation with the wrong old key changes nothing', async (t) => {
  const p = await makeProvisioning();
  t.teardown(p.close);
  p.provisioning.createAccount({ name: 'a' });
  p.provisioning.createAccount({ name: 'b' });
  const before = p.store.accounts.allWrappedKeys().map((x) => Buffer.from(x.wrappedKey).toString('hex'));
  const wrongOld = new Keyring(p.sodium, randomBytes(32));
  t.throws(() => rotateMasterKey(p.store, wrongOld, new Keyring(p.sodium, randomBytes(32)), { actor: 't', at: 'now' }), {
    code: 'KALEM_ERR_WRONG_MASTER_KEY',
  });
  t.same(p.store.accounts.allWrappedKeys().map((x) => Buffer.from(x.wrappedKey).toString('hex')), before);
});

t.test('the keyring keeps its own copy: wiping the caller\'s buffer changes nothing', async (t) => {
  const sodium = await sodiumReady();
  const key = randomBytes(32);
  const k = new Keyring(sodium, key);
  const check = k.masterCheck();
  key.fill(0);
  t.ok(k.verifyMasterCheck(check));
  t.notOk(new Keyring(sodium, Buffer.alloc(32)).verifyMasterCheck(check), 'an all-zero key is a different key');
});

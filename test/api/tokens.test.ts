import t from 'tap';
import { rmSync } from 'node:fs';
import { openDatabase } from '../../src/store/database.js';
import { SqliteTokenRepository } from '../../src/store/repositories/tokens.js';
import { TokenService, parseExpiry, type Principal } from '../../src/api/tokens/token-service.js';
import { hashToken } from '../../src/api/tokens/token-secret.js';
import { makeProvisioning } from '../helpers/store.js';
import { KalemSandbox } from '../helpers/kalem-cli.js';

async function setup(t: { teardown(fn: () => void): void }) {
  const p = await makeProvisioning();
  t.teardown(() => {
    p.close();
    rmSync(p.dir, { recursive: true, force: true });
  });
  const repo = new SqliteTokenRepository(p.db);
  const tokens = new TokenService(p.store, repo, p.clock, 'cli:test');
  p.provisioning.createAccount({ name: 'acme' });
  return { ...p, repo, tokens };
}

t.test('create: klm_ + 256 bits, only the hash stored, scopes checked, audited', async (t) => {
  const { tokens, db, store } = await setup(t);
  const { token, record } = tokens.create({ name: 'ci', account: 'acme', scopes: ['numbers:read', 'agents:write', 'numbers:read'] });
  t.match(token, /^klm_[A-Za-z0-9_-]{43}$/);
  t.equal(Buffer.from(token.slice(4), 'base64url').length, 32, '32 random bytes');
  t.same(record.scopes, ['agents:write', 'numbers:read'], 'deduplicated and sorted');
  const row = db.prepare('SELECT * FROM api_tokens').get() as Record<string, unknown>;
  t.same(Buffer.from(row.token_hash as Buffer), hashToken(token), 'SHA-256 of the token');
  t.notOk(JSON.stringify(row).includes(token.slice(4)), 'the token itself is nowhere in the row');
  t.equal(store.audit.list({ limit: 5 })[0]!.action, 'token.create');
  t.throws(() => tokens.create({ name: 'x', account: 'acme', scopes: ['accounts:write'] }), /operator tokens only/);
  t.throws(() => tokens.create({ name: 'x', scopes: ['numbers:fly'] }), /unknown scope "numbers:fly"/);
  t.throws(() => tokens.create({ name: 'x', scopes: [] }), /at least one scope/);
  t.throws(() => tokens.create({ name: 'ci', scopes: ['audit:read'] }), { code: 'KALEM_ERR_DUPLICATE' });
  t.throws(() => tokens.create({ name: 'y', account: 'globex', scopes: ['audit:read'] }), { code: 'KALEM_ERR_UNKNOWN_ACCOUNT' });
  t.equal(parseExpiry('never', 0), null);
  t.equal(parseExpiry('90d', 0), new Date(90 * 86_400_000).toISOString());
  for (const bad of ['0d', '90', '1y', '-1d', '99999d']) t.throws(() => parseExpiry(bad, 0), { code: 'KALEM_ERR_INVALID_ARGUMENT' }, bad);
});

t.test('authenticate: unknown, expired and revoked tokens; revocation is read on every request', async (t) => {
  const { tokens, clock } = await setup(t);
  const { token } = tokens.create({ name: 'ci', account: 'acme', scopes: ['calls:read'], expires: '1h' });
  const p = tokens.authenticate(token) as Principal;
  t.equal(p.tokenName, 'ci');
  t.equal(p.accountName, 'acme');
  t.ok(p.scopes.has('calls:read'));
  t.equal(tokens.authenticate('Bearer nonsense'), 'malformed');
  t.equal(tokens.authenticate(`klm_${'Z'.repeat(43)}`), 'unknown');
  clock.advance(3_600_000);
  t.equal(tokens.authenticate(token), 'expired');
  const other = tokens.create({ name: 'other', scopes: ['audit:read'] }).token;
  t.type(tokens.authenticate(other), 'object');
  tokens.revoke('other');
  t.equal(tokens.authenticate(other), 'revoked', 'the next check after revoke');
  t.throws(() => tokens.revoke('other'), { code: 'KALEM_ERR_UNKNOWN_TOKEN' }, 'already revoked');
  t.ok(tokens.create({ name: 'other', scopes: ['audit:read'] }), 'the name of a revoked token can be reused');
});

t.test('last use is written in batches, and a flush never waits for a lock held elsewhere', async (t) => {
  const { tokens, repo, clock, path } = await setup(t);
  const { token, record } = tokens.create({ name: 'ci', scopes: ['audit:read'] });
  for (let i = 0; i < 50; i++) tokens.authenticate(token);
  t.equal(repo.findActive('ci')!.lastUsedAt, null, 'nothing written per request');
  clock.advance(10_000);
  t.equal(repo.findActive('ci')!.lastUsedAt, new Date(clock.now() - 10_000).toISOString(), 'one batched write after the flush interval');

  // Another connection (another process, in production) holds the write lock.
  const other = openDatabase({ path, busyTimeoutMs: 1000 });
  t.teardown(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  const before = repo.findActive('ci')!.lastUsedAt;
  tokens.authenticate(token);
  const started = performance.now();
  clock.advance(10_000); // the flush runs here, against the held lock
  const waited = performance.now() - started;
  t.ok(waited < 500, `the flush gave up at once instead of waiting the 5 s busy timeout (${waited.toFixed(1)} ms)`);
  t.equal(repo.findActive('ci')!.lastUsedAt, before, 'not written while locked');
  other.exec('COMMIT');
  clock.advance(10_000); // retried
  t.ok(repo.findActive('ci')!.lastUsedAt! > before!, 'written once the lock is free');
  t.equal(record.lastUsedAt, null);
  tokens.close();
});

t.test('kalem token create | list | revoke | scopes', async (t) => {
  const sb = new KalemSandbox();
  t.teardown(() => sb.cleanup());
  sb.provisionBasic();
  const bad = sb.run(['token', 'create', 'x', '--scope', 'audit:read']);
  t.equal(bad.code, 2, 'neither --operator nor --account: usage error');
  t.match(bad.stderr, /exactly one of --operator or --account/);
  t.equal(sb.run(['token', 'create', 'x', '--operator', '--account', 'acme', '--scope', 'audit:read']).code, 2);
  t.equal(sb.run(['token', 'create', 'x', '--account', 'acme', '--scope', 'metrics:read']).code, 2, 'operator-only scope on an account token');
  const made = sb.run(['token', 'create', 'ci', '--account', 'acme', '--scope', 'numbers:read,agents:write', '--expires', '30d']);
  t.equal(made.code, 0, made.stderr);
  t.match(made.stdout, /^klm_[A-Za-z0-9_-]{43}\n$/, 'stdout is the token alone');
  const list = sb.run(['token', 'list']);
  t.match(list.stdout, /ci\s+acme\s+agents:write,numbers:read/);
  t.notMatch(list.stdout, /klm_/);
  t.equal(sb.run(['token', 'revoke', 'ci']).code, 0);
  t.match(sb.run(['token', 'list']).stdout, /\(none\)/);
  t.match(sb.run(['token', 'list', '--all']).stdout, /ci .* \d{4}-\d\d-\d\dT/);
  t.equal(sb.run(['token', 'revoke', 'ci']).code, 1, 'unknown token: failure');
  t.match(sb.run(['token', 'scopes']).stdout, /transcripts:read/);
  const audit = sb.run(['--json', 'audit', 'list']);
  const actions = (JSON.parse(audit.stdout) as Array<{ action: string; actor: string }>).map((e) => e.action);
  t.ok(actions.includes('token.create') && actions.includes('token.revoke'), 'both audited');
});

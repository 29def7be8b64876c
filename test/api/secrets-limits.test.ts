import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ApiGateway } from './helpers.js';
import { ALL_SCOPES } from '../../src/api/tokens/scopes.js';

t.test('a planted secret never appears in a response, a log line or an error', async (t) => {
  const api = await new ApiGateway().start();
  t.teardown(() => api.stop());
  const planted = `sk-PLANTED-${randomBytes(16).toString('hex')}`;
  const trunkPassword = `pw-PLANTED-${randomBytes(8).toString('hex')}`;
  const op = await api.token({ name: 'op', scopes: ALL_SCOPES });
  const replies: string[] = [];
  const call = async (method: string, path: string, body?: unknown, rawBody?: string) => {
    const r = await api.call(method, path, { token: op, ...(body !== undefined ? { body } : {}), ...(rawBody !== undefined ? { rawBody } : {}) });
    replies.push(`${r.status} ${JSON.stringify(r.headers)} ${r.text}`);
    return r;
  };
  t.equal((await call('POST', '/v1/accounts', { name: 'acme' })).status, 201);
  const set = await call('POST', '/v1/accounts/acme/secrets', { name: 'openai', value: planted });
  t.same(Object.keys(set.json).sort(), ['createdAt', 'name', 'version'], 'the answer carries name, version and time only');
  t.equal((await call('POST', '/v1/accounts/acme/secrets', { name: 'openai', value: planted })).status, 409, 'set twice: conflict');
  t.equal((await call('PUT', '/v1/accounts/acme/secrets/openai', { value: planted + '2' })).json.version, 2, 'rotated');
  t.equal((await call('PUT', '/v1/accounts/acme/secrets/stripe', { value: planted })).status, 404, 'a known name never set: nothing to rotate');
  t.equal((await call('POST', '/v1/accounts/acme/secrets', { name: 'opneai', value: planted })).status, 400, 'an unknown secret name is refused');
  t.equal((await call('POST', '/v1/accounts/acme/secrets', { name: 'Bad Name', value: planted })).status, 400);
  t.equal((await call('POST', '/v1/accounts/acme/secrets', { name: 'twilio', value: planted, extra: planted })).status, 400, 'unknown field refused');
  t.equal((await call('POST', '/v1/accounts/acme/secrets', { name: 'twilio', value: planted.repeat(2000) })).status, 400, 'too long');
  t.equal((await call('POST', '/v1/accounts/acme/secrets', undefined, `{"name":"twilio","value":"${planted}"`)).status, 400, 'malformed JSON');
  t.equal((await call('POST', '/v1/accounts/acme/secrets', { name: 'twilio', value: { v: planted } })).status, 400, 'wrong type');
  t.equal((await call('POST', '/v1/accounts/acme/trunks', { name: 'carrier', digestUsername: 'acme-in', digestPassword: trunkPassword })).status, 201);
  t.equal((await call('POST', '/v1/accounts/acme/trunks', { name: 'carrier2', digestUsername: 'acme-in', digestPassword: trunkPassword })).status, 409, 'duplicate username');
  for (const path of ['/v1/accounts/acme/secrets', '/v1/accounts/acme/trunks', '/v1/accounts/acme/audit', '/v1/audit', '/v1/accounts/acme', '/v1/accounts']) {
    t.equal((await call('GET', path)).status, 200, path);
  }
  const secrets = (await call('GET', '/v1/accounts/acme/secrets')).json.items;
  t.same(secrets.map((s: { name: string; version: number }) => [s.name, s.version]), [['openai', 2]]);
  t.equal((await call('DELETE', '/v1/accounts/acme/secrets/openai')).status, 204);
  // The planted token itself, presented wrongly, is not echoed either.
  const almost = op.slice(0, -1) + (op.endsWith('A') ? 'B' : 'A');
  replies.push((await api.call('GET', '/v1/accounts', { token: almost })).text);
  const everything = replies.join('\n');
  t.notOk(everything.includes(planted), 'no response carries the secret');
  t.notOk(everything.includes(trunkPassword), 'nor the trunk password');
  t.notOk(everything.includes(almost.slice(4)), 'nor a presented token');
  const logs = api.gw.logs.join('\n');
  t.ok(logs.length > 0 && /api request/.test(logs), 'the API logged its requests (debug)');
  t.notOk(logs.includes(planted), 'no log line carries the secret');
  t.notOk(logs.includes(trunkPassword), 'nor the trunk password');
  t.notOk(logs.includes(op.slice(4)), 'nor the token');
  await api.provision((app) => {
    const file = app.store.db.prepare("SELECT group_concat(hex(token_hash)) AS h FROM api_tokens").get() as { h: string };
    t.notOk(file.h.includes(Buffer.from(op).toString('hex').toUpperCase()), 'the database holds the token only as a hash');
  });
});

t.test('rate limits: per token, and failed authentications per source address', async (t) => {
  const api = await new ApiGateway('rate_limit_per_minute = 5\nauth_failures_per_minute = 3\nbody_limit_bytes = 2048').start();
  t.teardown(() => api.stop());
  const a = await api.token({ name: 'a', scopes: ['accounts:read', 'accounts:write', 'agents:write'] });
  const b = await api.token({ name: 'b', scopes: ['accounts:read'] });
  t.equal((await api.call('POST', '/v1/accounts', { token: a, body: { name: 'acme' } })).status, 201);
  const big = await api.call('POST', '/v1/accounts/acme/agents', { token: a, body: { name: 'x', instructions: 'y'.repeat(3000) } });
  t.equal(big.status, 413, 'a body over body_limit_bytes');
  t.equal(big.json.code, 'KALEM_ERR_BODY_TOO_LARGE');
  const statuses: number[] = [];
  // The 413 was refused while its body was read, before the limiter: the POST was request 1.
  for (let i = 0; i < 5; i++) statuses.push((await api.call('GET', '/v1/accounts', { token: a })).status);
  t.same(statuses, [200, 200, 200, 200, 429], 'the sixth request of token a in the minute is refused');
  const limited = await api.call('GET', '/v1/accounts', { token: a });
  t.equal(limited.json.code, 'KALEM_ERR_RATE_LIMITED');
  t.match(limited.headers['content-type'], /problem\+json/);
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
  t.equal((await api.call('GET', '/v1/accounts', { token: b })).status, 200, 'token b has its own budget');

  // Failed authentications from one address: three, then that address is refused outright.
  for (let i = 0; i < 3; i++) t.equal((await api.call('GET', '/v1/accounts', { token: `klm_${'x'.repeat(43)}` })).status, 401);
  const blocked = await api.call('GET', '/v1/accounts', { token: b });
  t.equal(blocked.status, 429, 'after 3 failures even a valid token from that address waits');
  t.match(blocked.json.detail, /too many failed authentications/);
  const metrics = await api.call('GET', '/metrics');
  t.match(metrics.text, /kalem_api_auth_failures_total\{reason="unknown"\} 3/, 'failures counted by reason');
});

t.test('pagination: cursors walk a list in order, a forged cursor is refused', async (t) => {
  const api = await new ApiGateway().start();
  t.teardown(() => api.stop());
  const tok = await api.token({ name: 'p', scopes: ['accounts:write', 'agents:read', 'agents:write', 'audit:read'] });
  t.equal((await api.call('POST', '/v1/accounts', { token: tok, body: { name: 'acme' } })).status, 201);
  const names = ['e', 'a', 'd', 'c', 'b'];
  for (const name of names) t.equal((await api.call('POST', '/v1/accounts/acme/agents', { token: tok, body: { name, kind: 'echo' } })).status, 201);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = cursor ? `&cursor=${cursor}` : '';
    const r = await api.call('GET', `/v1/accounts/acme/agents?limit=2${q}`, { token: tok });
    seen.push(...r.json.items.map((x: { name: string }) => x.name));
    cursor = r.json.nextCursor;
    pages++;
  } while (cursor);
  t.same(seen, ['a', 'b', 'c', 'd', 'e']);
  t.equal(pages, 3);
  const audit1 = (await api.call('GET', '/v1/accounts/acme/audit?limit=3', { token: tok })).json;
  const audit2 = (await api.call('GET', `/v1/accounts/acme/audit?limit=3&cursor=${audit1.nextCursor}`, { token: tok })).json;
  const ids = [...audit1.items, ...audit2.items].map((e: { id: number }) => e.id);
  t.same(ids, [...ids].sort((x, y) => y - x), 'audit pages continue newest to oldest');
  t.equal(new Set(ids).size, 6, 'without repeats');
  const forged = await api.call('GET', '/v1/accounts/acme/agents?cursor=bm90LWpzb24', { token: tok });
  t.equal(forged.status, 400);
  t.equal(forged.json.code, 'KALEM_ERR_INVALID_ARGUMENT');
  t.equal((await api.call('GET', '/v1/accounts/acme/agents?limit=0', { token: tok })).status, 400, 'limit below 1');
});

t.test('ops_require_token: /healthz and /metrics need an operator token with metrics:read, on both listeners', async (t) => {
  const api = await new ApiGateway('ops_require_token = true').start();
  t.teardown(() => api.stop());
  const ops = await api.token({ name: 'prometheus', scopes: ['metrics:read'] });
  const other = await api.token({ name: 'other', scopes: ['audit:read'] });
  for (const path of ['/healthz', '/metrics']) {
    t.equal((await api.call('GET', path)).status, 401, `${path} without a token`);
    t.equal((await api.call('GET', path, { token: other })).status, 403, `${path} without the scope`);
    t.equal((await api.call('GET', path, { token: ops })).status, 200, `${path} with metrics:read`);
  }
  // The plain listener on loopback serves the same routes with the same rules.
  const plain = api.gw.daemon.apiAddress()!;
  t.equal(plain.address, '127.0.0.1');
  const get = (path: string, token?: string) =>
    fetch(`http://127.0.0.1:${plain.port}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {}).then(async (r) => ({ status: r.status, body: await r.text() }));
  t.equal((await get('/metrics')).status, 401);
  const m = await get('/metrics', ops);
  t.equal(m.status, 200);
  t.match(m.body, /kalem_calls_total/);
});

t.test('deleting an account over the API erases it as `kalem account delete` does', async (t) => {
  const api = await new ApiGateway().start();
  t.teardown(() => api.stop());
  const op = await api.token({ name: 'op', scopes: ['accounts:read', 'accounts:write', 'audit:read'] });
  const created = await api.call('POST', '/v1/accounts', { token: op, body: { name: 'doomed' } });
  t.equal(created.status, 201);
  const id = created.json.id as string;
  t.equal((await api.call('DELETE', '/v1/accounts/doomed', { token: op })).status, 204);
  t.equal((await api.call('GET', '/v1/accounts/doomed', { token: op })).status, 404, 'gone');
  await api.provision((app) => {
    // The erasure service's own row (counts, never content), written before the account goes:
    // a bare row delete would leave only account.delete.
    const actions = (app.store.db.prepare('SELECT action FROM audit_log WHERE account_id = ? ORDER BY id').all(id) as Array<{ action: string }>).map((r) => r.action);
    t.ok(actions.includes('account.erase'), `erased before deletion (${actions.join(', ')})`);
    t.ok(actions.includes('account.delete'));
  });
});

import t from 'tap';
import { ApiGateway } from './helpers.js';
import { buildTokenService } from '../../src/app/token-service-factory.js';
import { ALL_SCOPES, OPERATOR_ONLY_SCOPES, type Scope } from '../../src/api/tokens/scopes.js';

/**
 * Every route of the admin API (read from the OpenAPI document the daemon serves, so a new route
 * is in the table without editing it) × no token, expired, revoked, wrong scope, and another
 * account's token, against the real daemon over HTTPS.
 */

/**
 * The request got through authentication to the service: 200, or for the recording route (no
 * recording is planted here; the flow test downloads a real one) the service's own 404.
 */
function reached(path: string, r: { status: number; json?: { code?: string } }): boolean {
  return r.status === 200 || (path.endsWith('/recording') && r.status === 404 && r.json?.code === 'KALEM_ERR_NO_RECORDING');
}

const ACCOUNT_SCOPES = ALL_SCOPES.filter((s) => !OPERATOR_ONLY_SCOPES.has(s));

t.test('auth matrix over every route', async (t) => {
  // Every failure below comes from 127.0.0.1: lift the per-source failure limit for this test.
  const api = await new ApiGateway('auth_failures_per_minute = 100000').start();
  t.teardown(() => api.stop());

  const ids: Record<string, string> = {};
  await api.provision((app) => {
    for (const name of ['acme', 'globex']) {
      const a = app.provisioning.createAccount({ name });
      ids[name] = a.id;
      app.provisioning.createAgent(name, { name: 'support', kind: 'echo' });
      app.provisioning.addNumbers(name, 'support', [name === 'acme' ? '+14155550100' : '+14155550200']);
      app.provisioning.addTrunk(name, { name: 'carrier', cidrs: ['192.0.2.0/24'] });
      app.provisioning.setSecret(name, 'openai', new TextEncoder().encode(`sk-${name}`));
    }
    const agent = app.provisioning.agent('acme', 'support');
    app.callRecords.insert({
      id: 'call_matrix1',
      accountId: ids.acme!,
      agentId: agent.id,
      trunkId: null,
      numberE164: '+14155550100',
      sipCallId: 'sip-1',
      fromUri: 'sip:+15550001@192.0.2.1',
      startedAt: new Date().toISOString(),
    });
    app.callRecords.storeTranscript(ids.acme!, 'call_matrix1', [{ role: 'caller', text: 'hello', at: new Date().toISOString() }]);
  });
  const tokens = {
    operator: await api.token({ name: 'op-all', scopes: ALL_SCOPES }),
    acme: await api.token({ name: 'acme-all', account: 'acme', scopes: ACCOUNT_SCOPES }),
    globex: await api.token({ name: 'globex-all', account: 'globex', scopes: ACCOUNT_SCOPES }),
    expired: await api.token({ name: 'op-expired', scopes: ALL_SCOPES, expires: '1m' }),
    revoked: await api.token({ name: 'op-revoked', scopes: ALL_SCOPES }),
    onlyCalls: await api.token({ name: 'op-calls', scopes: ['calls:read'] }),
    onlyAgents: await api.token({ name: 'op-agents', scopes: ['agents:read'] }),
  };
  await api.provision((app) => {
    app.store.db.prepare("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE name = 'op-expired'").run();
  });
  await api.provision((app) => {
    // Revoked the way `kalem token revoke` does it, while the daemon runs.
    buildTokenService(app, 'test').revoke('op-revoked');
  });

  const doc = (await api.call('GET', '/v1/openapi.json')).json;
  const routes: Array<{ method: string; path: string; scope: Scope | null; operatorOnly: boolean; public: boolean }> = [];
  for (const [path, ops] of Object.entries<Record<string, { description?: string }>>(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const m = /^Scope: `([a-z]+:[a-z]+)`( \(operator token\))?/.exec(op.description ?? '');
      routes.push({ method: method.toUpperCase(), path, scope: (m?.[1] as Scope) ?? null, operatorOnly: Boolean(m?.[2]), public: op.description === 'No token needed.' });
    }
  }
  t.ok(routes.length >= 25, `the document lists the routes (${routes.length})`);
  const values: Record<string, string> = { account: ids.acme!, agent: 'support', number: '%2B14155550100', trunk: 'carrier', name: 'openai', callId: 'call_matrix1' };
  const url = (path: string): string => path.replace(/\{(\w+)\}/g, (_m, p: string) => values[p] ?? 'x');

  for (const r of routes) {
    const u = url(r.path);
    const label = `${r.method} ${r.path}`;
    if (r.public) {
      t.equal((await api.call(r.method, u)).status < 400, true, `${label}: public`);
      continue;
    }
    const none = await api.call(r.method, u);
    t.equal(none.status, 401, `${label}: no token → 401`);
    t.equal(none.json?.code, 'KALEM_ERR_UNAUTHENTICATED', `${label}: problem code`);
    t.match(none.headers['content-type'], /^application\/problem\+json/, `${label}: problem+json`);
    t.equal(none.headers['www-authenticate'], 'Bearer realm="kalem"');
    if (r.method === 'GET') t.equal((await api.call('HEAD', u)).status, 401, `HEAD ${r.path}: no token → 401 too`);
    t.equal((await api.call(r.method, u, { token: tokens.expired })).json?.detail, 'the API token has expired', `${label}: expired → 401`);
    t.equal((await api.call(r.method, u, { token: tokens.revoked })).json?.detail, 'the API token has been revoked', `${label}: revoked → 401`);
    const garbage = await api.call(r.method, u, { token: 'klm_' + 'A'.repeat(43) });
    t.equal(garbage.status, 401, `${label}: unknown token → 401`);
    if (r.scope) {
      const wrong = r.scope === 'calls:read' ? tokens.onlyAgents : tokens.onlyCalls;
      const w = await api.call(r.method, u, { token: wrong });
      t.equal(w.status, 403, `${label}: wrong scope → 403`);
      t.equal(w.json?.code, 'KALEM_ERR_FORBIDDEN');
    }
    const other = await api.call(r.method, u, { token: tokens.globex });
    const operatorOnly = r.operatorOnly || (r.scope !== null && OPERATOR_ONLY_SCOPES.has(r.scope));
    if (operatorOnly) {
      t.equal(other.status, 403, `${label}: operator-only → 403 for an account token`);
      t.notMatch(other.text, /acme/, `${label}: the other account is not named`);
    } else if (r.path.includes('{account}')) {
      t.equal(other.status, 404, `${label}: another account's token → 404`);
      t.equal(other.json?.code, 'KALEM_ERR_UNKNOWN_ACCOUNT');
      t.notMatch(other.text, /acme/, `${label}: the other account is not named`);
      // The account token's own account, by "-", works where reading is concerned.
      if (r.method === 'GET') {
        const own = await api.call('GET', url(r.path).replace(ids.acme!, '-'), { token: tokens.acme });
        t.ok(reached(r.path, own), `${label}: own account via "-" → 200 (${own.status} ${own.text.slice(0, 120)})`);
      }
    } else {
      t.equal(other.status, 200, `${label}: account-wide list answers for the token's own account`);
      t.notMatch(other.text, /acme/, `${label}: shows nothing of another account`);
    }
    if (r.method === 'GET') {
      const op = await api.call('GET', u, { token: tokens.operator });
      t.ok(reached(r.path, op), `${label}: operator token with the scope → 200 (${op.status})`);
    }
  }

  // Response schemas filter what leaves the API; they must not drop a field the services return
  // (a field added to the domain later shows up here as a difference).
  const viaService: Record<string, unknown> = {};
  await api.provision((app) => {
    viaService.account = app.provisioning.account('acme');
    viaService.agent = app.provisioning.agent('acme', 'support');
    viaService.trunk = app.provisioning.listTrunks('acme')[0];
    viaService.call = app.callRecords.callRecord('acme', 'call_matrix1');
  });
  const viaApi: Record<string, unknown> = {
    account: (await api.call('GET', '/v1/accounts/acme', { token: tokens.operator })).json,
    agent: (await api.call('GET', '/v1/accounts/acme/agents/support', { token: tokens.operator })).json,
    trunk: (await api.call('GET', '/v1/accounts/acme/trunks', { token: tokens.operator })).json.items[0],
    call: (await api.call('GET', '/v1/accounts/acme/calls/call_matrix1', { token: tokens.operator })).json,
  };
  for (const k of Object.keys(viaService)) t.same(viaApi[k], JSON.parse(JSON.stringify(viaService[k])), `${k}: the API shows what the service returns, field for field`);
});

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ApiGateway } from './helpers.js';
import { KALEM_BIN } from '../helpers/kalem-cli.js';
import { loopbackConfig } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';
import { until } from '../media-e2e/helpers.js';
import { OpenAIRealtimeStandIn } from '../stand-ins/openai-realtime.js';

/**
 * A tenant run entirely through the API: the operator creates the account over HTTPS and an
 * account token with the CLI; the account token provisions agent, key, trunk and number; a SIPp
 * call (through the real managed rtpengine) reaches the agent, whose model is the OpenAI Realtime
 * STAND-IN (test/stand-ins/openai-realtime.ts); the CDR and transcript are read back over the API.
 */
const NUMBER = '+14155550300';

function kalem(configPath: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KALEM_BIN, '-c', configPath, ...args], { encoding: 'utf8', env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '' }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

t.test('operator → account token → provision → SIPp call → CDR and transcript over the API', async (t) => {
  const plantedKey = `sk-proj-PLANTED${randomBytes(12).toString('hex')}`;
  const standIn = await OpenAIRealtimeStandIn.start({ apiKey: plantedKey, defaultResponse: { kind: 'audio', source: 'tone', durationMs: 800, transcript: 'Hello, ACME here.' } });
  t.teardown(() => standIn.close());
  const api = await new ApiGateway('', loopbackConfig('', `[realtime]\nbase_url = "ws://127.0.0.1:${standIn.port}/v1/realtime"\nconnect_timeout_ms = 3000\n`)).start();
  t.teardown(() => api.stop());
  const cfg = api.gw.configPath;

  // The operator's token, made with the CLI on the box; printed once on stdout.
  const op = kalem(cfg, ['token', 'create', 'ops', '--operator', '--scope', 'accounts:read,accounts:write', '--expires', '1d']);
  t.equal(op.code, 0, op.stderr);
  const opToken = op.stdout.trim();
  t.match(opToken, /^klm_[A-Za-z0-9_-]{43}$/, 'klm_ + 256 bits in base64url');
  t.match(op.stderr, /only time it is shown/);

  const created = await api.call('POST', '/v1/accounts', { token: opToken, body: { name: 'acme', maxConcurrentCalls: 5 } });
  t.equal(created.status, 201, created.text);
  const accountId = created.json.id as string;

  const acct = kalem(cfg, [
    'token', 'create', 'acme-ci', '--account', 'acme',
    '--scope', 'agents:write,numbers:write,trunks:write,secrets:write,secrets:read,calls:read,transcripts:read,recordings:read,audit:read,erasure:write,usage:read',
  ]);
  t.equal(acct.code, 0, acct.stderr);
  const token = acct.stdout.trim();
  const list = kalem(cfg, ['--json', 'token', 'list']);
  const listed = JSON.parse(list.stdout) as Array<{ name: string; accountId: string | null; scopes: string[]; expiresAt: string | null }>;
  t.same(listed.map((x) => [x.name, x.accountId]), [['ops', null], ['acme-ci', accountId]], 'token list: names and accounts');
  t.notMatch(list.stdout, /klm_/, 'token list never shows a token');

  const agent = await api.call('POST', '/v1/accounts/-/agents', {
    token,
    body: { name: 'assistant', kind: 'realtime', instructions: 'You answer the phone for ACME.', firstWords: 'Hello, ACME here.', recording: true },
  });
  t.equal(agent.status, 201, agent.text);
  t.equal(agent.json.accountId, accountId, "the account token's account is implied");
  const secret = await api.call('POST', '/v1/accounts/-/secrets', { token, body: { name: 'openai', value: plantedKey } });
  t.same([secret.status, secret.json], [201, { name: 'openai', version: 1, createdAt: secret.json?.createdAt }], 'stored; the value is not returned');
  t.equal((await api.call('POST', '/v1/accounts/-/trunks', { token, body: { name: 'carrier', cidrs: ['127.0.0.1/32'] } })).status, 201);
  const numbers = await api.call('POST', '/v1/accounts/-/numbers', { token, body: { agent: 'assistant', numbers: ['+1 (415) 555-0300'] } });
  t.same(numbers.json.items.map((n: { e164: string }) => n.e164), [NUMBER], 'normalised by the same service as the CLI');

  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${api.gw.port('udp')}`, transport: 'u1', service: NUMBER, pauseMs: 4000, timeoutS: 30 });
  t.equal(run.code, 0, `SIPp call: ${run.errors}`);

  let calls: { items: Array<{ id: string; endReason: string | null; numberE164: string; hasTranscript: boolean }> } = { items: [] };
  await until('the CDR over the API', async () => {
    calls = (await api.call('GET', `/v1/accounts/-/calls?number=${encodeURIComponent(NUMBER)}&outcome=answered`, { token })).json;
    return calls.items.length === 1 && calls.items[0]!.endReason !== null && calls.items[0]!.hasTranscript;
  });
  const cdr = calls.items[0]!;
  t.equal(cdr.endReason, 'remote-bye');
  t.equal((await api.call('GET', `/v1/accounts/-/calls?outcome=unanswered`, { token })).json.items.length, 0, 'the outcome filter');
  const transcript = await api.call('GET', `/v1/accounts/-/calls/${cdr.id}/transcript`, { token });
  t.equal(transcript.status, 200);
  t.ok(transcript.json.turns.some((x: { role: string; text: string }) => x.role === 'agent' && x.text.includes('ACME')), 'the agent turn');
  t.equal(transcript.headers['cache-control'], 'no-store');

  t.equal(cdr.hasTranscript, true);
  t.match(cdr, { fromUri: /^sip:\+14155550999@/ }, 'the caller, opened for the reader (stored sealed)');

  // The recording, decrypted as it streams.
  await until('the recording row finished', async () => (await api.call('GET', `/v1/accounts/-/calls/${cdr.id}`, { token })).json.hasRecording === true);
  const wav = await api.callBytes(`/v1/accounts/-/calls/${cdr.id}/recording`, token);
  t.equal(wav.status, 200);
  t.equal(wav.headers['content-type'], 'audio/wav');
  t.equal(wav.body.subarray(0, 4).toString('latin1'), 'RIFF');
  t.equal(wav.body.subarray(8, 12).toString('latin1'), 'WAVE');
  t.equal(wav.body.readUInt32LE(4), 0xffffffff, 'streamed WAV: sizes unknown up front');
  t.equal(wav.body.readUInt16LE(22), 2, 'stereo (caller left, agent right)');
  const rate = wav.body.readUInt32LE(24);
  const seconds = (wav.body.length - 44) / (rate * 4);
  t.ok(seconds > 3 && seconds < 8, `${seconds.toFixed(1)} s of audio at ${rate} Hz`);

  // The caller asks to be forgotten: one call erases their transcripts and caller fields.
  const erased = await api.call('POST', '/v1/accounts/-/erasures', { token, body: { caller: '+14155550999' } });
  t.equal(erased.status, 200, erased.text);
  t.match(erased.json, { totals: { calls: 1, transcripts: 1, recordings: 1, callerFields: 1 } });
  t.notMatch(erased.text, /14155550999/, 'the answer does not repeat the number');
  const afterErasure = (await api.call('GET', `/v1/accounts/-/calls/${cdr.id}`, { token })).json;
  t.same([afterErasure.hasTranscript, afterErasure.fromUri], [false, null], 'the CDR stays, without transcript or caller');
  t.equal((await api.call('GET', `/v1/accounts/-/calls/${cdr.id}/transcript`, { token })).status, 404, 'the transcript is gone');
  const gone = await api.call('GET', `/v1/accounts/-/calls/${cdr.id}/recording`, { token });
  t.same([gone.status, gone.json?.code], [404, 'KALEM_ERR_NO_RECORDING'], 'and the recording');
  const usage = await api.call('GET', '/v1/accounts/-/usage', { token });
  t.equal(usage.status, 200, usage.text);
  t.equal(usage.json.totals.calls, 1, 'usage remains after erasure');
  t.ok(usage.json.calls[0].billableSeconds >= 3, `billable seconds kept (${usage.json.calls[0].billableSeconds})`);
  t.notMatch(usage.text, /14155550999/, 'usage holds no caller');

  const audit = (await api.call('GET', '/v1/accounts/-/audit?limit=50', { token })).json.items as Array<{ actor: string; action: string; target: string }>;
  const tokenId = listed.find((x) => x.name === 'acme-ci') as unknown as { id: string };
  const actor = `api-token:${tokenId.id}:acme-ci`;
  for (const action of ['agent.create', 'secret.set', 'trunk.add', 'number.add', 'call.transcript.read', 'call.recording.read', 'caller.erase']) {
    t.ok(audit.some((e) => e.action === action && e.actor === actor), `${action} audited with the token as actor`);
  }
  t.ok(audit.some((e) => e.action === 'account.create' && e.actor.startsWith('api-token:') && e.actor.endsWith(':ops')), 'the operator token created the account');

  // Revocation takes effect on the next request.
  t.equal(kalem(cfg, ['token', 'revoke', 'acme-ci']).code, 0);
  const after = await api.call('GET', '/v1/accounts/-/calls', { token });
  t.equal(after.status, 401);
  t.equal(after.json.detail, 'the API token has been revoked');

  t.notOk(api.gw.logs.join('\n').includes(plantedKey), 'the planted OpenAI key appears in no log line');
  t.notOk(api.gw.logs.join('\n').includes(token.slice(4)), 'nor the token');
  t.notOk(api.gw.logs.join('\n').includes('14155550999'), "nor the caller's number");
});

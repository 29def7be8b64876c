/**
 * RealtimeClient against the OpenAI Realtime STAND-IN (test/stand-ins/openai-realtime.ts), not the
 * real API: every event the client sends is validated there against the openai package's types,
 * and each test ends by asserting the stand-in saw no protocol violation.
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { ResponseFunctionCallArgumentsDoneEvent } from 'openai/resources/realtime/realtime';
import { systemClock } from '../../src/core/clock.js';
import { RealtimeClient, type ToolCall } from '../../src/realtime/realtime-client.js';
import { isRealtimeError, RealtimeError } from '../../src/realtime/realtime-error.js';
import { ReconnectPolicy, reconnectWithPolicy } from '../../src/realtime/reconnect-policy.js';
import { buildSessionConfig, type RealtimeSessionConfig } from '../../src/realtime/session-config.js';
import { PlayoutLedger } from '../../src/realtime/barge-in.js';
import { OpenAIRealtimeStandIn, tone } from '../stand-ins/openai-realtime.js';
import { agent, keyBytes, next, pcmBytes } from './helpers.js';

const KEY = 'sk-test-realtime-client-0123456789';

async function setup(t: Test, options: Partial<ConstructorParameters<typeof OpenAIRealtimeStandIn>[0]> = {}) {
  const standIn = await OpenAIRealtimeStandIn.start({ apiKey: KEY, ...options });
  const client = new RealtimeClient({ pingIntervalMs: 0 });
  t.teardown(async () => {
    await client.close();
    await standIn.close();
  });
  const connect = async (): Promise<void> => {
    const key = keyBytes(KEY);
    try {
      await client.connect({ url: standIn.url(), apiKey: key, timeoutMs: 3000 });
    } finally {
      key.fill(0);
    }
  };
  return { standIn, client, connect };
}

/** A session with server VAD off, so audio tests see no VAD-driven responses. */
function quietSession(over: Partial<RealtimeSessionConfig> = {}): RealtimeSessionConfig {
  const s = buildSessionConfig(agent());
  return { ...s, audio: { ...s.audio, input: { ...s.audio?.input, turn_detection: null } }, ...over };
}

t.test('connect, then session.update is accepted by the validating stand-in', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  t.equal(client.state, 'open');
  t.equal(standIn.upgrades[0]?.authorized, true, 'Authorization: Bearer <key> reached the server');
  const cfg = buildSessionConfig(agent({ instructions: 'Be terse.', voice: 'cedar' }));
  const updated = await client.updateSession(cfg);
  const s = updated.session;
  t.equal(s.type, 'realtime');
  if (s.type === 'realtime') {
    t.equal(s.instructions, 'Be terse.');
    t.same(s.audio?.output?.voice, 'cedar');
    t.same(s.tools?.map((x) => ('name' in x ? x.name : '')), ['end_call', 'send_dtmf']);
  }
  t.equal(standIn.latest.received[0]?.type, 'session.update');
  t.same(standIn.violations, []);
});

t.test('a malformed event is caught by the stand-in validator and refused', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  // Through the client: a pre-GA field at the top of the session (voice moved to audio.output).
  const bad = { ...buildSessionConfig(agent()), voice: 'alloy' } as unknown as RealtimeSessionConfig;
  const err = await client.updateSession(bad).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRealtimeError(err, 'protocol'), 'updateSession rejects with the server error naming its event');
  t.equal((err as RealtimeError).retryable, false);
  t.match(standIn.violations[0] ?? '', /event\.session\.voice: unknown field/);

  // On a raw socket: an unknown event type and a mistyped field.
  const ws = new WebSocket(standIn.url(), { headers: { Authorization: `Bearer ${KEY}` } });
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 42 }));
  ws.send(JSON.stringify({ type: 'conversation.item.truncate', item_id: 'x', content_index: 0, audio_end_ms: -5 }));
  ws.send(JSON.stringify({ type: 'session.reticulate' }));
  await standIn.waitFor(() => standIn.violations.length >= 4, 3000, 'three more violations');
  ws.terminate();
  t.match(standIn.violations[1] ?? '', /event\.audio: expected base64 string, got number/);
  t.match(standIn.violations[2] ?? '', /audio_end_ms: -5 is outside/);
  t.match(standIn.violations[3] ?? '', /unknown or unmodelled client event type "session.reticulate"/);
});

t.test('401 on upgrade → auth error, not retryable', async (t) => {
  const { standIn, client } = await setup(t);
  const key = keyBytes('sk-wrong-key-0000');
  const err = await client.connect({ url: standIn.url(), apiKey: key, timeoutMs: 3000 }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRealtimeError(err, 'auth'), 'kind auth');
  t.equal((err as RealtimeError).retryable, false);
  t.equal((err as RealtimeError).status, 401);
  t.equal((err as RealtimeError).serverCode, 'invalid_api_key');
  t.equal((err as RealtimeError).code, 'KALEM_ERR_REALTIME_AUTH');
  t.notMatch((err as Error).message, /sk-wrong/, 'the body quoting the key is not in the message');
  t.equal(client.state, 'disconnected');
  const policy = new ReconnectPolicy({ initialDelayMs: 1, jitter: 0 });
  t.equal(policy.delayFor(1, err, 0), null, 'the reconnect policy never retries a refused key');
});

t.test('429 on upgrade → quota error', async (t) => {
  const { standIn, connect } = await setup(t);
  standIn.refuseUpgrades({ status: 429, code: 'insufficient_quota' });
  const err = await connect().then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRealtimeError(err, 'quota'));
  t.equal((err as RealtimeError).retryable, false, 'an exhausted quota does not clear by retrying');
  t.equal((err as RealtimeError).serverCode, 'insufficient_quota');

  standIn.refuseUpgrades({ status: 429, code: 'rate_limit_exceeded', retryAfterS: 0.05 });
  const rl = await connect().then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRealtimeError(rl, 'quota'));
  t.equal((rl as RealtimeError).retryable, true, 'a rate limit with Retry-After may clear');
  t.equal((rl as RealtimeError).retryAfterMs, 50);
});

t.test('network failure and silent server → retryable errors within the timeout', async (t) => {
  const client = new RealtimeClient({ pingIntervalMs: 0 });
  t.teardown(() => client.close());
  // A port nobody listens on.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const refused = await client.connect({ url: `ws://127.0.0.1:${deadPort}/v1/realtime`, apiKey: keyBytes(KEY), timeoutMs: 2000 }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isRealtimeError(refused, 'network'));
  t.equal((refused as RealtimeError).retryable, true);

  // A server that accepts TCP and never answers the upgrade.
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const started = performance.now();
  const timedOut = await client
    .connect({ url: `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/realtime`, apiKey: keyBytes(KEY), timeoutMs: 300 })
    .then(
      () => null,
      (e: unknown) => e,
    );
  const took = performance.now() - started;
  t.ok(isRealtimeError(timedOut, 'timeout'));
  t.equal((timedOut as RealtimeError).retryable, true);
  t.ok(took >= 290 && took < 2000, `gave up after ${took.toFixed(0)} ms`);
});

t.test('dropped socket → retryable disconnect; the reconnect policy reconnects within its budget', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  await client.updateSession(quietSession());
  const dropped = next(client, 'disconnected');
  standIn.dropAll();
  const [err] = await dropped;
  t.equal(err.kind, 'network');
  t.equal(err.retryable, true);
  t.equal(client.state, 'disconnected');
  t.equal(client.appendAudio(new Uint8Array(960)), false, 'audio is dropped, not queued, while disconnected');

  // The first two attempts meet a 503; the third gets through.
  standIn.refuseUpgrades({ status: 503, times: 2 });
  const policy = new ReconnectPolicy({ initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 4, budgetMs: 3000, jitter: 0 });
  const retries: number[] = [];
  const started = performance.now();
  await reconnectWithPolicy(err, () => connect(), { policy, clock: systemClock, onRetry: (_n, d) => retries.push(d) });
  const took = performance.now() - started;
  t.same(retries, [20, 40, 80], 'exponential backoff');
  t.ok(took < policy.budgetMs, `reconnected after ${took.toFixed(0)} ms`);
  t.equal(client.state, 'open');
  t.equal(standIn.connections.length, 2);
  t.same(standIn.upgrades.map((u) => u.refusedWith), [null, 503, 503, null]);
  await client.updateSession(quietSession());
  t.same(standIn.violations, []);
});

t.test('the reconnect policy gives up when its budget runs out', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  const dropped = next(client, 'disconnected');
  standIn.dropAll();
  const [err] = await dropped;
  standIn.refuseUpgrades({ status: 503 });
  const policy = new ReconnectPolicy({ initialDelayMs: 10, maxAttempts: 3, budgetMs: 2000, jitter: 0 });
  let attempts = 0;
  const final = await reconnectWithPolicy(
    err,
    () => {
      attempts++;
      return connect();
    },
    { policy, clock: systemClock },
  ).then(
    () => null,
    (e: unknown) => e,
  );
  t.equal(attempts, 3);
  t.ok(isRealtimeError(final, 'server'));
  t.equal((final as RealtimeError).status, 503);
});

t.test('a half-open socket is found by the missing pong and dropped', async (t) => {
  const standIn = await OpenAIRealtimeStandIn.start({ apiKey: KEY });
  const client = new RealtimeClient({ pingIntervalMs: 100 });
  t.teardown(async () => {
    await client.close();
    await standIn.close();
  });
  await client.connect({ url: standIn.url(), apiKey: keyBytes(KEY), timeoutMs: 3000 });
  // Two pings answered with pongs: the socket stays.
  await standIn.latest.waitForPings(3, 3000);
  t.equal(client.state, 'open', 'answered pings keep the session');
  const started = performance.now();
  standIn.latest.freeze();
  const [err] = await next(client, 'disconnected', 2000);
  const took = performance.now() - started;
  t.equal(err.kind, 'network');
  t.equal(err.retryable, true);
  t.ok(took < 400, `dropped ${took.toFixed(0)} ms after the peer went silent (two ping intervals at most)`);
});

t.test('close() while connecting rejects the connect as closed', async (t) => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const client = new RealtimeClient({ pingIntervalMs: 0 });
  const connecting = client.connect({ url: `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, apiKey: keyBytes(KEY), timeoutMs: 5000 });
  await new Promise((r) => setTimeout(r, 50));
  const rejected = t.rejects(connecting, { code: 'KALEM_ERR_REALTIME_CLOSED' });
  await client.close();
  await rejected;
  t.equal(client.state, 'closed');
});

t.test('session limit: the server ends the session → retryable session_limit', async (t) => {
  const { client, connect } = await setup(t, { sessionLimitMs: 150 });
  await connect();
  const [err] = await next(client, 'disconnected', 3000);
  t.equal(err.kind, 'session_limit');
  t.equal(err.retryable, true);
  t.equal(err.serverCode, 'session_expired');
});

t.test('1 s of PCM16 appended arrives with the right duration and level', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  await client.updateSession(quietSession());
  const second = tone(24000, 1000, 440, -20);
  for (let i = 0; i < 50; i++) t.equal(client.appendAudio(pcmBytes(second.subarray(i * 480, (i + 1) * 480))), true, `frame ${i}`, { diagnostic: false });
  const conn = standIn.latest;
  await standIn.waitFor(() => conn.audio.samples >= 24000, 3000, '1 s of audio');
  t.equal(conn.audio.bytes, 48000);
  t.equal(conn.audio.durationMs, 1000);
  // A sine's RMS is its peak − 3.01 dB.
  t.ok(Math.abs(conn.audio.rmsDbfs - -23.01) < 0.2, `rms ${conn.audio.rmsDbfs.toFixed(2)} dBFS`);
  t.ok(Math.abs(conn.audio.peakDbfs - -20) < 0.1, `peak ${conn.audio.peakDbfs.toFixed(2)} dBFS`);
  t.equal(client.stats.appendedBytes, 48000);
  t.equal(conn.received.filter((e) => e.type === 'input_audio_buffer.append').length, 50);
  t.same(standIn.violations, []);
});

t.test('G.711 pass-through: 1 s of μ-law arrives as 1 s at 8 kHz', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  const cfg = buildSessionConfig(agent({ audioMode: 'g711' }), { carrierCodec: 'PCMU' });
  const s = { ...cfg, audio: { ...cfg.audio, input: { ...cfg.audio?.input, turn_detection: null } } };
  await client.updateSession(s);
  t.equal(standIn.latest.inputFormat, 'audio/pcmu');
  const { ulawEncode } = await import('../../src/media/codecs/reference/g711.js');
  const mulaw = ulawEncode(tone(8000, 1000, 440, -20));
  for (let i = 0; i < 50; i++) client.appendAudio(mulaw.subarray(i * 160, (i + 1) * 160));
  await standIn.waitFor(() => standIn.latest.audio.samples >= 8000, 3000, '1 s of μ-law');
  t.equal(standIn.latest.audio.bytes, 8000);
  t.equal(standIn.latest.audio.durationMs, 1000);
  t.ok(Math.abs(standIn.latest.audio.rmsDbfs - -23) < 0.5, `rms ${standIn.latest.audio.rmsDbfs.toFixed(2)} dBFS (μ-law quantised)`);
  t.same(standIn.violations, []);
});

t.test('a loud segment → speech_started / speech_stopped, a transcript, and an answer in audio', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  await client.updateSession(
    buildSessionConfig(agent({ turnDetection: { type: 'server_vad', threshold: 0.5, prefixPaddingMs: 100, silenceDurationMs: 300 } })),
  );
  const started = next(client, 'input_audio_buffer.speech_started');
  const stopped = next(client, 'input_audio_buffer.speech_stopped');
  const transcribed = next(client, 'conversation.item.input_audio_transcription.completed');
  const done = next(client, 'response.done');
  const deltas: Buffer[] = [];
  client.on('response.output_audio.delta', (ev) => deltas.push(Buffer.from(ev.delta, 'base64')));
  const audio = new Int16Array(24000 * 1.5);
  audio.set(tone(24000, 600, 300, -15), 24000 * 0.5); // 500 ms silence, 600 ms speech, 400 ms silence
  for (let i = 0; i < audio.length; i += 480) client.appendAudio(pcmBytes(audio.subarray(i, i + 480)));

  const [s] = await started;
  t.equal(s.audio_start_ms, 400, 'onset at 500 ms less 100 ms prefix padding');
  const [e] = await stopped;
  t.equal(e.audio_end_ms, 1400, 'speech ended at 1100 ms, plus 300 ms silence duration');
  t.equal(e.item_id, s.item_id);
  const [tr] = await transcribed;
  t.equal(tr.item_id, s.item_id);
  t.match(tr.transcript, /ms of caller audio/);
  const seg = standIn.latest.segments[0];
  t.equal(seg?.startMs, 500);
  t.equal(seg?.endMs, 1100);
  t.ok(seg !== undefined && Math.abs(seg.rmsDbfs - -18) < 0.5, 'segment level recorded');

  const [d] = await done;
  t.equal(d.response.status, 'completed');
  const bytes = deltas.reduce((n, b) => n + b.length, 0);
  t.equal(bytes, 24000 * 0.6 * 2, '600 ms of PCM16 24 kHz came back as output_audio deltas');
  t.same(standIn.violations, []);
});

t.test('G.711 pass-through turn: μ-law VAD, and the caller turn echoed back in μ-law', async (t) => {
  const { standIn, client, connect } = await setup(t, { defaultResponse: { kind: 'audio', source: 'echo', transcript: 'echo' } });
  await connect();
  await client.updateSession(
    buildSessionConfig(agent({ audioMode: 'g711', turnDetection: { type: 'server_vad', threshold: 0.5, prefixPaddingMs: 0, silenceDurationMs: 200 } }), {
      carrierCodec: 'PCMU',
      transcription: null,
    }),
  );
  const { ulawEncode, ulawDecode } = await import('../../src/media/codecs/reference/g711.js');
  const pcm = new Int16Array(8000 * 1.1);
  pcm.set(tone(8000, 500, 300, -15), 8000 * 0.3); // 300 ms silence, 500 ms speech, 300 ms silence
  const sent = ulawEncode(pcm);
  const started = next(client, 'input_audio_buffer.speech_started');
  const stopped = next(client, 'input_audio_buffer.speech_stopped');
  const done = next(client, 'response.done');
  const deltas: Buffer[] = [];
  client.on('response.output_audio.delta', (ev) => deltas.push(Buffer.from(ev.delta, 'base64')));
  for (let i = 0; i < sent.length; i += 160) client.appendAudio(sent.subarray(i, i + 160));
  t.equal((await started)[0].audio_start_ms, 300);
  t.equal((await stopped)[0].audio_end_ms, 1000, 'speech ended at 800 ms, plus 200 ms silence duration');
  await done;
  const echoed = Buffer.concat(deltas);
  t.equal(echoed.length, 8000, 'the 1000 ms turn came back as 8000 μ-law bytes');
  t.same(Array.from(ulawDecode(echoed)), Array.from(ulawDecode(sent.subarray(0, 8000))), 'sample for sample');
  t.same(standIn.violations, []);
});

t.test('response.create → audio deltas and transcript; barge-in truncates to what was sent', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  await client.updateSession(quietSession());
  standIn.queueResponse({ kind: 'audio', source: 'tone', durationMs: 1000, transcript: 'one two three four five' });
  const ledger = new PlayoutLedger(20);
  let itemId = '';
  client.on('response.output_audio.delta', (ev) => {
    itemId = ev.item_id;
    const bytes = Buffer.from(ev.delta, 'base64');
    // 20 ms frames of PCM16 at 24 kHz are 960 bytes; the last may be short.
    for (let o = 0; o < bytes.length; o += 960) ledger.queued(ev.item_id, ev.content_index, (Math.min(960, bytes.length - o) / 960) * 20);
  });
  const transcript = next(client, 'response.output_audio_transcript.done');
  const done = next(client, 'response.done');
  client.createResponse();
  const [tr] = await transcript;
  t.equal(tr.transcript, 'one two three four five');
  await done;
  t.equal(ledger.sentMs(itemId), 0);
  // The pacer sent 17 frames (340 ms) when the caller spoke.
  for (let i = 0; i < 17; i++) ledger.sent(itemId);
  const cut = ledger.truncation();
  t.same(cut, { itemId, contentIndex: 0, audioEndMs: 340, unplayedMs: 660 });
  client.truncate(cut!.itemId, cut!.contentIndex, cut!.audioEndMs);
  const [truncated] = await next(client, 'conversation.item.truncated');
  t.equal(truncated.audio_end_ms, 340);
  t.same(standIn.latest.truncations, [{ itemId, audioEndMs: 340 }]);
  t.same(standIn.violations, []);

  // Truncating past the audio the model sent is what the real API refuses too.
  client.truncate(itemId, 0, 5000);
  await next(client, 'server_error');
  t.match(standIn.violations[0] ?? '', /past the item's 1000 ms/);
});

t.test('function call round trip with sendFunctionOutput', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  await client.updateSession(quietSession());
  const called = next(client, 'response.function_call_arguments.done');
  const callId = standIn.latest.callFunction('end_call', '{"reason":"caller said goodbye"}');
  const [ev, call] = (await called) as [ResponseFunctionCallArgumentsDoneEvent, ToolCall];
  t.equal(ev.call_id, callId);
  t.equal(call.name, 'end_call');
  t.same(JSON.parse(call.arguments), { reason: 'caller said goodbye' });
  t.equal(call.signal.aborted, false);
  t.equal(client.pendingToolCalls, 1);
  // The function call's own response.done may already have passed; wait for the answer's.
  const answered = next(client, 'response.done', 5000, (d) => d.response.output?.[0]?.type === 'message');
  client.sendFunctionOutput(call.callId, JSON.stringify({ ok: true }));
  t.equal(client.pendingToolCalls, 0);
  await standIn.waitFor(() => standIn.latest.functionOutputs.length === 1, 3000, 'function output');
  t.same(standIn.latest.functionOutputs, [{ callId, output: '{"ok":true}' }]);
  const [resp] = await answered;
  t.equal(resp.response.status, 'completed', 'the model went on after the output (response.create)');
  t.throws(() => client.sendFunctionOutput(call.callId, '{}'), TypeError, 'a call is answered once');
  t.same(standIn.violations, []);
});

t.test('pending tool calls are aborted when the socket drops', async (t) => {
  const { standIn, client, connect } = await setup(t);
  await connect();
  const called = next(client, 'response.function_call_arguments.done');
  standIn.latest.callFunction('lookup_order', '{"order":"A-1"}');
  const [, call] = (await called) as [ResponseFunctionCallArgumentsDoneEvent, ToolCall];
  const aborted = new Promise<unknown>((r) => call.signal.addEventListener('abort', () => r(call.signal.reason)));
  standIn.dropAll();
  const reason = await aborted;
  t.ok(isRealtimeError(reason, 'network'), 'the tool sees why it was abandoned');
  t.equal(client.pendingToolCalls, 0);
  await connect();
  t.throws(() => client.sendFunctionOutput(call.callId, '{}'), { code: 'KALEM_ERR_REALTIME_CLOSED' }, 'a late output is refused, not sent to the new session');
  t.same(standIn.latest.functionOutputs, []);
  t.same(standIn.violations, []);
});

t.test('close() is idempotent, rejects waits, and forbids reconnecting', async (t) => {
  const { client, connect } = await setup(t);
  await connect();
  const wait = client.updateSession(quietSession(), 5000).then(
    () => null,
    (e: unknown) => e,
  );
  await Promise.all([client.close(), client.close()]);
  const err = await wait;
  // Either acknowledged before the close or rejected by it; never left hanging.
  t.ok(err === null || isRealtimeError(err, 'closed'));
  t.equal(client.state, 'closed');
  t.throws(() => client.commit(), { code: 'KALEM_ERR_REALTIME_CLOSED' });
  await t.rejects(client.updateSession(quietSession()), { code: 'KALEM_ERR_REALTIME_CLOSED' }, 'a promise API rejects, never throws');
  await t.rejects(connect(), { code: 'KALEM_ERR_REALTIME_CLOSED' });
});

t.test('bad arguments are TypeErrors', async (t) => {
  const client = new RealtimeClient();
  t.throws(() => client.connect({ url: 'http://example.com/', apiKey: keyBytes(KEY) }), TypeError);
  t.throws(() => client.connect({ url: 'ws://127.0.0.1:1/', apiKey: new Uint8Array(0) }), TypeError);
  t.throws(() => client.connect({ url: 'ws://127.0.0.1:1/', apiKey: keyBytes('sk key with spaces') }), /cannot go in an HTTP header/);
  t.throws(() => client.truncate('item', 0, 1.5), TypeError);
  await client.close();
});

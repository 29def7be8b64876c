import t, { type Test } from 'tap';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { FrameClock } from '../../src/media/frame-clock.js';
import { RtpEndpoint } from '../../src/media/rtp-endpoint.js';
import { parseRtp, writeRtp, type RtpPacket } from '../../src/media/rtp/packet.js';
import { encodeTelephoneEvent, parseTelephoneEvent } from '../../src/media/dtmf.js';
import { createCodec } from '../../src/media/codecs/create-codec.js';
import { RealtimeClient } from '../../src/realtime/realtime-client.js';
import { ReconnectPolicy } from '../../src/realtime/reconnect-policy.js';
import { RealtimeBridge } from '../../src/calls/realtime-bridge.js';
import { CallTools } from '../../src/calls/call-tools.js';
import { DEFAULT_AGENT, type Agent } from '../../src/tenancy/model.js';
import { OpenAIRealtimeStandIn, tone } from '../stand-ins/openai-realtime.js';
import { TestCa } from '../helpers/certs.js';
import { WebhookReceiver } from '../tools/webhook-receiver.js';
import { until } from '../media-e2e/helpers.js';

/**
 * The Realtime bridge of one call with real parts around it: the daemon's RTP endpoint on a
 * loopback UDP socket, a second socket playing rtpengine's internal leg (the caller), the shared
 * FrameClock, and the OpenAI Realtime STAND-IN (test/stand-ins; not OpenAI). No SIP here: the
 * SIPp tests in test/realtime-e2e cover the call around it; these measure what the caller hears.
 */

const KEY = 'sk-test-bridge-key';
const WEBHOOK_SECRET = 'whsec-test-bridge';

function agent(over: Partial<Agent> = {}): Agent {
  return {
    ...DEFAULT_AGENT,
    id: 'agt_1',
    accountId: 'acc_1',
    name: 'a',
    createdAt: '',
    updatedAt: '',
    firstWords: null,
    tools: { endCall: true, transferTarget: 'sip:desk@127.0.0.1', webhooks: [] },
    ...over,
  } as Agent;
}

interface Rig {
  bridge: RealtimeBridge;
  standIn: OpenAIRealtimeStandIn;
  /** Agent packets the caller received, with arrival times (performance.now). */
  heard: Array<{ at: number; p: RtpPacket }>;
  hangups: Array<{ cause: string; at: number }>;
  clients: RealtimeClient[];
  /** Sends `ms` of caller audio (a loud tone, or silence) as paced PCMU RTP. */
  speak(ms: number, loud: boolean): Promise<void>;
  sendRaw(p: Parameters<typeof writeRtp>[0]): void;
  referred: string[];
}

async function rig(t: Test, a: Agent, options: { standIn?: ConstructorParameters<typeof OpenAIRealtimeStandIn>[0]; webhook?: { ca: Buffer } } = {}): Promise<Rig> {
  const standIn = await OpenAIRealtimeStandIn.start(options.standIn ?? { apiKey: KEY, defaultResponse: { kind: 'audio', source: 'tone', durationMs: 400 } });
  const frameClock = new FrameClock(systemClock);
  const ours = dgram.createSocket('udp4');
  const caller = dgram.createSocket('udp4');
  ours.bind(0, '127.0.0.1');
  caller.bind(0, '127.0.0.1');
  await Promise.all([once(ours, 'listening'), once(caller, 'listening')]);
  const endpoint = new RtpEndpoint(ours, ours.address().port, () => ours.close(), { frameClock });
  endpoint.configure({
    payloadType: 0,
    clockRate: 8000,
    timestampPerFrame: 160,
    dtmfPayloadType: 101,
    dtmfClockRate: 8000,
    remote: { address: '127.0.0.1', port: caller.address().port },
    sending: true,
    receiving: true,
  });
  const heard: Rig['heard'] = [];
  caller.on('message', (m) => {
    const p = parseRtp(Buffer.from(m));
    if (p) heard.push({ at: performance.now(), p });
  });
  const hangups: Rig['hangups'] = [];
  const clients: RealtimeClient[] = [];
  const referred: string[] = [];
  const log = createLogger({ level: 'silent' });
  const tools = new CallTools({
    clock: systemClock,
    log,
    accountId: 'acc_1',
    callId: 'call_1',
    refer: async (target) => {
      referred.push(target);
      return { status: 603, reason: 'Declined' };
    },
    transferred: () => hangups.push({ cause: 'transferred', at: performance.now() }),
    openWebhookSecret: () => new TextEncoder().encode(WEBHOOK_SECRET),
    wipe: (b) => b.fill(0),
    // The receiver is on 127.0.0.1: a private address, refused unless allowed.
    webhook: { timeoutMs: 3000, maxResponseBytes: 65536, fillerAfterMs: 200, allowPrivateNetworks: true, ...(options.webhook ? { ca: options.webhook.ca } : {}) },
  });
  const bridge = new RealtimeBridge({
    agent: a,
    endpoint,
    codec: 'PCMU',
    clock: systemClock,
    log,
    newClient: () => {
      const c = new RealtimeClient({ clock: systemClock, pingIntervalMs: 0 });
      clients.push(c);
      return c;
    },
    connect: { url: standIn.url(), authScheme: 'bearer', timeoutMs: 3000 },
    openKey: () => new TextEncoder().encode(KEY),
    wipe: (b) => b.fill(0),
    reconnect: new ReconnectPolicy({ maxAttempts: 3, initialDelayMs: 50, budgetMs: 3000, random: () => 0.5 }),
    tools,
    hangup: (cause) => hangups.push({ cause, at: performance.now() }),
    dtmfCollectMs: 300,
  });
  t.teardown(async () => {
    await bridge.close();
    endpoint.close();
    caller.close();
    frameClock.close();
    await standIn.close();
  });
  const pcmu = createCodec('PCMU');
  let seq = 1000;
  let ts = 0;
  const sendRaw = (p: Parameters<typeof writeRtp>[0]): void => {
    caller.send(writeRtp(p), endpoint.port, '127.0.0.1');
  };
  const speak = async (ms: number, loud: boolean): Promise<void> => {
    const pcm = loud ? tone(8000, ms, 300, -10) : new Int16Array(Math.round(ms * 8));
    // The caller's traffic generator: 20 ms packets on a 20 ms timer (what a phone does).
    for (let i = 0; i + 160 <= pcm.length; i += 160) {
      sendRaw({ payloadType: 0, sequenceNumber: seq++ & 0xffff, timestamp: (ts += 160) >>> 0, ssrc: 77, payload: pcmu.encode(pcm.subarray(i, i + 160)) });
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await bridge.prepare();
  bridge.start();
  return { bridge, standIn, heard, hangups, clients, speak, sendRaw, referred };
}

const agentAudio = (r: Rig): Array<{ at: number; p: RtpPacket }> => r.heard.filter((h) => h.p.payloadType === 0);

t.test('barge-in: the agent stops within 40 ms of speech_started and its item is cut to what the caller heard', async (t) => {
  const r = await rig(t, agent());
  const conn = r.standIn.latest;
  let speechStartedAt = 0;
  r.clients[0]!.on('input_audio_buffer.speech_started', () => {
    speechStartedAt = performance.now();
  });
  conn.respond({ kind: 'audio', source: 'tone', durationMs: 4000, transcript: 'one two three four five six seven eight nine ten' });
  await until('agent audio at the caller', () => agentAudio(r).length >= 40, 5000);
  await r.speak(300, true);
  await until('the truncate', () => conn.truncations.length === 1, 3000);
  t.ok(speechStartedAt > 0, 'the gateway got speech_started');
  const after = agentAudio(r).filter((h) => h.at > speechStartedAt && h.at < speechStartedAt + 400);
  const lastMs = after.length === 0 ? 0 : after[after.length - 1]!.at - speechStartedAt;
  t.ok(lastMs <= 40, `the last agent packet arrived ${lastMs.toFixed(1)} ms after speech_started (aim <= 40)`);
  const playedBefore = agentAudio(r).filter((h) => h.at <= speechStartedAt).length;
  const { audioEndMs } = conn.truncations[0]!;
  t.ok(
    Math.abs(audioEndMs - 20 * (playedBefore + after.length)) <= 20,
    `truncated at ${audioEndMs} ms; the caller heard ${playedBefore + after.length} frames (${20 * (playedBefore + after.length)} ms)`,
  );
  t.ok(audioEndMs > 0 && audioEndMs < 4000, 'never past what was sent, never before the first frame');
  t.equal(r.bridge.summary().bargeIns, 1);
  t.same(r.standIn.violations, []);
});

t.test('end_call: the goodbye plays to its last frame, then the call is hung up', async (t) => {
  const r = await rig(t, agent());
  const conn = r.standIn.latest;
  conn.respond({ kind: 'audio', source: 'tone', durationMs: 1000, transcript: 'Goodbye!' });
  conn.callFunction('end_call', '{"reason":"done"}');
  await until('the hang-up', () => r.hangups.length > 0, 5000);
  const audio = agentAudio(r);
  t.equal(r.hangups[0]!.cause, 'end_call');
  t.equal(audio.length, 50, 'all 50 frames of the 1 s goodbye reached the caller');
  t.ok(r.hangups[0]!.at >= audio[audio.length - 1]!.at - 1, 'the hang-up came after the last frame');
  t.same(conn.functionOutputs.map((o) => JSON.parse(o.output).ok), [true]);
  t.same(r.bridge.summary().toolCalls.map((c) => c.name), ['end_call']);
});

t.test('a dropped Realtime socket is survived: reconnect, session and conversation restored, audio flows again', async (t) => {
  const r = await rig(t, agent({ firstWords: 'Hi there.' } as Partial<Agent>));
  const first = r.standIn.latest;
  await until('the first words', () => agentAudio(r).length >= 10, 5000);
  await until('response done', () => first.sentEvents.some((e) => e.type === 'response.done'), 5000);
  first.drop();
  await until('a second session', () => r.standIn.connections.length === 2 && r.standIn.connections[1]!.received.some((e) => e.type === 'session.update'), 5000);
  const second = r.standIn.connections[1]!;
  await r.speak(200, false);
  await until('caller audio on the new session', () => second.audio.bytes > 0, 3000);
  const restored = second.received.filter((e) => e.type === 'conversation.item.create');
  t.ok(restored.length >= 1, 'the conversation so far was replayed');
  t.same(second.session.instructions, first.session.instructions, 'same instructions');
  t.equal(r.hangups.length, 0, 'the call was not ended');
  t.equal(r.bridge.summary().reconnects, 1);
  t.same(r.standIn.violations, []);
});

t.test('the model gone for good (key refused on reconnect): the apology plays, then the call ends', async (t) => {
  const r = await rig(t, agent());
  r.standIn.refuseUpgrades({ status: 401 });
  r.standIn.latest.drop();
  await until('the hang-up', () => r.hangups.length > 0, 8000);
  t.equal(r.hangups[0]!.cause, 'realtime-failed');
  t.ok(agentAudio(r).length >= 45, `the caller heard the ~1.1 s apology tone first (${agentAudio(r).length} frames)`);
});

t.test('quota exhausted mid-call (a failed response, insufficient_quota): the apology plays, then the call ends', async (t) => {
  const r = await rig(t, agent());
  r.standIn.latest.respond({ kind: 'fail', code: 'insufficient_quota' });
  await until('the hang-up', () => r.hangups.length > 0, 8000);
  t.equal(r.hangups[0]!.cause, 'realtime-failed');
  t.ok(agentAudio(r).length >= 45, `the apology tone played first (${agentAudio(r).length} frames)`);
  t.equal(r.bridge.summary().failedWith, 'insufficient_quota');
});

t.test('the server ends the session at its time limit: reconnected, the call goes on', async (t) => {
  const r = await rig(t, agent());
  r.standIn.latest.expire();
  await until('a second session', () => r.standIn.connections.length === 2 && r.standIn.connections[1]!.received.some((e) => e.type === 'session.update'), 5000);
  await r.speak(100, false);
  await until('caller audio on the new session', () => r.standIn.connections[1]!.audio.bytes > 0, 3000);
  t.equal(r.hangups.length, 0);
  t.equal(r.bridge.summary().reconnects, 1);
  t.same(r.standIn.violations, []);
});

t.test('DTMF: keys the caller presses reach the model as one turn; send_dtmf presses keys', async (t) => {
  const r = await rig(t, agent());
  const conn = r.standIn.latest;
  let ts = 50_000;
  let seq = 1;
  for (const digit of [1, 2, 11]) {
    ts += 1600;
    for (const [end, dur] of [[false, 160], [false, 320], [true, 480], [true, 480], [true, 480]] as const)
      r.sendRaw({ payloadType: 101, sequenceNumber: seq++, timestamp: ts, ssrc: 5, payload: encodeTelephoneEvent({ event: digit, end, volume: 10, duration: dur }) });
  }
  await until('the digits item', () => conn.received.some((e) => e.type === 'conversation.item.create'), 3000);
  const item = conn.received.find((e) => e.type === 'conversation.item.create');
  t.match(JSON.stringify(item), /keypad: 12#/, 'one user turn with the digits, sent at "#"');
  conn.callFunction('send_dtmf', '{"digits":"47"}');
  await until('the key presses', () => r.heard.filter((h) => h.p.payloadType === 101).length >= 12, 3000);
  const events = r.heard.filter((h) => h.p.payloadType === 101).map((h) => parseTelephoneEvent(h.p.payload)!.event);
  t.same([...new Set(events)], [4, 7], 'the two keys, in order, as RFC 4733 events');
  t.same(r.standIn.violations, []);
});

t.test('transfer_call that fails: the model is told and the call goes on', async (t) => {
  const r = await rig(t, agent());
  const conn = r.standIn.latest;
  conn.callFunction('transfer_call', '{}');
  await until('the tool output', () => conn.functionOutputs.length === 1, 3000);
  t.same(r.referred, ['sip:desk@127.0.0.1']);
  t.match(conn.functionOutputs[0]!.output, /"ok":false.*603 Declined/);
  t.equal(r.hangups.length, 0);
});

t.test('webhook tool: a signed HTTPS POST, the answer goes back to the model, filler while it waits', async (t) => {
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const receiver = await WebhookReceiver.start(WEBHOOK_SECRET, ca.issueServer('hooks'));
  t.teardown(() => receiver.close());
  const r = await rig(t, agent({ tools: { endCall: true, transferTarget: null, webhooks: [{ name: 'lookup_order', description: 'Find an order', parameters: { type: 'object', properties: { order: { type: 'string' } } }, url: receiver.url('/orders') }] } }), { webhook: { ca: ca.caPem } });
  const slow = receiver.answer;
  receiver.answer = (got) => setTimeout(() => slow(got), 700);
  const conn = r.standIn.latest;
  const before = agentAudio(r).length;
  conn.callFunction('lookup_order', '{"order":"A-42"}');
  await until('the webhook output', () => conn.functionOutputs.length === 1, 5000);
  t.equal(receiver.requests.length, 1);
  t.type(receiver.requests[0]!.verified, 'number', 'the receiver verified the HMAC signature');
  const out = JSON.parse(conn.functionOutputs[0]!.output) as { verified: boolean; received: { arguments: { order: string }; kalem_call_id: string } };
  t.equal(out.verified, true);
  t.equal(out.received.arguments.order, 'A-42');
  t.equal(out.received.kalem_call_id, 'call_1');
  t.ok(agentAudio(r).length - before >= 10, `the caller heard filler while the webhook took 700 ms (${agentAudio(r).length - before} frames)`);
  t.same(r.bridge.summary().toolCalls.map((c) => [c.name, c.ok]), [['lookup_order', true]]);
});

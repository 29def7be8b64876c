import t from 'tap';
import { runSipp, type SippRun } from '../helpers/sipp.js';
import { until } from '../media-e2e/helpers.js';
import { EMBEDDED } from '../helpers/gateway.js';
import { AGENT_NUMBER, realtimeCdrs, realtimeGateway } from './helpers.js';
import { sipToolsSuite } from './sip-tools-suite.js';

/**
 * A carrier call reaches a Realtime agent, end to end: SIPp (Debian sip-tester) as the carrier
 * with RTP from a pcap, the gateway daemon in this process, the REAL rtpengine it manages, and
 * the OpenAI Realtime STAND-IN (a ws server in test/, not OpenAI) checking every event the
 * gateway sends against the `openai` package's types.
 */

function ok(t: Pick<typeof import('tap').default, 'equal'>, run: SippRun, what: string): void {
  t.equal(run.code, 0, `${what}: SIPp reports every call successful${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-3000)}`}`);
}

t.test('SIPp → rtpengine → gateway → stand-in: caller audio reaches the model, the agent answers, the CDR and transcript are kept', async (t) => {
  const { gw, standIn, plantedKey } = await realtimeGateway({ standIn: { defaultResponse: { kind: 'audio', source: 'tone', durationMs: 800, transcript: 'Hello, ACME here.' } } });
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 9000, timeoutS: 40 });
  ok(t, run, 'uac-invite-bye to the realtime agent');
  t.same(standIn.violations, [], 'every event the gateway sent is a valid GA Realtime client event');
  t.equal(standIn.upgrades.length, 1);
  t.equal(standIn.upgrades[0]!.authorized, true, "the socket was opened with the account's own key");
  const conn = standIn.latest;
  t.equal(conn.session.model, 'gpt-realtime');
  t.same(conn.session.audio?.input?.format, { type: 'audio/pcm', rate: 24000 }, 'PCM16 at 24 kHz for a pcm16 agent');
  t.equal(conn.session.instructions, 'You answer the phone for ACME.');
  // SIPp plays its 8 s g711a.pcap once; the call stays up ~9 s, silence is fed after the pcap ends.
  t.ok(conn.audio.durationMs > 7500 && conn.audio.durationMs < 10_500, `the stand-in received ${conn.audio.durationMs.toFixed(0)} ms of caller audio`);
  t.ok(conn.segments.length >= 1, `its VAD found the caller's speech (${conn.segments.length} segments, first at ${conn.segments[0]?.startMs} ms)`);
  t.ok(conn.audio.rmsDbfs > -40, `at a speech level (${conn.audio.rmsDbfs.toFixed(1)} dBFS), not silence or noise`);
  const first = conn.received.find((e) => e.type === 'response.create');
  t.ok(first, 'the first words were asked for at answer');
  await until('the CDR', () => realtimeCdrs(gw).at(-1)?.end_reason !== null && realtimeCdrs(gw).at(-1)?.end_reason !== undefined);
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.equal(cdr.end_reason, 'remote-bye');
  const rt = cdr.details.realtime!;
  t.ok(rt.framesDown >= 40, `the stand-in's audio went out to the caller as RTP (${rt.framesDown} frames)`);
  t.ok(rt.timeToFirstAudioMs !== null && rt.timeToFirstAudioMs < 1000, `first agent audio ${rt.timeToFirstAudioMs} ms after 200 OK`);
  t.ok((cdr.details.media?.sent ?? 0) >= rt.framesDown, 'the RTP endpoint counted them');
  t.ok(rt.framesUp > 250, `caller frames went up (${rt.framesUp})`);
  // SIPp's g711a.pcap is 236 packets of 30 ms (7080 ms); after it, the gateway feeds silence.
  const media = cdr.details.media as unknown as { reorder: { lost: number; concealedMs: number; played: number }; silenceFilled: number };
  t.equal(media.reorder.played, 236, 'every pcap packet went to the model, once, in order');
  t.equal(media.reorder.lost, 0);
  const expectedMs = 7080 + 20 * media.silenceFilled + media.reorder.concealedMs;
  t.ok(Math.abs(conn.audio.durationMs - expectedMs) <= 1, `the stand-in's ${conn.audio.durationMs.toFixed(0)} ms = 7080 ms of speech + ${media.silenceFilled} silence frames after it`);
  t.equal(rt.appendedBytes, conn.audio.bytes, 'every byte the gateway appended reached the stand-in');
  let transcript: Array<{ role: string; text: string }> = [];
  await gw.provision((app) => {
    transcript = app.callRecords.transcript('acme', cdr.id);
  });
  t.ok(transcript.some((x) => x.role === 'agent' && x.text.includes('ACME')), 'the agent turn is in the stored transcript');
  t.ok(transcript.some((x) => x.role === 'caller'), 'and the caller turn (the stand-in transcribes turn lengths)');
  const logs = gw.logs.join('\n');
  t.notOk(logs.includes(plantedKey), 'the planted OpenAI key appears in no log line');
  t.notOk(logs.includes(plantedKey.slice(8, 24)), 'not even a fragment of it');
});

t.test('a key the API refuses (401) gives the carrier 503, and the account audit says why', async (t) => {
  const { gw, standIn, plantedKey } = await realtimeGateway();
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  standIn.refuseUpgrades({ status: 401, code: 'invalid_api_key' });
  const run = await runSipp({ scenario: 'uac-expect-503-over-limit.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, timeoutS: 20 });
  ok(t, run, 'INVITE → 503');
  t.match(run.messages, /SIP\/2\.0 503 Service Unavailable[\s\S]*Retry-After: \d+/, '503 with Retry-After');
  let audit: Array<{ action: string; details: Record<string, unknown> }> = [];
  await gw.provision((app) => {
    audit = app.provisioning.listAudit('acme', 20);
  });
  const refused = audit.find((a) => a.action === 'call.realtime_refused');
  t.ok(refused, 'an audit row for the refusal');
  t.equal(refused?.details['kind'], 'auth');
  t.equal(refused?.details['status'], 401);
  t.equal(realtimeCdrs(gw).at(-1)?.end_reason, 'realtime-auth');
  t.same((realtimeCdrs(gw).at(-1)?.details as { refusal?: unknown }).refusal, { status: 503, why: 'realtime session: auth' }, 'the CDR says why the call was refused');
  t.notOk(gw.logs.join('\n').includes(plantedKey), "the stand-in's 401 body quotes the key; no log line does");
});

sipToolsSuite(t, () => EMBEDDED);

t.test('a g711 agent on a PCMA call: A-law passes straight through to the model and back, no transcoding', async (t) => {
  const { gw, standIn } = await realtimeGateway({
    agent: { audioMode: 'g711' },
    standIn: { defaultResponse: { kind: 'audio', source: 'tone', durationMs: 1000, transcript: 'Hello, ACME here.' } },
  });
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 4000, timeoutS: 30 });
  ok(t, run, 'uac-invite-bye (PCMA offered first)');
  t.same(standIn.violations, []);
  const conn = standIn.latest;
  t.same(conn.session.audio?.input?.format, { type: 'audio/pcma' }, 'the session takes audio/pcma in');
  t.same(conn.session.audio?.output?.format, { type: 'audio/pcma' }, 'and gives audio/pcma out');
  // One byte per sample at 8 kHz: 160 bytes per 20 ms frame, exactly what came in as RTP payload.
  t.equal(conn.audio.bytes, conn.audio.samples, 'one byte per sample: G.711 codes, not PCM16');
  t.ok(conn.audio.durationMs > 3000, `${conn.audio.durationMs.toFixed(0)} ms of caller audio`);
  t.ok(conn.audio.rmsDbfs > -40, 'speech level after the stand-in decodes the A-law: the bytes were not mangled');
  await until('the CDR', () => Boolean(realtimeCdrs(gw).at(-1)?.end_reason));
  const rt = realtimeCdrs(gw).at(-1)!.details.realtime!;
  t.equal(rt.audioFormat, 'pcma');
  t.ok(rt.framesDown >= 45, `the model's A-law went out as RTP (${rt.framesDown} frames)`);
});

t.test('a Realtime socket dropped mid-call is survived: the call carries on on a restored session', async (t) => {
  const { gw, standIn } = await realtimeGateway();
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  let dropped = false;
  standIn.on('received', (conn, ev) => {
    if (!dropped && conn.index === 0 && ev.type === 'input_audio_buffer.append' && conn.audio.durationMs > 1500) {
      dropped = true;
      conn.drop();
    }
  });
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 5000, timeoutS: 30 });
  ok(t, run, 'the call went on to the caller\'s BYE');
  t.equal(dropped, true);
  t.equal(standIn.connections.length, 2, 'one reconnection');
  const second = standIn.connections[1]!;
  t.ok(second.audio.durationMs > 2000, `caller audio flowed on the new session (${second.audio.durationMs.toFixed(0)} ms)`);
  t.ok(second.received.some((e) => e.type === 'conversation.item.create'), 'the conversation so far was replayed into it');
  await until('the CDR', () => Boolean(realtimeCdrs(gw).at(-1)?.end_reason));
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.equal(cdr.end_reason, 'remote-bye');
  t.equal(cdr.details.realtime?.reconnects, 1);
  t.same(standIn.violations, []);
});

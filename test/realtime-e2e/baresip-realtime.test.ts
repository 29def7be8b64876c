import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Baresip, speechWav, CALL_OVER } from '../helpers/baresip.js';
import { TestCa } from '../helpers/certs.js';
import { bestLagCorrelation, envelope, readWavPcm16 } from '../tls/audio-similarity.js';
import { AGENT_NUMBER, realtimeCdrs, realtimeGateway } from './helpers.js';

/**
 * A real SIP user agent over TLS with SRTP (SDES) → the REAL rtpengine → the gateway → the OpenAI
 * Realtime STAND-IN (not OpenAI), which answers each caller turn with that turn's audio echoed.
 * baresip says a sentence (espeak-ng), stays on the line, and records what it hears: its own
 * sentence back through every stage of the bridge (SRTP, μ-law decode, 8→24 kHz, the socket,
 * 24→8 kHz, μ-law encode, pacing, SRTP).
 */

/** Envelope correlation of what was heard with what was said (the echo test's 0.8 minus margin for two resamplings). */
const MIN_CORRELATION = 0.6;

t.test('baresip over TLS + SRTP talks to a Realtime agent and hears its answer', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kalem-rt-baresip-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const cert = ca.issueServer('kalem-gw', ca.dir, 'sip');
  const { gw, standIn, plantedKey } = await realtimeGateway({
    sip: `tls_port = 0\ntls_cert_file = ${JSON.stringify(cert.certFile)}\ntls_key_file = ${JSON.stringify(cert.keyFile)}`,
    agent: { firstWords: null },
    standIn: { defaultResponse: { kind: 'audio', source: 'echo', transcript: 'You said something.' }, vadThresholdDbfs: -35 },
  });
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  // The sentence, then 7 s of silence during which the model's answer (the echo) is heard.
  const speech = await speechWav(work, 'Hello, I would like to check the status of my order, please.', 7);
  const sent = readWavPcm16(speech);
  const baresip = Baresip.start({ cafile: ca.caFile, audioSource: speech, dial: `sip:${AGENT_NUMBER}@127.0.0.1:${gw.port('tls')};transport=tls`, mediaenc: 'srtp-mand', sipTrace: true, maxSeconds: 30 });
  t.teardown(() => baresip.close());
  const end = await baresip.waitFor(CALL_OVER, 30_000).catch((err: Error) => err);
  await baresip.stop();
  t.notOk(end instanceof Error || /session closed/.test(end[0]), `baresip saw the call through${end instanceof Error ? `: ${end.message}` : ''}\n${end instanceof Error ? baresip.tail(60) : ''}`);
  t.match(baresip.cleanLog(), /^m=audio \d+ RTP\/SAVP /m, 'SRTP (RTP/SAVP) on the carrier leg');

  const conn = standIn.latest;
  t.same(standIn.violations, []);
  const seg = conn.segments[0];
  t.ok(seg && seg.endMs !== null, 'the stand-in heard one spoken turn');
  const spokenMs = (sent.samples.length / sent.rate) * 1000 - 7000;
  if (seg && seg.endMs !== null) {
    const turnMs = seg.endMs - seg.startMs;
    t.ok(Math.abs(turnMs - spokenMs) < 700, `the turn lasted ${turnMs} ms; the sentence ${spokenMs.toFixed(0)} ms (plus espeak's pauses)`);
  }
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.ok((cdr.details.realtime?.framesDown ?? 0) > 100, `the answer went out (${cdr.details.realtime?.framesDown} frames)`);

  const { dec } = baresip.dumps();
  t.ok(dec, 'baresip dumped what it heard');
  if (!dec) return;
  const heard = readWavPcm16(dec);
  const frame = sent.rate / 100;
  const said = envelope(sent.samples.subarray(0, Math.round((spokenMs / 1000) * sent.rate)), frame);
  const best = bestLagCorrelation(said, envelope(heard.samples, frame), 1000);
  t.ok(best.value > MIN_CORRELATION, `what baresip heard matches what it said, echoed by the model: ${best.value.toFixed(3)} at lag ${best.lag * 10} ms (threshold ${MIN_CORRELATION})`);
  // baresip's dump holds only decoded frames received, so it starts with the reply: no lag to check.
  t.ok(heard.samples.length / heard.rate > (spokenMs / 1000) * 0.8, `it heard ${(heard.samples.length / heard.rate).toFixed(2)} s of reply`);
  t.notOk(gw.logs.join('\n').includes(plantedKey), 'the planted key is in no log line');
});

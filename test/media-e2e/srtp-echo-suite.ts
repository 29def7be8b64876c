import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Baresip, speechWav, CALL_OVER, offeredSdp, answeredSdp } from '../helpers/baresip.js';
import { TestCa } from '../helpers/certs.js';
import type { EngineUnderTest } from '../helpers/gateway.js';
import { bestLagCorrelation, envelope, readWavPcm16 } from '../tls/audio-similarity.js';
import { cdrs, ECHO, mediaGateway } from './helpers.js';

/**
 * A real SIP user agent calls over TLS with SRTP (SDES), through the REAL rtpengine 10.5 that the
 * daemon manages, to the echo agent on plain RTP behind it, and hears itself. Run on the embedded
 * engine (test/media-e2e/baresip-srtp-echo.test.ts) and on the drachtio engine behind a real
 * drachtio-server, which then terminates TLS (test/drachtio-real/baresip-tls-srtp.test.ts).
 *
 *   baresip ──SIP/TLS──▶ gateway (or drachtio-server ▶ gateway)
 *   baresip ──SRTP (RTP/SAVP, a=crypto)──▶ rtpengine ──plain RTP on 127.0.0.1──▶ echo agent
 *
 * baresip 1.0.0 (Debian) with `mediaenc=srtp-mand` offers RTP/SAVP with a=crypto and drops a
 * call whose answer has no usable key; it speaks a sentence made by espeak-ng and dumps what it
 * decodes. If rtpengine's SRTP towards baresip did not work, baresip could not decrypt the echo
 * and would hear nothing.
 */

/**
 * Envelope (10 ms RMS) correlation the heard audio must reach, as in the plain-RTP TLS test: an
 * echo of the same sentence correlates near 1 (G.711 both ways), another espeak-ng sentence about 0.3.
 */
const MIN_CORRELATION = 0.8;

export function sdesEchoTest(t: Test, engine: () => EngineUnderTest): void {
t.test('baresip over TLS with SRTP (SDES) → rtpengine → echo: baresip hears itself', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kalem-srtp-audio-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const e = engine();
  // The embedded engine terminates TLS itself; drachtio-server does with its own certificate.
  let cafile: string;
  let sip = '';
  if (e.name === 'drachtio') {
    cafile = e.server.caFile!;
  } else {
    const ca = new TestCa();
    t.teardown(() => ca.close());
    const cert = ca.issueServer('kalem-gw', ca.dir, 'sip');
    cafile = ca.caFile;
    sip = `tls_port = 0\ntls_cert_file = ${JSON.stringify(cert.certFile)}\ntls_key_file = ${JSON.stringify(cert.keyFile)}`;
  }
  const { gw, portMin, portMax } = await mediaGateway({ sip, engine: e });
  t.teardown(() => gw.stop());
  const port = gw.port('tls');

  const speech = await speechWav(work, 'Hello, this is the Kalem gateway echo test over secure media. One, two, three, four, five.');
  const sent = readWavPcm16(speech);

  const baresip = Baresip.start({ cafile, audioSource: speech, dial: `sip:${ECHO}@127.0.0.1:${port};transport=tls`, mediaenc: 'srtp-mand', sipTrace: true });
  t.teardown(() => baresip.close());
  const end = await baresip
    .waitFor(CALL_OVER, 25_000)
    .catch((err: Error) => err);
  await baresip.stop();
  const log = baresip.cleanLog();
  t.notOk(
    end instanceof Error || /session closed/.test(end[0]),
    `baresip saw the call through to the 200 for its BYE${end instanceof Error ? `: ${end.message}` : /session closed/.test(end[0]) ? `, but: ${end[0]}\n${baresip.tail(80)}` : ''}`,
  );
  t.match(log, /TLS 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\nINVITE/, 'signalling over TLS');

  // ── the SDP each side saw (baresip's SIP trace) ──
  const invite = offeredSdp(log);
  t.match(invite, /^m=audio \d+ RTP\/SAVP /m, 'baresip offered RTP/SAVP');
  t.match(invite, /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:/m, 'with an SDES key');
  const ok = answeredSdp(log);
  t.match(ok, /^m=audio \d+ RTP\/SAVP 0/m, 'the 200 it got answers RTP/SAVP with PCMU');
  t.match(ok, /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_(80|32) inline:\S+/m, 'and carries rtpengine\'s own SDES key (a=crypto)');
  const answered = Number(/^m=audio (\d+) /m.exec(ok)?.[1]);
  t.ok(answered >= portMin && answered <= portMax, `the media port in the 200 (${answered}) is rtpengine's (${portMin}-${portMax})`);
  const key = (sdp: string): string | undefined => /^a=crypto:\d+ \S+ inline:(\S+)/m.exec(sdp)?.[1];
  t.not(key(ok), key(invite), "rtpengine answered with its own key, not baresip's");

  // ── what the gateway recorded: plain RTP reached the echo agent behind rtpengine ──
  const rows = cdrs(gw);
  t.equal(rows.length, 1, 'one call recorded');
  const cdr = rows[0]!;
  t.ok(cdr.answered_at, 'answered');
  t.equal(cdr.end_reason, 'remote-bye', 'baresip hung up with BYE');
  t.equal(cdr.media?.anchored, true, 'anchored by rtpengine');
  t.equal(cdr.media?.codec, 'PCMU/8000');
  t.ok((cdr.media?.received ?? 0) > 100, `decrypted RTP reached the echo agent (${cdr.media?.received} packets)`);
  t.equal(cdr.media?.sent, cdr.media?.received, 'and every packet went back');
  await gw.daemon.calls.mediaReleased();
  t.same(await gw.daemon.mediaAnchor!.activeSessions(), [], 'rtpengine holds no session afterwards');

  // ── what baresip heard ──
  const { dec } = baresip.dumps();
  t.ok(dec, 'baresip dumped the decoded (received) audio');
  if (!dec) return;
  const heard = readWavPcm16(dec);
  t.ok(heard.samples.length >= sent.samples.length * 0.8, `it heard ${(heard.samples.length / 8000).toFixed(2)} s of the ${(sent.samples.length / 8000).toFixed(2)} s it said`);
  const frame = sent.rate / 100; // 10 ms
  const best = bestLagCorrelation(envelope(sent.samples, frame), envelope(heard.samples, frame), 200); // ±2 s
  t.ok(
    best.value > MIN_CORRELATION,
    `what baresip heard through SRTP and rtpengine correlates with what it said: ${best.value.toFixed(4)} at lag ${best.lag * 10} ms (threshold ${MIN_CORRELATION})`,
  );
});
}

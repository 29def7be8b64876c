import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Baresip, speechWav, CALL_OVER, offeredSdp, answeredSdp } from '../helpers/baresip.js';
import { TestCa } from '../helpers/certs.js';
import { bestLagCorrelation, envelope, readWavPcm16 } from '../tls/audio-similarity.js';
import { cdrs, ECHO, mediaGateway } from './helpers.js';
import { EMBEDDED } from '../helpers/gateway.js';
import { sdesEchoTest } from './srtp-echo-suite.js';

/**
 * A real SIP user agent calls over TLS with SRTP (SDES), through the REAL rtpengine 10.5 that the
 * daemon manages, to the echo agent on plain RTP behind it, and hears itself.
 *
 *   baresip ──SIP/TLS──▶ gateway            baresip ──SRTP (RTP/SAVP, a=crypto)──▶ rtpengine
 *                                           rtpengine ──plain RTP on 127.0.0.1──▶ echo agent
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

sdesEchoTest(t, () => EMBEDDED);

t.test('baresip with DTLS-SRTP → rtpengine → echo: the DTLS handshake is rtpengine\'s, and baresip hears itself', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kalem-dtls-audio-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const cert = ca.issueServer('kalem-gw', ca.dir, 'sip');
  const { gw } = await mediaGateway({
    sip: `tls_port = 0\ntls_cert_file = ${JSON.stringify(cert.certFile)}\ntls_key_file = ${JSON.stringify(cert.keyFile)}`,
  });
  t.teardown(() => gw.stop());
  const speech = await speechWav(work, 'Secure media with a DTLS handshake. Six, seven, eight, nine, ten.');
  const sent = readWavPcm16(speech);
  const baresip = Baresip.start({ cafile: ca.caFile, audioSource: speech, dial: `sip:${ECHO}@127.0.0.1:${gw.port('tls')};transport=tls`, mediaenc: 'dtls_srtp', sipTrace: true });
  t.teardown(() => baresip.close());
  const end = await baresip
    .waitFor(CALL_OVER, 25_000)
    .catch((err: Error) => err);
  await baresip.stop();
  const log = baresip.cleanLog();
  t.notOk(end instanceof Error || /session closed/.test(end[0]), `baresip saw the call through${end instanceof Error ? `: ${end.message}\n${baresip.tail(80)}` : ''}`);
  const invite = offeredSdp(log);
  t.match(invite, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF? /m, 'baresip offered DTLS-SRTP');
  t.match(invite, /^a=fingerprint:sha-\d+ /im, 'with its certificate fingerprint');
  const ok = answeredSdp(log);
  t.match(ok, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF? /m, 'the 200 answers DTLS-SRTP');
  t.match(ok, /^a=fingerprint:sha-\d+ /im, "with rtpengine's own certificate fingerprint");
  const cdr = cdrs(gw).at(-1)!;
  t.equal(cdr.media?.anchored, true);
  t.ok((cdr.media?.received ?? 0) > 100, `decrypted RTP reached the echo agent (${cdr.media?.received} packets)`);
  const { dec } = baresip.dumps();
  t.ok(dec, 'baresip dumped what it heard');
  if (!dec) return;
  const heard = readWavPcm16(dec);
  const frame = sent.rate / 100;
  const best = bestLagCorrelation(envelope(sent.samples, frame), envelope(heard.samples, frame), 200);
  t.ok(best.value > MIN_CORRELATION, `heard through DTLS-SRTP: correlation ${best.value.toFixed(4)} (threshold ${MIN_CORRELATION})`);
});

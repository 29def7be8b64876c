import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Baresip, speechWav, CALL_OVER } from '../helpers/baresip.js';
import { TestCa } from '../helpers/certs.js';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { bestLagCorrelation, envelope, readWavPcm16 } from './audio-similarity.js';

/**
 * A real SIP user agent calls the echo agent over TLS and hears itself.
 *
 * The caller is Debian's baresip 1.0.0 (real, headless; see test/helpers/baresip.ts), the
 * gateway is a real daemon in this process with TLS on an ephemeral port and a certificate from
 * a throwaway CA. baresip speaks a sentence made by espeak-ng, the echo agent sends every RTP
 * packet back, and baresip's decoder-side dump must sound like what it said.
 *
 * Only the signalling is encrypted here: the media is plain RTP/AVP, because SRTP goes through
 * rtpengine, which arrives with issue 4. baresip 1.0.0 does not verify the server certificate
 * (tested by hand: it accepts one from an unrelated CA), so certificate checking is covered by
 * the Node client in tls-signalling.test.ts, not here.
 */

const ECHO = '+14155550100';
/**
 * Envelope (10 ms RMS) correlation the received audio must reach. Measured here: 0.9999 for the
 * echo (G.711 round trip, same order), about 0.3 for a different espeak-ng sentence.
 */
const MIN_CORRELATION = 0.8;

t.test('baresip calls the echo agent over TLS and hears itself', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kalem-bs-audio-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const ca = new TestCa();
  t.teardown(() => ca.close());
  const cert = ca.issueServer('kalem-gw', ca.dir, 'sip');

  const sip = loopbackConfig(`tls_cert_file = ${JSON.stringify(cert.certFile)}\ntls_key_file = ${JSON.stringify(cert.keyFile)}`);
  const gw = new TestGateway(sip.replace('tls_port = -1', 'tls_port = 0'));
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme' });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', [ECHO]);
  });
  await gw.start();
  t.teardown(() => gw.stop());
  const port = gw.port('tls');

  const speech = await speechWav(work, 'Hello, this is the Kalem gateway echo test. One, two, three, four, five.');
  const sent = readWavPcm16(speech);
  t.equal(sent.rate, 8000, 'the speech file is 8 kHz for aufile and PCMU');

  const baresip = Baresip.start({
    cafile: ca.caFile,
    audioSource: speech,
    dial: `sip:${ECHO}@127.0.0.1:${port};transport=tls`,
    sipTrace: true,
  });
  t.teardown(() => baresip.close());

  // The call lasts as long as the speech file; then menu hangs up, and the gateway's 200 to that
  // BYE (seen in baresip's SIP trace) means the call is over on both sides. A call that fails
  // ends in "session closed" instead.
  const end = await baresip.waitFor(CALL_OVER, 20_000).catch((err: Error) => err);
  await baresip.stop();
  const log = baresip.cleanLog();
  t.notOk(end instanceof Error || /session closed/.test(end[0]), `baresip saw the call through to the 200 for its BYE${end instanceof Error ? `: ${end.message}` : /session closed/.test(end[0]) ? `, but: ${end[0]}\n${baresip.tail(80)}` : ''}`);
  t.match(log, /INVITE sip:\+14155550100@127\.0\.0\.1:\d+;transport=tls SIP\/2\.0/, 'baresip sent its INVITE');
  t.match(log, /TLS 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\nINVITE/, 'over TLS');
  t.match(log, /SIP\/2\.0 200 OK/, 'the gateway answered');
  t.match(log, /\nACK sip:/, 'baresip acknowledged the 200');
  t.match(log, /Call with .* terminated/, 'baresip reports the call terminated');

  // ── what the gateway recorded ──
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  const rows = db.prepare('SELECT answered_at, end_reason, hangup_by, details FROM calls').all() as Array<{
    answered_at: string | null;
    end_reason: string;
    hangup_by: string;
    details: string;
  }>;
  db.close();
  t.equal(rows.length, 1, 'one call recorded');
  const cdr = rows[0];
  t.ok(cdr?.answered_at, 'answered (answered_at set)');
  t.equal(cdr?.end_reason, 'remote-bye', 'baresip hung up with BYE');
  const media = (JSON.parse(cdr?.details ?? '{}') as { media?: { received: number; sent: number; codec: string } }).media;
  t.equal(media?.codec, 'PCMU/8000', 'on PCMU, the codec baresip offered');
  t.ok((media?.received ?? 0) > 0, `RTP reached the echo agent (${media?.received} packets)`);
  t.ok((media?.sent ?? 0) > 0, `and was sent back (${media?.sent} packets)`);
  t.equal(gw.daemon.calls.activeCalls, 0, 'no call left behind');

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
    `what baresip heard correlates with what it said: ${best.value.toFixed(4)} at lag ${best.lag * 10} ms (threshold ${MIN_CORRELATION})`,
  );
});

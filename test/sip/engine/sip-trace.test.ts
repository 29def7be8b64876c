import t from 'tap';
import { createLogger } from '../../../src/core/logger.js';
import type { IncomingCall } from '../../../src/sip/sip-engine.js';
import { redactSipText } from '../../../src/sip/trace-redaction.js';
import { UdpPeer, requestText, startEngine } from './engine-harness.js';

/** Issue 10 item 13: `log.sip_trace` prints no SDES key and no digest response. */
const KEY1 = 'PlantedSdesKey1AAAAAAAAAAAAAAAAAAAAAAAAAAA';
const KEY2 = 'PlantedSdesKey2BBBBBBBBBBBBBBBBBBBBBBBBBBB';
const DIGEST = 'feedfacecafe0123456789abcdefplanted';
const SDP = [
  'v=0',
  'o=c 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/SAVP 0',
  `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY1}|2^31|1:1`,
  `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${KEY2}|2^20;inline:${KEY2}x|2^20`,
  'a=key-mgmt:mikey AQAFgM0XflABAAAAAAAAAAAAAAsAyONQ6gAAAAAGEEoo2pee4hp2',
  '',
].join('\r\n');

t.test('the SIP trace redacts a=crypto keys, MIKEY and Authorization, keeps the rest', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => (lines.push(s), true) } as never });
  const s = await startEngine({ log, sipTrace: true });
  t.teardown(() => s.engine.stop());
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const call = new Promise<IncomingCall>((resolve) => s.engine.once('call', resolve));
  peer.send(
    requestText({
      method: 'INVITE',
      callId: 'trace-planted',
      via: { transport: 'UDP', host: '127.0.0.1', port: peer.port },
      body: SDP,
      extra: [`Authorization: Digest username="u", realm="r", nonce="n", uri="sip:x", response="${DIGEST}"`],
    }),
  );
  (await call).reject(404);
  const trace = lines.filter((l) => l.includes('"msg":"sip trace"'));
  t.ok(trace.length > 0, 'the INVITE was traced');
  const all = lines.join('\n');
  for (const secret of [KEY1, KEY2, DIGEST, 'AQAFgM0XflAB']) t.notOk(all.includes(secret), `${secret.slice(0, 16)}… is in no log line`);
  t.match(all, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\[redacted\]/, 'the suite is still shown');
  t.match(all, /inline:\[redacted\];inline:\[redacted\]/, 'every key parameter of a line is redacted');
});

t.test('redactSipText leaves SDP without keys alone', async (t) => {
  const plain = 'v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
  t.equal(redactSipText(plain), plain);
});

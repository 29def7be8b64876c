import t from 'tap';
import { defaultReason } from '../../../src/sip/embedded/transaction/make-response.js';
import type { IncomingCall } from '../../../src/sip/sip-engine.js';
import { OFFER_SDP, UdpPeer, requestText, startEngine } from './engine-harness.js';

/**
 * Every status the engine sends on its own carries its RFC 3261 §21 reason phrase (a 420 used
 * to go out as "420 Error"), checked on the wire for the answers the README lists.
 */
t.test('the engine\'s own answers carry their standard reason phrases', async (t) => {
  const s = await startEngine();
  t.teardown(() => s.engine.stop());
  s.engine.on('call', (c: IncomingCall) => c.reject(404));
  const peer = await UdpPeer.open(s.udpPort);
  t.teardown(() => peer.close());
  const via = { transport: 'UDP' as const, host: '127.0.0.1', port: peer.port };
  const cases: Array<[string, string, number, string]> = [
    ['require', requestText({ method: 'INVITE', callId: 'rp-require', via, body: OFFER_SDP, extra: ['Require: 100rel'] }), 420, 'Bad Extension'],
    ['accept', requestText({ method: 'INVITE', callId: 'rp-accept', via, body: OFFER_SDP, extra: ['Accept: text/plain'] }), 406, 'Not Acceptable'],
    ['scheme', requestText({ method: 'INVITE', callId: 'rp-scheme', via, uri: 'mailto:a@b.example', body: OFFER_SDP }), 416, 'Unsupported URI Scheme'],
    ['body', requestText({ method: 'INVITE', callId: 'rp-body', via, body: 'hello' }).replace('Content-Type: application/sdp', 'Content-Type: text/plain'), 415, 'Unsupported Media Type'],
    ['hops', requestText({ method: 'INVITE', callId: 'rp-hops', via, body: OFFER_SDP }).replace('Max-Forwards: 70', 'Max-Forwards: 0'), 483, 'Too Many Hops'],
    ['method', requestText({ method: 'PUBLISH', callId: 'rp-method', via }), 405, 'Method Not Allowed'],
    ['unknown', requestText({ method: 'FROBNICATE', callId: 'rp-unknown', via }), 501, 'Not Implemented'],
    ['nodialog', requestText({ method: 'BYE', callId: 'rp-nodialog', via, toTag: 'none' }), 481, 'Call/Transaction Does Not Exist'],
  ];
  for (const [name, text, status, reason] of cases) {
    peer.send(text);
    const r = await peer.response((x) => x.status >= 200 && x.headers.get('call-id') === `rp-${name}`, 2000, name);
    t.equal(`${r.status} ${r.reason}`, `${status} ${reason}`, name);
  }
  // OPTIONS with Max-Forwards 0 is answered by us, the UAS it reached (§11), not with 483.
  peer.send(requestText({ method: 'OPTIONS', callId: 'rp-options', via }).replace('Max-Forwards: 70', 'Max-Forwards: 0'));
  const o = await peer.response((x) => x.headers.get('call-id') === 'rp-options', 2000, 'OPTIONS');
  t.equal(`${o.status} ${o.reason}`, '200 OK', 'OPTIONS with Max-Forwards 0 gets 200');
});

t.test('no status we send falls back to "Error"', async (t) => {
  for (const s of [401, 406, 413, 415, 416, 420, 482, 491, 505, 513]) t.not(defaultReason(s), 'Error', String(s));
});

import t from 'tap';
import {
  parseMessage,
  serializeMessage,
  canonicalName,
  SipHeaders,
  type SipMessage,
} from '../../../src/sip/embedded/message/index.js';
import { fixtureNames, loadFixture } from './fixtures.js';

t.test('canonical capitalisation', async (t) => {
  const pairs: Array<[string, string]> = [
    ['call-id', 'Call-ID'],
    ['cseq', 'CSeq'],
    ['www-authenticate', 'WWW-Authenticate'],
    ['max-forwards', 'Max-Forwards'],
    ['record-route', 'Record-Route'],
    ['rseq', 'RSeq'],
    ['mime-version', 'MIME-Version'],
    ['sip-etag', 'SIP-ETag'],
    ['x-kalem-trace', 'X-Kalem-Trace'],
    ['via', 'Via'],
  ];
  for (const [lower, canon] of pairs) t.equal(canonicalName(lower), canon, lower);
});

t.test('a response is written with computed Content-Length', async (t) => {
  const headers = new SipHeaders();
  headers.append('via', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;received=10.0.0.1');
  headers.append('call-id', 'abc');
  headers.append('cseq', '1 INVITE');
  headers.append('content-length', '999');
  headers.append('www-authenticate', 'Digest realm="kalem", nonce="n"');
  const body = Buffer.from([0x76, 0x3d, 0x30, 0x0d, 0x0a, 0x00]);
  const out = serializeMessage({ kind: 'response', status: 401, reason: 'Unauthorized', headers, body });
  const text = out.toString('latin1');
  t.equal(
    text.slice(0, text.indexOf('\r\n\r\n') + 4),
    'SIP/2.0 401 Unauthorized\r\n' +
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;received=10.0.0.1\r\n' +
      'Call-ID: abc\r\n' +
      'CSeq: 1 INVITE\r\n' +
      'WWW-Authenticate: Digest realm="kalem", nonce="n"\r\n' +
      'Content-Length: 6\r\n\r\n',
  );
  t.same(out.subarray(out.length - 6), body, 'binary body copied as is');
});

t.test('header injection and bad start lines are TypeErrors', async (t) => {
  const h = new SipHeaders();
  h.append('subject', 'hi\r\nX-Evil: 1');
  t.throws(() => serializeMessage({ kind: 'response', status: 200, reason: 'OK', headers: h, body: Buffer.alloc(0) }), TypeError);
  const ok = new SipHeaders();
  t.throws(() => serializeMessage({ kind: 'response', status: 200, reason: 'OK\r\nX: y', headers: ok, body: Buffer.alloc(0) }), TypeError);
  t.throws(() => serializeMessage({ kind: 'response', status: 1000, reason: 'OK', headers: ok, body: Buffer.alloc(0) }), TypeError);
  t.throws(() => serializeMessage({ kind: 'request', method: 'IN VITE', uri: 'sip:a', headers: ok, body: Buffer.alloc(0) }), TypeError);
  t.throws(() => serializeMessage({ kind: 'request', method: 'INVITE', uri: 'sip:a b', headers: ok, body: Buffer.alloc(0) }), TypeError);
  const badName = new SipHeaders();
  badName.append('x y', 'v');
  t.throws(() => serializeMessage({ kind: 'request', method: 'INVITE', uri: 'sip:a', headers: badName, body: Buffer.alloc(0) }), TypeError);
});

function comparable(m: SipMessage) {
  return {
    start: m.kind === 'request' ? [m.method, m.uri] : [m.status, m.reason],
    headers: m.headers.list.filter((h) => h.name !== 'content-length').map((h) => [h.name, h.value]),
    body: m.body.toString('hex'),
  };
}

t.test('round trip parse → serialize → parse over every RFC 4475 message that parses', async (t) => {
  let n = 0;
  for (const name of fixtureNames()) {
    let first: SipMessage;
    try {
      first = parseMessage(loadFixture(name));
    } catch {
      continue;
    }
    n++;
    const wire = serializeMessage(first);
    const second = parseMessage(wire);
    t.same(comparable(second), comparable(first), `${name} survives a round trip`);
    t.same(serializeMessage(second), wire, `${name} serializes to the same bytes twice`);
    t.equal(second.headers.get('content-length'), String(first.body.length), `${name} Content-Length matches the body`);
  }
  t.equal(n, 28, 'the 28 fixtures the parser accepts');
});

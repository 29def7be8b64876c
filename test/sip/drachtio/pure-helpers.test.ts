/** The drachtio engine's pure helpers: no sockets, no stand-in. */
import t from 'tap';
import { validateConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/core/logger.js';
import { drachtioOptionsFromConfig } from '../../../src/sip/drachtio/drachtio-engine.js';
import { localAddressOf, transportOf } from '../../../src/sip/drachtio/call-info.js';
import { parseDigestCredentials } from '../../../src/sip/drachtio/digest-credentials.js';
import { headerLines, reasonForServerBye } from '../../../src/sip/drachtio/drachtio-call.js';
import { parseHostports } from '../../../src/sip/drachtio/hostports.js';
import { RawHeaders } from '../../../src/sip/drachtio/raw-headers.js';
import { parseNameAddr, uriUser } from '../../../src/sip/drachtio/sip-address.js';
import { parseSipfragStatus } from '../../../src/sip/drachtio/sipfrag.js';

t.test('digest credentials', async (t) => {
  const d = parseDigestCredentials(
    'proxy-authorization',
    'Digest username="a\\"b", realm="kalem",nonce="n", uri="sip:x@y", response="r", opaque="o", algorithm=SHA-256',
  );
  t.same(d, {
    header: 'proxy-authorization', username: 'a"b', realm: 'kalem', nonce: 'n', uri: 'sip:x@y', response: 'r',
    algorithm: 'SHA-256', qop: null, nc: null, cnonce: null, opaque: 'o',
  });
  t.equal(parseDigestCredentials('authorization', 'Basic dXNlcjpwYXNz'), null, 'other scheme');
  t.equal(parseDigestCredentials('authorization', 'Digest username="a", realm="r", nonce="n", uri="u"'), null, 'no response');
  t.equal(parseDigestCredentials('authorization', 'Digest username="a, realm="r"'), null, 'unterminated quote');
  const dup = parseDigestCredentials('authorization', 'Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x"');
  t.equal(dup?.username, 'a', 'a duplicated parameter cannot override the first');
});

t.test('raw headers: first value, compact forms, folding', async (t) => {
  const raw = 'INVITE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-A: one\r\nx-a: two\r\nSubject: long\r\n  folded\r\ni: cid\r\n\r\nbody: not a header';
  const h = RawHeaders.parse(raw);
  t.equal(h.first('Via'), 'SIP/2.0/UDP h;branch=z9hG4bK1');
  t.equal(h.first('X-A'), 'one');
  t.same(h.all('x-a'), ['one', 'two']);
  t.equal(h.first('subject'), 'long folded');
  t.equal(h.first('Call-ID'), 'cid');
  t.equal(h.first('body'), undefined, 'the body is not headers');
});

t.test('name-addr and URI users', async (t) => {
  t.same(parseNameAddr('"Alice \\"A\\"" <sip:+1555@x.example>;tag=9'), { displayName: 'Alice "A"', uri: 'sip:+1555@x.example' });
  t.same(parseNameAddr('Bob <sips:bob@x>'), { displayName: 'Bob', uri: 'sips:bob@x' });
  t.same(parseNameAddr('sip:c@x;tag=1'), { displayName: null, uri: 'sip:c@x' });
  t.same(parseNameAddr('"a<b" <sip:d@x>'), { displayName: 'a<b', uri: 'sip:d@x' }, '< inside quotes');
  t.equal(uriUser('sip:+4930123@gw;user=phone'), '+4930123');
  t.equal(uriUser('sip:alice:secret@gw'), 'alice', 'password is not the user');
  t.equal(uriUser('sip:%2B4930123@gw'), '+4930123', 'escapes decoded');
  t.equal(uriUser('tel:+4930123;phone-context=+49'), '+4930123');
  t.equal(uriUser('sip:gw.example.net'), null);
  t.equal(uriUser('http://x'), null);
});

t.test('drachtio hostports', async (t) => {
  t.same(parseHostports('udp/10.0.0.5:5060,tcp/10.0.0.5:5060,tls/10.0.0.5:5061,wss/10.0.0.5:8443,tcp/[2001:db8::1]:5060,junk'), [
    { transport: 'udp', address: '10.0.0.5', port: 5060 },
    { transport: 'tcp', address: '10.0.0.5', port: 5060 },
    { transport: 'tls', address: '10.0.0.5', port: 5061 },
    { transport: 'tcp', address: '2001:db8::1', port: 5060 },
  ]);
  t.same(parseHostports(undefined), []);
});

t.test('sipfrag, transports, local address, server BYE reasons', async (t) => {
  t.same(parseSipfragStatus('SIP/2.0 180 Ringing\r\n'), { status: 180, reason: 'Ringing' });
  t.same(parseSipfragStatus('SIP/2.0 603\r\n'), { status: 603, reason: '' });
  t.equal(parseSipfragStatus('INVITE sip:a@b SIP/2.0'), null);
  t.equal(transportOf('TLS'), 'tls');
  t.equal(transportOf('wss'), 'tls');
  t.equal(transportOf('ws'), 'tcp');
  t.equal(transportOf('udp'), 'udp');
  t.equal(localAddressOf('10.1.2.3:5060', 'udp', []), '10.1.2.3');
  t.equal(localAddressOf('[2001:db8::5]:5060', 'udp', []), '2001:db8::5');
  t.equal(localAddressOf(undefined, 'tls', parseHostports('udp/10.0.0.1:5060,tls/10.0.0.2:5061')), '10.0.0.2');
  t.equal(reasonForServerBye('ACK timeout'), 'no-ack');
  t.equal(reasonForServerBye('CANCEL after 200 OK'), 'remote-bye');
  t.equal(reasonForServerBye('Session timer expired'), 'transport-error');
});

t.test('header lines for reject()', async (t) => {
  t.same(headerLines({ 'Retry-After': '5', 'WWW-Authenticate': ['a', 'b'], Empty: [] }), {
    'Retry-After': '5',
    'WWW-Authenticate': 'a\r\nWWW-Authenticate: b',
  });
  t.throws(() => headerLines({ 'X-A': 'x\ny' }), TypeError);
  t.throws(() => headerLines({ 'Bad Name': 'x' }), TypeError);
});

t.test('engine options from the [sip] config keys', async (t) => {
  const config = validateConfig({
    sip: { engine: 'drachtio', drachtio_host: '10.0.0.9', drachtio_port: 9123, drachtio_secret_file: '/etc/kalem/drachtio.secret' },
  });
  const logger = createLogger({ destination: { write: () => undefined } });
  const opts = drachtioOptionsFromConfig(config.sip, logger);
  t.equal(opts.host, '10.0.0.9');
  t.equal(opts.port, 9123);
  t.equal(opts.secretFile, '/etc/kalem/drachtio.secret');
  const defaults = drachtioOptionsFromConfig(validateConfig({}).sip, logger);
  t.same([defaults.host, defaults.port, defaults.secretFile], ['127.0.0.1', 9022, null]);
});

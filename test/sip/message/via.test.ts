import t from 'tap';
import { parseVia, formatVia, SipParseError } from '../../../src/sip/embedded/message/index.js';

t.test('one Via with branch, received and numeric rport', async (t) => {
  const [v, ...rest] = parseVia('SIP/2.0/udp pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5070;ttl=16');
  t.equal(rest.length, 0);
  t.same(
    { protocol: v!.protocol, transport: v!.transport, host: v!.host, port: v!.port, branch: v!.branch, received: v!.received, rport: v!.rport },
    { protocol: 'SIP/2.0', transport: 'UDP', host: 'pc33.atlanta.com', port: 5066, branch: 'z9hG4bK776asdhds', received: '192.0.2.1', rport: 5070 },
  );
  t.equal(v!.params.get('ttl'), '16');
});

t.test('received may hold a bare IPv6 address', async (t) => {
  const [v] = parseVia('SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx;received=2001:db8::9;rport=5060');
  t.equal(v!.received, '2001:db8::9');
  t.equal(formatVia(v!), 'SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx;received=2001:db8::9;rport=5060');
});

t.test('valueless rport is a request for it (RFC 3581)', async (t) => {
  const [v] = parseVia('SIP/2.0/UDP 10.0.0.1;rport;branch=z9hG4bKx');
  t.equal(v!.rport, true);
});

t.test('several values, LWS everywhere, IPv6 sent-by', async (t) => {
  const vs = parseVia('SIP / 2.0 / TCP  host.example.com : 5060 ; branch = z9hG4bKa , SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKb');
  t.same(
    vs.map((v) => [v.transport, v.host, v.port, v.branch]),
    [
      ['TCP', 'host.example.com', 5060, 'z9hG4bKa'],
      ['TLS', '[2001:db8::9]', 5061, 'z9hG4bKb'],
    ],
  );
});

t.test('rejects malformed Via values', async (t) => {
  for (const bad of [
    '',
    'SIP/2.0/UDP',
    'SIP/2.0 host',
    'SIP/2.0/UDPhost',
    'SIP/2.0/UDP host;;branch=x',
    'SIP/2.0/UDP host;branch',
    'SIP/2.0/UDP host;received',
    'SIP/2.0/UDP host;rport=abc',
    'SIP/2.0/UDP host:99999',
    'SIP/2.0/UDP host,',
    'SIP/2.0/UDP host junk',
    'SIP/2.0/UDP [::1',
  ]) {
    t.throws(() => parseVia(bad), SipParseError, JSON.stringify(bad));
  }
});

t.test('formatVia round-trips and writes typed fields', async (t) => {
  const text = 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;maddr=x;received=10.0.0.1;rport=4000';
  const [v] = parseVia(text);
  t.equal(formatVia(v!), text);
  v!.received = '198.51.100.7';
  v!.rport = 61000;
  t.equal(formatVia(v!), 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;maddr=x;received=198.51.100.7;rport=61000');
  t.equal(
    formatVia({ protocol: 'SIP/2.0', transport: 'TCP', host: 'gw.example', params: new Map(), branch: 'z9hG4bK1', rport: true }),
    'SIP/2.0/TCP gw.example;branch=z9hG4bK1;rport',
  );
});

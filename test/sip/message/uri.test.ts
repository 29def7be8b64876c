import t from 'tap';
import { parseUri, formatUri, SipParseError } from '../../../src/sip/embedded/message/index.js';

t.test('sip URI with every part', async (t) => {
  const u = parseUri('sips:alice:secret@Example.COM:5061;transport=tls;lr;maddr=10.0.0.1?subject=hi&priority=urgent');
  t.same(u, {
    kind: 'sip',
    scheme: 'sips',
    user: 'alice',
    password: 'secret',
    host: 'Example.COM',
    port: 5061,
    params: new Map<string, string | null>([
      ['transport', 'tls'],
      ['lr', null],
      ['maddr', '10.0.0.1'],
    ]),
    headers: [
      ['subject', 'hi'],
      ['priority', 'urgent'],
    ],
  });
});

t.test('host forms: name, IPv4, IPv6 reference, no user', async (t) => {
  const a = parseUri('sip:example.com');
  t.equal(a.kind === 'sip' && a.user, undefined, 'no user');
  const b = parseUri('sip:+4930123@192.0.2.7:5080;user=phone');
  t.same(b.kind === 'sip' && [b.user, b.host, b.port, b.params.get('user')], ['+4930123', '192.0.2.7', 5080, 'phone']);
  const c = parseUri('sip:bob@[2001:db8::1]:5060');
  t.same(c.kind === 'sip' && [c.host, c.port], ['[2001:db8::1]', 5060]);
  const e = parseUri('sip:bob@sbc_1.carrier.example');
  t.equal(e.kind === 'sip' && e.host, 'sbc_1.carrier.example', 'underscore tolerated in a host name');
  const d = parseUri('SIP:bob@host');
  t.equal(d.kind === 'sip' && d.scheme, 'sip', 'scheme is case-insensitive');
});

t.test('escapes are resolved in user and password only', async (t) => {
  const u = parseUri('sip:%61lice%20b:p%40ss@host;na%6De=v%61l');
  if (u.kind !== 'sip') throw new Error('kind');
  t.equal(u.user, 'alice b');
  t.equal(u.password, 'p@ss');
  t.equal(u.params.get('na%6de'), 'v%61l', 'params kept as written (name lower-cased)');
});

t.test('tel and other schemes', async (t) => {
  t.same(parseUri('tel:+1-201-555-0123;phone-context=example.com'), {
    kind: 'tel',
    scheme: 'tel',
    number: '+1-201-555-0123',
    params: new Map([['phone-context', 'example.com']]),
  });
  t.same(parseUri('urn:service:sos'), { kind: 'other', scheme: 'urn', opaque: 'service:sos' });
});

t.test('rejects malformed URIs with 400', async (t) => {
  for (const bad of [
    '',
    'sip',
    ':foo',
    '1sip:host',
    'sip:',
    'sip:@host',
    'sip:user@',
    'sip:host:99999',
    'sip:host:abc',
    'sip:ho st',
    'sip:[2001:db8::1',
    'sip:[zz]',
    'sip:host;=x',
    'sip:host;a=',
    'sip:host?x',
    'sip:us"er@host',
    'tel:',
    'tel:12;x y',
    'http:',
    'http://a b',
    '<sip:user@host>',
  ]) {
    t.throws(() => parseUri(bad), SipParseError, JSON.stringify(bad));
  }
  try {
    parseUri('sip:ho st');
  } catch (err) {
    t.equal((err as SipParseError).status, 400);
  }
});

t.test('formatUri writes back what parseUri read, escaping where needed', async (t) => {
  for (const s of [
    'sip:alice@example.com',
    'sips:alice:pw@example.com:5061;transport=tls;lr',
    'sip:[2001:db8::1]:5060;maddr=x?h=v&i=w',
    'tel:+12015550123;phone-context=x',
    'mailto:bob@example.com',
  ]) {
    t.equal(formatUri(parseUri(s)), s, s);
  }
  const u = parseUri('sip:a%20b%00c@host');
  t.equal(formatUri(u), 'sip:a%20b%00c@host', 'space and NUL escaped again');
  t.same(parseUri(formatUri(u)), u, 'and round-trip');
});

import t from 'tap';
import {
  parseNameAddr,
  parseNameAddrList,
  parseContact,
  formatNameAddr,
  tagOf,
  SipParseError,
} from '../../../src/sip/embedded/message/index.js';

t.test('name-addr with quoted display name and tag', async (t) => {
  const na = parseNameAddr('"Alice \\"A\\" Smith" <sip:alice@atlanta.com>;tag=1928301774');
  t.equal(na.displayName, 'Alice "A" Smith');
  t.equal(na.uri, 'sip:alice@atlanta.com');
  t.equal(na.parsedUri.kind, 'sip');
  t.equal(tagOf(na), '1928301774');
});

t.test('token display name, no display name, addr-spec', async (t) => {
  t.equal(parseNameAddr('Bob Smith <sip:bob@b.com>').displayName, 'Bob Smith');
  t.equal(parseNameAddr('<sip:bob@b.com>').displayName, undefined);
  const spec = parseNameAddr('sip:bob@b.com;tag=9;user=phone');
  t.same([spec.uri, tagOf(spec), spec.params.get('user')], ['sip:bob@b.com', '9', 'phone'], 'params after addr-spec are header params');
  const inBrackets = parseNameAddr('<sip:bob@b.com;user=phone>;tag=9');
  t.same([inBrackets.uri, inBrackets.params.has('user')], ['sip:bob@b.com;user=phone', false]);
});

t.test('lists split on top-level commas only', async (t) => {
  const list = parseNameAddrList('"Doe, John" <sip:j@a.com;x=1>;q=0.7, <sip:k@b.com>, sip:l@c.com');
  t.same(
    list.map((n) => [n.displayName, n.uri, n.params.get('q')]),
    [
      ['Doe, John', 'sip:j@a.com;x=1', '0.7'],
      [undefined, 'sip:k@b.com', undefined],
      [undefined, 'sip:l@c.com', undefined],
    ],
  );
  t.equal(parseContact(' * '), '*', 'Contact: *');
});

t.test('rejects malformed addresses with 400', async (t) => {
  for (const bad of [
    '',
    '"unterminated <sip:a@b>',
    '"quoted" sip:a@b',
    '<sip:a@b',
    '< sip:a@b>',
    'Bell, Alexander <sip:a@b>',
    'sip:a@b?Route=x',
    '<sip:a@b>;tag',
    '<sip:a@b>;;',
    '<sip:a@b> junk',
    'not a uri',
    '<>',
  ]) {
    try {
      parseNameAddr(bad);
      t.fail(`accepted ${JSON.stringify(bad)}`);
    } catch (err) {
      t.ok(err instanceof SipParseError && err.status === 400, JSON.stringify(bad));
    }
  }
  t.throws(() => parseNameAddrList('<sip:a@b>,,<sip:c@d>'), SipParseError, 'empty list element');
});

t.test('formatNameAddr quotes the display name and round-trips', async (t) => {
  const text = '"Alice \\"A\\"" <sip:alice@atlanta.com;transport=tcp>;tag=88;expires=60';
  const na = parseNameAddr(text);
  t.equal(formatNameAddr(na), text);
  t.same(parseNameAddr(formatNameAddr(na)), na);
  t.equal(formatNameAddr({ uri: 'sip:x@y', params: new Map([['tag', 'abc']]) }), '<sip:x@y>;tag=abc');
});

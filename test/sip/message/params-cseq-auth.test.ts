import t from 'tap';
import {
  parseParamString,
  paramValue,
  formatParams,
  parseCSeq,
  formatCSeq,
  parseAuthHeader,
  parseDigestCredentials,
  parseDigestChallenge,
  formatDigestChallenge,
  splitTopLevel,
  unquote,
  quote,
  SipParseError,
} from '../../../src/sip/embedded/message/index.js';

t.test('generic params: case-insensitive names, valueless, quoted, IPv6', async (t) => {
  const p = parseParamString(' ; Tag = abc ;lr; +sip.instance="<urn:uuid:1>" ;maddr=[2001:db8::1]');
  t.same([...p], [
    ['tag', 'abc'],
    ['lr', null],
    ['+sip.instance', '"<urn:uuid:1>"'],
    ['maddr', '[2001:db8::1]'],
  ]);
  t.equal(paramValue(p, 'TAG'), 'abc');
  t.equal(paramValue(p, 'lr'), '');
  t.equal(paramValue(p, '+sip.instance'), '<urn:uuid:1>');
  t.equal(paramValue(p, 'none'), undefined);
  t.equal(formatParams(p), ';tag=abc;lr;+sip.instance="<urn:uuid:1>";maddr=[2001:db8::1]');
  t.equal(formatParams(new Map([['reason', 'two words']])), ';reason="two words"', 'non-token values are quoted');
  for (const bad of [';', ';;a', ';a=', ';a="x', 'a', ';a b']) t.throws(() => parseParamString(bad), SipParseError, bad);
});

t.test('quote/unquote/splitTopLevel', async (t) => {
  t.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  t.equal(unquote(quote('a"b\\c')), 'a"b\\c');
  t.same(splitTopLevel('a, "b,c" , <d,e>;x="1,2", f'), ['a', '"b,c"', '<d,e>;x="1,2"', 'f']);
});

t.test('CSeq', async (t) => {
  t.same(parseCSeq('4711 INVITE'), { seq: 4711, method: 'INVITE' });
  t.same(parseCSeq(' 0009 \t ACK '), { seq: 9, method: 'ACK' });
  t.same(parseCSeq('4294967295 BYE'), { seq: 4294967295, method: 'BYE' });
  t.equal(formatCSeq({ seq: 1, method: 'BYE' }), '1 BYE');
  for (const bad of ['', 'INVITE', '1', '1INVITE', '-1 INVITE', '4294967296 INVITE', '1 IN VITE', 'x1 INVITE']) {
    t.throws(() => parseCSeq(bad), SipParseError, bad);
  }
});

t.test('Digest credentials', async (t) => {
  const c = parseDigestCredentials(
    'Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
      'uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
      'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=MD5',
  );
  t.same(
    [c.username, c.realm, c.nonce, c.uri, c.response, c.qop, c.nc, c.cnonce, c.opaque, c.algorithm],
    ['bob', 'biloxi.com', 'dcd98b7102dd2f0e8b11d0f600bfb0c093', 'sip:bob@biloxi.com', '6629fae49393a05397450978507c4ef1', 'auth', '00000001', '0a4f113b', '5ccc069c403ebaf9f0171e9517f40e41', 'MD5'],
  );
  t.equal(parseDigestCredentials('digest username="a\\"b",realm="r",nonce="n",uri="sip:x",response="y"').username, 'a"b');
  for (const bad of [
    'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
    'Digest username="a"',
    'Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth',
    'Digest username="a",, realm="r"',
    'Digest username="a", username="b", realm="r", nonce="n", uri="u", response="x"',
    'Digest username',
    'Digest username="a" realm="r"',
    'Digest username="a",',
  ]) {
    t.throws(() => parseDigestCredentials(bad), SipParseError, bad);
  }
  t.same([...parseAuthHeader('Other a=1').params], [['a', '1']]);
});

t.test('Digest challenge format and parse back', async (t) => {
  const text = formatDigestChallenge({ realm: 'kalem', nonce: 'abc"def', opaque: 'o', algorithm: 'MD5', qop: ['auth'], stale: true });
  t.equal(text, 'Digest realm="kalem", nonce="abc\\"def", opaque="o", stale=TRUE, algorithm=MD5, qop="auth"');
  t.same(parseDigestChallenge(text), { realm: 'kalem', nonce: 'abc"def', opaque: 'o', algorithm: 'MD5', qop: ['auth'], stale: true });
  t.throws(() => formatDigestChallenge({ realm: 'a\r\nX-Evil: 1', nonce: 'n' }), TypeError);
});

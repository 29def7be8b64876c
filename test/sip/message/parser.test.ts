import t from 'tap';
import {
  parseMessage,
  parseVia,
  COMPACT_FORMS,
  SipParseError,
  type SipMessage,
} from '../../../src/sip/embedded/message/index.js';

function msg(lines: string[], body = '', eol = '\r\n'): Buffer {
  return Buffer.from(lines.join(eol) + eol + eol + body, 'utf8');
}

const BASE = [
  'INVITE sip:+4930123@gw.example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1',
  'From: <sip:carrier@192.0.2.1>;tag=a1',
  'To: <sip:+4930123@gw.example.com>',
  'Call-ID: c1@192.0.2.1',
  'CSeq: 1 INVITE',
  'Max-Forwards: 70',
];

function reject(buf: Buffer, limits?: Parameters<typeof parseMessage>[1]): SipParseError {
  try {
    parseMessage(buf, limits);
  } catch (err) {
    if (err instanceof SipParseError) return err;
    throw err;
  }
  throw new Error('message was accepted');
}

function request(m: SipMessage) {
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

t.test('a plain INVITE', async (t) => {
  const m = request(parseMessage(msg([...BASE, 'Content-Type: application/sdp', 'Content-Length: 4'], 'v=0\r')));
  t.equal(m.method, 'INVITE');
  t.equal(m.uri, 'sip:+4930123@gw.example.com');
  t.same(m.headers.list.map((h) => h.name), ['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-type', 'content-length']);
  t.equal(m.body.toString(), 'v=0\r');
});

t.test('every compact form maps to its long name', async (t) => {
  const extra = Object.entries(COMPACT_FORMS)
    .filter(([c]) => !'vftilc'.includes(c))
    .map(([c]) => `${c.toUpperCase()}: ${c === 'm' ? '<sip:x@y>' : 'x' + c}`);
  const m = parseMessage(msg(['OPTIONS sip:gw SIP/2.0', 'v: SIP/2.0/UDP h;branch=z9hG4bK2', 'f: <sip:a@b>;tag=1', 't: sip:gw', 'i: c2', 'CSeq: 2 OPTIONS', 'c: text/plain', 'l: 0', ...extra]));
  for (const [c, long] of Object.entries(COMPACT_FORMS)) {
    t.ok(m.headers.has(long), `${c} → ${long}`);
  }
  t.equal(m.headers.get('refer-to'), 'xr');
  t.equal(m.headers.get('session-expires'), 'xx');
});

t.test('folding, case-insensitive names, multiple values, LF line ends, leading CRLF', async (t) => {
  const raw = msg(
    [
      'OPTIONS sip:gw SIP/2.0',
      'VIA: SIP/2.0/UDP a;branch=z9hG4bKa,',
      '\t SIP/2.0/UDP b;branch=z9hG4bKb',
      'via: SIP/2.0/TCP c;branch=z9hG4bKc',
      'FROM: <sip:a@b>',
      '  ;tag=x',
      'tO: sip:gw',
      'call-ID: f1',
      'cseq: 7',
      '   OPTIONS',
      'X-Custom: one',
      '   two   three',
    ],
    '',
    '\n',
  );
  const m = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), raw]));
  t.same(m.headers.getAll('via'), ['SIP/2.0/UDP a;branch=z9hG4bKa, SIP/2.0/UDP b;branch=z9hG4bKb', 'SIP/2.0/TCP c;branch=z9hG4bKc']);
  t.equal(m.headers.getAll('via').flatMap((v) => parseVia(v)).length, 3);
  t.same(m.headers.values('via'), ['SIP/2.0/UDP a;branch=z9hG4bKa', 'SIP/2.0/UDP b;branch=z9hG4bKb', 'SIP/2.0/TCP c;branch=z9hG4bKc'], 'values() splits lines');
  t.equal(m.headers.get('from'), '<sip:a@b> ;tag=x');
  t.equal(m.headers.get('cseq'), '7 OPTIONS');
  t.equal(m.headers.get('x-custom'), 'one two   three', 'folding replaces the line break and leading whitespace by one SP');
});

t.test('SipHeaders.values() splits list headers only', async (t) => {
  const m = parseMessage(
    msg([
      ...BASE,
      'Contact: "Doe, J" <sip:a@b;x=1>;q=0.5, <sip:c@d>',
      'Allow: INVITE,ACK , BYE',
      'Allow: OPTIONS',
      'Date: Sat, 13 Nov 2010 23:29:00 GMT',
      'Subject: hello, world',
      'WWW-Authenticate: Digest realm="a", nonce="b"',
    ]),
  );
  t.same(m.headers.values('contact'), ['"Doe, J" <sip:a@b;x=1>;q=0.5', '<sip:c@d>']);
  t.same(m.headers.values('Allow'), ['INVITE', 'ACK', 'BYE', 'OPTIONS']);
  t.same(m.headers.values('date'), ['Sat, 13 Nov 2010 23:29:00 GMT']);
  t.same(m.headers.values('subject'), ['hello, world']);
  t.same(m.headers.values('www-authenticate'), ['Digest realm="a", nonce="b"']);
  t.same(m.headers.values('x-absent'), []);
});

t.test('datagram body framing', async (t) => {
  const cut = parseMessage(msg([...BASE, 'Content-Length: 3'], 'abcdef'));
  t.equal(cut.body.toString(), 'abc', 'extra octets after Content-Length are ignored');
  const rest = parseMessage(msg(BASE, 'abcdef'));
  t.equal(rest.body.toString(), 'abcdef', 'without Content-Length the body is the rest of the datagram');
  const short = reject(msg([...BASE, 'Content-Length: 10'], 'abc'));
  t.equal(short.status, 400);
  t.match(short.message, /shorter than Content-Length/);
  t.equal(reject(msg([...BASE, 'Content-Length: 1e3'])).status, 400);
  t.equal(reject(msg([...BASE, 'Content-Length: 99999999999999999999'])).status, 400);
  const noBlank = parseMessage(Buffer.from(BASE.join('\r\n') + '\r\n'));
  t.equal(noBlank.body.length, 0, 'a datagram without the final empty line is tolerated');
});

t.test('mandatory header fields and their precise reasons', async (t) => {
  for (const [i, label] of [
    [1, 'Via'],
    [2, 'From'],
    [3, 'To'],
    [4, 'Call-ID'],
    [5, 'CSeq'],
  ] as const) {
    const lines = BASE.filter((_, j) => j !== i);
    const err = reject(msg(lines));
    t.equal(err.status, 400, `missing ${label}`);
    t.match(err.message, new RegExp(`missing ${label}`));
    t.equal(err.request?.method, 'INVITE', 'partial request attached');
    t.equal(err.request?.headers.get('call-id') ?? null, i === 4 ? null : 'c1@192.0.2.1');
  }
  t.equal(request(parseMessage(msg(BASE.filter((l) => !l.startsWith('Max-Forwards'))))).method, 'INVITE', 'Max-Forwards may be absent');
});

t.test('header validation errors are 400 with the request attached', async (t) => {
  // The last flag says whether the header lines could all be read (so Via is in the partial request).
  const cases: Array<[string[], RegExp, number, boolean?]> = [
    [[...BASE.slice(0, 5), 'CSeq: 1 BYE', 'Max-Forwards: 70'], /CSeq method BYE does not match/, 400],
    [['FOO sip:gw SIP/2.0', ...BASE.slice(1, 5), 'CSeq: 1 INVITE'], /does not match request method FOO/, 501],
    [[...BASE.slice(0, 6), 'Max-Forwards: 256'], /Max-Forwards/, 400],
    [[...BASE.slice(0, 6), 'Max-Forwards: ten'], /Max-Forwards/, 400],
    [[...BASE.slice(0, 4), 'Call-ID: has space', 'CSeq: 1 INVITE'], /Call-ID/, 400],
    [[...BASE, 'Call-ID: second'], /more than one Call-ID/, 400],
    [[...BASE, 'Contact: <sip:a@b'], /missing >/, 400],
    [[...BASE, 'Bad Name: x'], /invalid header field name/, 400],
    [[...BASE, 'NoColonHere'], /without a colon/, 400],
    [[BASE[0]!, ' folded-first: x', ...BASE.slice(1)], /continuation line/, 400, false],
    [[...BASE, 'X-Evil: a\rb'], /bare CR/, 400],
    [['INVITE sip:a@b?X=1 SIP/2.0', ...BASE.slice(1)], /Request-URI/, 400],
    [['INVITE sip:a b SIP/2.0', ...BASE.slice(1)], /Request-Line/, 400],
    [['INV(TE sip:a@b SIP/2.0', ...BASE.slice(1)], /invalid method/, 400],
    [['INVITE sip:a@b SIP/3.0', ...BASE.slice(1)], /not supported/, 505],
  ];
  for (const [lines, reason, status, complete = true] of cases) {
    const err = reject(msg(lines));
    t.equal(err.status, status, String(reason));
    t.match(err.message, reason);
    t.ok(err.request, 'partial request attached');
    if (complete) t.ok(err.request?.headers.has('via'), 'Via available for the error response');
  }
});

t.test('limits', async (t) => {
  const big = msg(BASE, 'x'.repeat(2000));
  const err = reject(big, { maxMessageBytes: 1000, maxHeaders: 100 });
  t.equal(err.status, 513, 'oversized request: 513 Message Too Large');
  const resp = Buffer.from('SIP/2.0 200 OK\r\n' + 'X: y\r\n'.repeat(300) + '\r\n');
  t.equal(reject(resp, { maxMessageBytes: 1000, maxHeaders: 100 }).status, undefined, 'oversized response: dropped');
  const many = msg([...BASE, ...Array.from({ length: 10 }, (_, i) => `X-H${i}: v`)]);
  const e2 = reject(many, { maxMessageBytes: 65535, maxHeaders: 12 });
  t.equal(e2.status, 400);
  t.match(e2.message, /more than 12 header fields/);
  t.equal(parseMessage(many, { maxMessageBytes: 65535, maxHeaders: 16 }).headers.list.length, 16, 'exactly at the limit is fine');
});

t.test('responses', async (t) => {
  const ok = parseMessage(msg(['SIP/2.0 180', 'Via: SIP/2.0/UDP a;branch=z9hG4bKa', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>;tag=2', 'Call-ID: x', 'CSeq: 1 INVITE']));
  t.same(ok.kind === 'response' && [ok.status, ok.reason], [180, ''], 'missing reason phrase tolerated');
  const r = parseMessage(msg(['sip/2.0 486 Busy Here', 'Via: SIP/2.0/UDP a', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>;tag=2', 'Call-ID: x', 'CSeq: 1 INVITE']));
  t.same(r.kind === 'response' && [r.status, r.reason], [486, 'Busy Here']);
  for (const line of ['SIP/2.0 99 Low', 'SIP/2.0 700 High', 'SIP/2.0 2000 Long', 'SIP/2.0 abc Bad', 'SIP/3.0 200 OK']) {
    t.equal(reject(msg([line, 'Via: SIP/2.0/UDP a', 'From: <sip:a@b>', 'To: <sip:c@d>', 'Call-ID: x', 'CSeq: 1 INVITE'])).status, undefined, line);
  }
  const badHeader = reject(msg(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;;', 'From: <sip:a@b>', 'To: <sip:c@d>', 'Call-ID: x', 'CSeq: 1 INVITE']));
  t.equal(badHeader.status, undefined, 'a malformed response is dropped, never answered');
  t.equal(reject(msg(['SIP/2.0 200 OK', 'Call-ID: x'])).status, undefined);
});

t.test('input that is not SIP is dropped silently', async (t) => {
  for (const b of [
    Buffer.alloc(0),
    Buffer.from('\r\n\r\n'),
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0a, 0x00]),
    Buffer.from('hello'),
  ]) {
    t.equal(reject(b).status, undefined, JSON.stringify(b.toString('latin1').slice(0, 20)));
  }
  t.throws(() => parseMessage('INVITE' as unknown as Buffer), SipParseError, 'a non-Buffer is refused with SipParseError');
});

t.test('other URI schemes in the Request-URI parse (the UAS answers 416)', async (t) => {
  for (const uri of ['tel:+4930123', 'urn:service:sos', 'sips:gw.example.com']) {
    t.equal(request(parseMessage(msg([`OPTIONS ${uri} SIP/2.0`, ...BASE.slice(1, 5), 'CSeq: 1 OPTIONS']))).uri, uri);
  }
});

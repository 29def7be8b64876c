/**
 * RFC 4475 torture tests: every one of the 49 messages, with what the parser must make of it.
 *
 * - `valid`: parses; the key values the RFC calls out are asserted.
 * - `reject`: SipParseError with the status a server answers (undefined = drop silently).
 * - `semantic`: syntactically fine at the level a UAS parses; the parser returns it and `uas`
 *   says what the layer above must answer. Those notes are part of the contract for the UAS core.
 */

import t from 'tap';
import {
  parseMessage,
  parseVia,
  parseNameAddr,
  parseContact,
  parseCSeq,
  parseUri,
  parseAuthHeader,
  parseDigestCredentials,
  paramValue,
  splitTopLevel,
  tagOf,
  unescapePercent,
  SipParseError,
  type SipMessage,
  type SipUri,
} from '../../../src/sip/embedded/message/index.js';
import { fixtureNames, loadFixture } from './fixtures.js';

type Eq = (actual: unknown, expected: unknown, what: string) => void;

interface Valid {
  kind: 'valid';
  section: string;
  check: (eq: Eq, m: SipMessage) => void;
}
interface Semantic {
  kind: 'semantic';
  section: string;
  uas: string;
  check: (eq: Eq, m: SipMessage) => void;
}
interface Reject {
  kind: 'reject';
  section: string;
  status: number | undefined;
  reason: RegExp;
}
type Expectation = Valid | Semantic | Reject;

function req(m: SipMessage): Extract<SipMessage, { kind: 'request' }> {
  if (m.kind !== 'request') throw new Error('expected a request');
  return m;
}
function res(m: SipMessage): Extract<SipMessage, { kind: 'response' }> {
  if (m.kind !== 'response') throw new Error('expected a response');
  return m;
}
function sipUri(text: string): SipUri {
  const u = parseUri(text);
  if (u.kind !== 'sip') throw new Error(`not a SIP URI: ${text}`);
  return u;
}
function vias(m: SipMessage) {
  return m.headers.getAll('via').flatMap((v) => parseVia(v));
}
function h(m: SipMessage, name: string): string {
  const v = m.headers.get(name);
  if (v === undefined) throw new Error(`missing ${name}`);
  return v;
}

const SDP_TAIL = Buffer.from('a=rtpmap:31 LPC\r\n');

const EXPECT: Record<string, Expectation> = {
  // ---- 3.1.1 Valid messages -------------------------------------------------------------------
  wsinv: {
    kind: 'valid',
    section: '3.1.1.1',
    check(eq, m) {
      const r = req(m);
      eq(r.method, 'INVITE', 'method');
      eq(r.uri, 'sip:vivekg@chair-dnrc.example.com;unknownparam', 'Request-URI');
      eq([...sipUri(r.uri).params], [['unknownparam', null]], 'valueless URI parameter');
      const to = parseNameAddr(h(m, 'to'));
      eq(to.uri, 'sip:vivekg@chair-dnrc.example.com', 'To URI across a folded line');
      eq(tagOf(to), '1918181833n', 'To tag with LWS around =');
      const from = parseNameAddr(h(m, 'from'));
      eq(from.displayName, 'J Rosenberg \\"', 'From display name with quoted-pairs');
      eq(tagOf(from), '98asjd8', 'From tag on continuation lines');
      eq(h(m, 'max-forwards'), '0068', 'Max-Forwards with leading zeros');
      eq(h(m, 'call-id'), 'wsinv.ndaksdj@192.0.2.1', 'Call-ID');
      eq(h(m, 'content-length'), '150', 'Content-Length with LWS before colon');
      eq(m.body.length, 150, 'body length');
      eq(parseCSeq(h(m, 'cseq')), { seq: 9, method: 'INVITE' }, 'folded CSeq with leading zeros');
      const v = vias(m);
      eq(v.length, 3, 'three Via values from two lines, one with a comma');
      eq(
        v.map((x) => [x.protocol, x.transport, x.host, x.branch]),
        [
          ['SIP/2.0', 'UDP', '192.0.2.2', '390skdjuw'],
          ['SIP/2.0', 'TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
          ['SIP/2.0', 'UDP', '192.168.255.111', 'z9hG4bK30239'],
        ],
        'Via values with LWS inside sent-protocol',
      );
      eq(m.headers.get('subject'), '', 'empty Subject (compact s)');
      eq(m.headers.get('newfangledheader'), 'newfangled value continued newfangled value', 'unfolded unknown header');
      eq(m.headers.get('unknownheaderwithunusualvalue'), ';;,,;;,;', 'unknown header kept verbatim');
      const contact = parseContact(h(m, 'contact'));
      if (contact === '*') throw new Error('unexpected *');
      eq(contact.length, 1, 'one Contact (compact m)');
      eq(contact[0]!.displayName, 'Quoted string ""', 'Contact display name');
      eq([...contact[0]!.params], [['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']], 'Contact params');
      const route = parseNameAddr(h(m, 'route'));
      eq(
        [...sipUri(route.uri).params],
        [['lr', null], ['unknownwith', 'value'], ['unknown-no-value', null]],
        'Route URI params',
      );
    },
  },
  intmeth: {
    kind: 'valid',
    section: '3.1.1.2',
    check(eq, m) {
      const r = req(m);
      eq(r.method, "!interesting-Method0123456789_*+`.%indeed'~", 'method with every token character');
      const u = sipUri(r.uri);
      eq(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", 'Request-URI user');
      eq(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", 'Request-URI password');
      eq(u.host, 'example.com', 'Request-URI host');
      eq(vias(m)[0]!.branch, "z9hG4bK-.!%66*_+`'~", 'branch with non-alphanumeric token chars');
      eq(parseNameAddr(h(m, 'to')).displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f', 'To display name with quoted control chars');
      const from = parseNameAddr(h(m, 'from'));
      eq(from.displayName, "token1~` token2'+_ token3*%!.-", 'From display name of several tokens');
      eq(tagOf(from), "_token~1'+`*%!-.", 'From tag');
      eq(paramValue(from.params, "fromParam''~+*_!.-%"), 'работающий', 'UTF-8 parameter value');
      eq(h(m, 'call-id'), 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{', 'Call-ID with word characters');
      eq(parseCSeq(h(m, 'cseq')), { seq: 139122385, method: r.method }, 'CSeq');
      eq(m.headers.get("extensionheader-!.%*+_`'~"), '\ufeff大停電', 'extension header with UTF-8 value');
      eq(m.body.length, 0, 'no body');
    },
  },
  esc01: {
    kind: 'valid',
    section: '3.1.1.3',
    check(eq, m) {
      const u = sipUri(req(m).uri);
      eq(u.user, 'sips:user@example.com', 'escaped user part is unescaped');
      eq(u.host, 'example.net', 'Request-URI host');
      eq(sipUri(parseNameAddr(h(m, 'to')).uri).user, 'user', 'To user %75se%72');
      eq(sipUri(parseNameAddr(h(m, 'from')).uri).user, 'I have spaces', 'From user with %20');
      eq(h(m, 'call-id'), 'esc01.239409asdfakjkn23onasd0-3234', 'Call-ID from compact i');
      eq(h(m, 'content-type'), 'application/sdp', 'Content-Type from compact c (upper case C)');
      const c = parseContact(h(m, 'contact'));
      if (c === '*') throw new Error('unexpected *');
      const cu = sipUri(c[0]!.uri);
      eq(cu.user, 'caller', 'Contact user cal%6Cer');
      eq(cu.params.get('%6c%72'), null, 'escaped valueless param name kept as written');
      eq(unescapePercent(cu.params.get('n%61me') ?? ''), 'value%41', 'unescaping is done once, not recursively');
      eq(m.body.length, 150, 'body');
    },
  },
  escnull: {
    kind: 'valid',
    section: '3.1.1.4',
    check(eq, m) {
      eq(req(m).method, 'REGISTER', 'method');
      eq(sipUri(parseNameAddr(h(m, 'to')).uri).user, 'null-\x00-null', 'NUL does not shorten the AOR');
      const contacts = m.headers.getAll('contact').flatMap((v) => {
        const c = parseContact(v);
        return c === '*' ? [] : c;
      });
      eq(contacts.map((c) => sipUri(c.uri).user), ['\x00', '\x00\x00'], 'two distinct Contacts');
      eq(h(m, 'content-length'), '0', 'compact L');
    },
  },
  esc02: {
    kind: 'valid',
    section: '3.1.1.5',
    check(eq, m) {
      eq(req(m).method, 'RE%47IST%45R', '% is not an escape in a method');
      eq(parseNameAddr(h(m, 'to')).displayName, '%Z%45', '% is not an escape in a display name');
      eq(m.headers.getAll('contact').length, 2, 'two Contact values, not three');
      eq(m.headers.get('c%6fntact'), '<sip:alias2@host2.example.com>', 'C%6Fntact is an unknown header');
      eq(vias(m)[0]!.branch, 'z9hG4bK209%fzsnel234', 'branch with %');
    },
  },
  lwsdisp: {
    kind: 'valid',
    section: '3.1.1.6',
    check(eq, m) {
      const from = parseNameAddr(h(m, 'from'));
      eq(from.displayName, 'caller', 'display name directly followed by <');
      eq(tagOf(from), '323', 'tag');
      eq(req(m).method, 'OPTIONS', 'method');
    },
  },
  longreq: {
    kind: 'valid',
    section: '3.1.1.7',
    check(eq, m) {
      const to = parseNameAddr(h(m, 'to'));
      eq(to.displayName, `I have a user name of ${'extreme'.repeat(10)} proportion`, 'long display name');
      const tu = sipUri(to.uri);
      eq(tu.port, 6000, 'To port');
      eq(tu.params.size, 3, 'three long URI params');
      eq(tu.params.get('longparam' + 'name'.repeat(25)), 'shortvalue', 'long param name');
      const from = parseNameAddr(h(m, 'from'));
      eq(tagOf(from), '12' + '982'.repeat(50) + '424', 'very long tag');
      eq(from.params.size, 3, 'tag and two unknown params');
      eq(h(m, 'call-id'), 'longreq.one' + 'really'.repeat(20) + 'longcallid', 'long Call-ID');
      const v = vias(m);
      eq(v.length, 34, '34 Via values under every spelling of the name');
      eq(v[0]!.host, 'sip33.example.com', 'first Via');
      eq(v[33]!.received, '192.0.2.5', 'received on the last Via');
      eq(v[33]!.branch, 'very' + 'long'.repeat(50) + 'branchvalue', 'long branch');
      eq(m.body.length, 150, 'body');
    },
  },
  dblreq: {
    kind: 'valid',
    section: '3.1.1.8',
    check(eq, m) {
      eq(req(m).method, 'REGISTER', 'the REGISTER is the message');
      eq(h(m, 'call-id'), 'dblreq.0ha0isndaksdj99sdfafnl3lk233412', 'Call-ID from compact I');
      eq(m.body.length, 0, 'octets after Content-Length 0 are ignored');
      eq(sipUri(parseNameAddr(h(m, 'contact')).uri).host, 'host.example.com', 'bare Contact');
    },
  },
  semiuri: {
    kind: 'valid',
    section: '3.1.1.9',
    check(eq, m) {
      const u = sipUri(req(m).uri);
      eq(u.user, 'user;par=u@example.net', 'user part holds ; and an escaped @');
      eq(u.host, 'example.com', 'host');
      eq(u.params.size, 0, 'no URI parameters');
      eq(splitTopLevel(h(m, 'accept')).length, 6, 'folded Accept with six values');
    },
  },
  transports: {
    kind: 'valid',
    section: '3.1.1.10',
    check(eq, m) {
      eq(vias(m).map((v) => v.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'], 'transports');
      eq(h(m, 'call-id'), 'transports.kijh4akdnaqjkwendsasfdj', 'Call-ID after two spaces');
    },
  },
  mpart01: {
    kind: 'valid',
    section: '3.1.1.11',
    check(eq, m) {
      eq(req(m).method, 'MESSAGE', 'method');
      eq(m.body.length, 553, 'body framed by Content-Length');
      eq(m.body.includes(0), true, 'binary part with NUL octets kept');
      eq(m.body.subarray(-22).toString('latin1'), '--7a9cbec02ceef655--\r\n', 'body ends at the closing boundary');
      eq(h(m, 'content-type'), 'multipart/mixed;boundary=7a9cbec02ceef655', 'Content-Type');
      const v = vias(m)[0]!;
      eq([v.host, v.port, v.rport], ['127.0.0.1', 5070, true], 'Via with valueless rport');
      eq(h(m, 'identity').length, 172, 'Identity kept on one line');
    },
  },
  unreason: {
    kind: 'valid',
    section: '3.1.1.12',
    check(eq, m) {
      const r = res(m);
      eq(r.status, 200, 'status');
      eq(r.reason, '= 2**3 * 5**2 но сто девяносто девять - простое', 'UTF-8 reason phrase');
      eq(m.body.length, 154, 'body');
    },
  },
  noreason: {
    kind: 'valid',
    section: '3.1.1.13',
    check(eq, m) {
      const r = res(m);
      eq([r.status, r.reason], [100, ''], 'empty reason phrase');
    },
  },

  // ---- 3.1.2 Invalid messages -----------------------------------------------------------------
  badinv01: { kind: 'reject', section: '3.1.2.1', status: 400, reason: /empty header parameter/ },
  clerr: { kind: 'reject', section: '3.1.2.2', status: 400, reason: /shorter than Content-Length/ },
  ncl: { kind: 'reject', section: '3.1.2.3', status: 400, reason: /invalid Content-Length/ },
  scalar02: { kind: 'reject', section: '3.1.2.4', status: 400, reason: /CSeq/ },
  scalarlg: { kind: 'reject', section: '3.1.2.5', status: undefined, reason: /CSeq/ },
  quotbal: { kind: 'reject', section: '3.1.2.6', status: 400, reason: /unterminated quoted string/ },
  ltgtruri: { kind: 'reject', section: '3.1.2.7', status: 400, reason: /URI/ },
  lwsruri: { kind: 'reject', section: '3.1.2.8', status: 400, reason: /Request-Line/ },
  lwsstart: { kind: 'reject', section: '3.1.2.9', status: 400, reason: /Request-Line/ },
  trws: { kind: 'reject', section: '3.1.2.10', status: 400, reason: /Request-Line/ },
  escruri: { kind: 'reject', section: '3.1.2.11', status: 400, reason: /headers are not allowed in a Request-URI/ },
  baddate: {
    kind: 'semantic',
    section: '3.1.2.12',
    uas: 'The Date is not GMT. The UAS does not use Date, so it ignores it and processes the INVITE.',
    check(eq, m) {
      eq(h(m, 'date'), 'Fri, 01 Jan 2010 16:00:00 EST', 'Date kept as text');
      eq(req(m).method, 'INVITE', 'method');
    },
  },
  regbadct: { kind: 'reject', section: '3.1.2.13', status: 400, reason: /must be in <>/ },
  badaspec: { kind: 'reject', section: '3.1.2.14', status: 400, reason: /whitespace inside <>/ },
  baddn: { kind: 'reject', section: '3.1.2.15', status: 400, reason: /invalid address/ },
  badvers: { kind: 'reject', section: '3.1.2.16', status: 505, reason: /SIP\/7\.0/ },
  mismatch01: { kind: 'reject', section: '3.1.2.17', status: 400, reason: /CSeq method INVITE does not match/ },
  // The RFC prefers 501 for an unknown method whose CSeq does not match, and allows 400.
  mismatch02: { kind: 'reject', section: '3.1.2.18', status: 501, reason: /CSeq method INVITE does not match/ },
  bigcode: { kind: 'reject', section: '3.1.2.19', status: undefined, reason: /status code/ },

  // ---- 3.2 Transaction layer semantics --------------------------------------------------------
  badbranch: {
    kind: 'semantic',
    section: '3.2.1',
    uas:
      'The branch is the bare magic cookie z9hG4bK. The transaction layer must not treat it as an ' +
      'RFC 3261 branch id: it answers 400 (statelessly) or falls back to RFC 2543 matching.',
    check(eq, m) {
      eq(vias(m)[0]!.branch, 'z9hG4bK', 'branch is only the cookie');
    },
  },

  // ---- 3.3 Application layer semantics --------------------------------------------------------
  insuf: { kind: 'reject', section: '3.3.1', status: 400, reason: /missing From/ },
  unkscm: {
    kind: 'semantic',
    section: '3.3.2',
    uas: 'Unknown Request-URI scheme: the UAS answers 416 Unsupported URI Scheme.',
    check(eq, m) {
      eq(parseUri(req(m).uri), { kind: 'other', scheme: 'nobodyknowsthisscheme', opaque: 'totallyopaquecontent' }, 'opaque URI');
    },
  },
  novelsc: {
    kind: 'semantic',
    section: '3.3.3',
    uas: 'Request-URI scheme soap.beep: the UAS answers 416 Unsupported URI Scheme.',
    check(eq, m) {
      const u = parseUri(req(m).uri);
      eq(u.kind === 'other' ? u.scheme : '', 'soap.beep', 'scheme with a dot');
    },
  },
  unksm2: {
    kind: 'semantic',
    section: '3.3.4',
    uas:
      'To/From/Contact with non-SIP schemes. A registrar would answer 400 (the AOR must be SIP); ' +
      'this gateway is no registrar and answers REGISTER 405/501.',
    check(eq, m) {
      eq(parseUri(parseNameAddr(h(m, 'to')).uri).kind, 'other', 'To isbn:');
      eq(parseUri(parseNameAddr(h(m, 'from')).uri).kind, 'other', 'From http:');
      eq(parseNameAddr(h(m, 'contact')).uri, 'name:John_Smith', 'Contact name:');
    },
  },
  bext01: {
    kind: 'semantic',
    section: '3.3.5',
    uas: 'Require lists unknown extensions: the UAS answers 420 Bad Extension with both in Unsupported.',
    check(eq, m) {
      eq(splitTopLevel(h(m, 'require')), ['nothingSupportsThis', 'nothingSupportsThisEither'], 'Require values');
    },
  },
  invut: {
    kind: 'semantic',
    section: '3.3.6',
    uas: 'Body of an unknown type: the UAS answers 415 Unsupported Media Type with Accept: application/sdp.',
    check(eq, m) {
      eq(h(m, 'content-type'), 'application/unknownformat', 'Content-Type');
      eq(m.body.toString('latin1'), '<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n', 'body');
    },
  },
  regaut01: {
    kind: 'semantic',
    section: '3.3.7',
    uas: 'Authorization with an unknown scheme: answered with a new challenge (401) or 403, never accepted.',
    check(eq, m) {
      const a = parseAuthHeader(h(m, 'authorization'));
      eq([a.scheme, a.params.get('opaque-data')], ['NoOneKnowsThisScheme', 'here'], 'generic auth header');
      let thrown: unknown;
      try {
        parseDigestCredentials(h(m, 'authorization'));
      } catch (err) {
        thrown = err;
      }
      eq(thrown instanceof SipParseError, true, 'not Digest credentials');
    },
  },
  multi01: { kind: 'reject', section: '3.3.8', status: 400, reason: /more than one Call-ID/ },
  mcl01: { kind: 'reject', section: '3.3.9', status: 400, reason: /more than one Content-Length/ },
  bcast: {
    kind: 'semantic',
    section: '3.3.10',
    uas:
      'Response whose second Via is 255.255.255.255: processed by the client transaction of the top ' +
      'Via; nothing is ever sent to a broadcast address taken from a Via.',
    check(eq, m) {
      eq(res(m).status, 200, 'status');
      eq(vias(m).map((v) => v.host), ['192.0.2.198', '255.255.255.255'], 'Via hosts');
    },
  },
  zeromf: {
    kind: 'semantic',
    section: '3.3.11',
    uas:
      'Max-Forwards 0. RFC 4475: a proxy answers 483, an endpoint processes it normally; issue 3 ' +
      'asks the embedded UAS for 483 on Max-Forwards 0, which the UAS core decides.',
    check(eq, m) {
      eq(h(m, 'max-forwards'), '0', 'Max-Forwards');
    },
  },
  cparam01: {
    kind: 'semantic',
    section: '3.3.12',
    uas: 'Contact in addr-spec form: ;unknownparam is a Contact (header) parameter, not a URI parameter.',
    check(eq, m) {
      const c = parseNameAddr(h(m, 'contact'));
      eq(c.params.get('unknownparam'), null, 'header param');
      eq(sipUri(c.uri).params.size, 0, 'URI has no params');
    },
  },
  cparam02: {
    kind: 'semantic',
    section: '3.3.13',
    uas: 'Contact in name-addr form: ;unknownparam is a URI parameter.',
    check(eq, m) {
      const c = parseNameAddr(h(m, 'contact'));
      eq(c.params.size, 0, 'no header params');
      eq(sipUri(c.uri).params.get('unknownparam'), null, 'URI param');
    },
  },
  regescrt: {
    kind: 'semantic',
    section: '3.3.14',
    uas: 'Contact URI with an escaped Route header: a UAS never turns URI headers into real header fields.',
    check(eq, m) {
      eq(sipUri(parseNameAddr(h(m, 'contact')).uri).headers, [['Route', '%3Csip:sip.example.com%3E']], 'URI headers kept');
    },
  },
  sdp01: {
    kind: 'semantic',
    section: '3.3.15',
    uas: 'Accept does not list application/sdp: the UAS answers 406 (or 400, every UA must accept SDP).',
    check(eq, m) {
      eq(h(m, 'accept'), 'text/nobodyKnowsThis', 'Accept');
      eq(m.body.subarray(-SDP_TAIL.length).equals(SDP_TAIL), true, 'SDP body');
    },
  },

  // ---- 3.4 Backward compatibility -------------------------------------------------------------
  inv2543: {
    kind: 'semantic',
    section: '3.4.1',
    uas:
      'RFC 2543 INVITE: no Max-Forwards, no branch, no From tag, no Content-Length. Accepted; the ' +
      'transaction layer matches it the RFC 2543 way.',
    check(eq, m) {
      eq(m.headers.has('max-forwards'), false, 'no Max-Forwards');
      eq(vias(m)[0]!.branch, undefined, 'no branch');
      eq(tagOf(parseNameAddr(h(m, 'from'))), undefined, 'no From tag');
      eq(m.body.length, 105, 'body runs to the end of the datagram');
      eq(parseNameAddr(h(m, 'to')).params.get('user'), 'phone', ';user=phone is a To parameter in addr-spec form');
    },
  },
};

t.test('every RFC 4475 message has a fixture and an expectation', async (t) => {
  const names = Object.keys(EXPECT).sort();
  t.equal(names.length, 49, '49 expectations');
  t.same(fixtureNames(), names, 'fixture files match the table exactly');
});

for (const [name, exp] of Object.entries(EXPECT)) {
  t.test(`${name} (RFC 4475 §${exp.section})`, async (t) => {
    const buf = loadFixture(name); // throws, and fails the test, when the fixture is missing
    if (exp.kind === 'reject') {
      let err: unknown;
      try {
        parseMessage(buf);
      } catch (e) {
        err = e;
      }
      t.ok(err instanceof SipParseError, 'SipParseError');
      if (err instanceof SipParseError) {
        t.equal(err.status, exp.status, `status ${exp.status ?? 'undefined (drop)'}`);
        t.match(err.message, exp.reason, 'precise reason');
        if (exp.status !== undefined && buf.toString('latin1').startsWith('SIP/') === false) {
          t.ok(err.request, 'the partial request is attached so the UAS can answer');
          t.ok(err.request?.headers.has('via'), 'with its header fields');
        }
      }
      return;
    }
    const m = parseMessage(buf);
    exp.check((a, b, what) => t.same(a, b, what), m);
    if (exp.kind === 'semantic') t.comment(`UAS: ${exp.uas}`);
  });
}

t.test('a valid INVITE still parses after every invalid one', async (t) => {
  for (const [name, exp] of Object.entries(EXPECT)) {
    if (exp.kind !== 'reject') continue;
    t.throws(() => parseMessage(loadFixture(name)), SipParseError, name);
    t.equal(req(parseMessage(loadFixture('wsinv'))).method, 'INVITE', `wsinv after ${name}`);
  }
});

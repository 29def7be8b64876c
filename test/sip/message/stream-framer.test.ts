import t from 'tap';
import { SipStreamFramer, parseMessage, SipParseError } from '../../../src/sip/embedded/message/index.js';

function make(body: string | Buffer, cl: string | null = String(Buffer.byteLength(body)), extra = ''): Buffer {
  const head =
    'OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:gw>\r\n' +
    'Call-ID: s1\r\nCSeq: 1 OPTIONS\r\n' + extra + (cl === null ? '' : `Content-Length: ${cl}\r\n`) + '\r\n';
  return Buffer.concat([Buffer.from(head), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

t.test('several messages in one chunk, and one message byte by byte', async (t) => {
  const a = make('hello');
  const b = make(Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x0d, 0x0a, 3]));
  const f = new SipStreamFramer();
  const out = f.push(Buffer.concat([a, b]));
  t.equal(out.length, 2);
  t.same(out[0], a);
  t.same(out[1], b);
  t.equal(parseMessage(out[1]!).body.length, 8, 'body with CRLFCRLF inside is framed by Content-Length');

  const g = new SipStreamFramer();
  const got: Buffer[] = [];
  const both = Buffer.concat([a, b]);
  for (let i = 0; i < both.length; i++) got.push(...g.push(both.subarray(i, i + 1)));
  t.same(got, [a, b]);
  t.equal(g.buffered, 0, 'nothing left over');
});

t.test('CRLF keep-alives are skipped, double CRLF pings are reported', async (t) => {
  let pings = 0;
  const f = new SipStreamFramer({ onPing: () => pings++ });
  t.same(f.push(Buffer.from('\r\n\r\n')), []);
  t.equal(pings, 1, 'ping');
  t.same(f.push(Buffer.from('\r\n')), []);
  t.same(f.push(Buffer.from('\r\n')), [], 'a ping in two halves');
  t.equal(pings, 2);
  const m = make('');
  t.same(f.push(Buffer.concat([Buffer.from('\r\n'), m])), [m], 'a lone CRLF pong before a message is ignored');
  t.equal(pings, 2);
  t.same(f.push(Buffer.concat([Buffer.from('\r\n\r\n'), m, Buffer.from('\r\n\r\n')])), [m]);
  t.equal(pings, 4);
});

t.test('compact or folded Content-Length and LF-only header blocks', async (t) => {
  const f = new SipStreamFramer();
  const folded = make('abc', null, 'Content-Length:\r\n   3\r\n');
  t.same(f.push(folded), [folded]);
  t.equal(parseMessage(folded).body.toString(), 'abc', 'the parser agrees');
  const lf = Buffer.from('OPTIONS sip:gw SIP/2.0\nv: SIP/2.0/TCP a\nf: <sip:a@b>\nt: <sip:gw>\ni: x\nCSeq: 1 OPTIONS\nl: 2\n\nhi');
  t.same(f.push(lf), [lf]);
});

function framingError(tt: { ok: (v: unknown, msg: string) => unknown }, chunks: Buffer[], opts?: ConstructorParameters<typeof SipStreamFramer>[0]): SipParseError {
  const f = new SipStreamFramer(opts);
  try {
    for (const c of chunks) f.push(c);
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    let again: unknown;
    try {
      f.push(make(''));
    } catch (e) {
      again = e;
    }
    tt.ok(again instanceof SipParseError, 'the framer stays failed: the connection must be closed');
    return err;
  }
  throw new Error('no error');
}

t.test('framing errors', async (t) => {
  const missing = framingError(t, [make('x', null)]);
  t.equal(missing.status, 400);
  t.match(missing.message, /Content-Length is required/);
  t.equal(framingError(t, [make('', '-1')]).status, 400);
  t.equal(framingError(t, [make('', 'five')]).status, 400);
  t.match(framingError(t, [make('', '3', 'l: 4\r\n')]).message, /conflicting/);
  const huge = framingError(t, [Buffer.from('INVITE sip:a SIP/2.0\r\nX: ' + 'y'.repeat(5000))], { maxHeaderBytes: 4096 });
  t.equal(huge.status, 513, 'a header block that never ends is cut off at the limit');
  const big = framingError(t, [make('', '100000')], { maxMessageBytes: 65536 });
  t.equal(big.status, 513, 'an announced body over the limit is refused before it arrives');
  t.throws(() => new SipStreamFramer({ maxHeaderBytes: 0 }), TypeError);
});

t.test('a slow peer: half a message waits, memory is the bytes received', async (t) => {
  const f = new SipStreamFramer();
  const m = make('abcdef');
  t.same(f.push(m.subarray(0, 40)), []);
  t.equal(f.buffered, 40);
  t.same(f.push(m.subarray(40)), [m]);
});

t.test('any chunking of a stream frames the same messages; nothing returned shares memory with the stream', async (t) => {
  // Messages of very different sizes, keep-alives and pings between them, cut at random points
  // (a fixed seed): the growable buffer, the resumed header search and the start offset must agree.
  const msgs = [make('x'.repeat(60_000)), make(''), make('short'), make(Buffer.alloc(3000, 0x0d)), make('y'.repeat(20_000))];
  const stream = Buffer.concat([Buffer.from('\r\n'), msgs[0]!, Buffer.from('\r\n\r\n'), msgs[1]!, msgs[2]!, Buffer.from('\r\n'), msgs[3]!, msgs[4]!]);
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed % n;
  };
  for (const maxChunk of [1, 3, 17, 1500, 70_000]) {
    let pings = 0;
    const f = new SipStreamFramer({ onPing: () => pings++ });
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; ) {
      const n = 1 + rand(maxChunk);
      // A fresh copy per chunk, then scribbled over after the push, as a reused socket buffer would be.
      const chunk = Buffer.from(stream.subarray(i, i + n));
      for (const m of f.push(chunk)) {
        got.push(m);
        m.fill(0x21); // a consumer scribbling on what it got must not disturb the framer
      }
      chunk.fill(0x7e);
      i += n;
    }
    t.equal(got.length, msgs.length, `chunks up to ${maxChunk} bytes: ${msgs.length} messages`);
    t.equal(f.buffered, 0, 'nothing left over');
    t.equal(pings, 1, 'the one ping reported');
  }
  // What was returned before the scribbling: checked with a framer whose output is kept.
  const f = new SipStreamFramer();
  const kept: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 1000) kept.push(...f.push(stream.subarray(i, i + 1000)));
  t.same(kept, msgs, 'exactly the messages sent');
});

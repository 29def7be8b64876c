// The ng control client: bencode, the pending map (timeouts, retransmission, rejection of all
// pending commands on socket failure and on close) and replies. Ping/list/query run against the
// REAL rtpengine 10.5 (managed mode); the failure cases that a real rtpengine cannot be made to
// produce on demand (silence, garbage, `result: error` for ping) use a UDP stand-in socket that
// the test scripts, and say so.
import t from 'tap';
import type { RemoteInfo, Socket } from 'node:dgram';
import { bencodeDecode, bencodeEncode } from '../../../src/media/rtpengine/bencode.js';
import { freeUdpPort } from '../../../src/media/rtpengine/free-port.js';
import { NgClient } from '../../../src/media/rtpengine/ng-client.js';
import { RtpengineError } from '../../../src/media/rtpengine/rtpengine-error.js';
import { rtpengineMissing, startManaged, udpSocket } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<RtpengineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RtpengineError)) throw new Error(`expected an RtpengineError, got ${String(err)}`);
  return err;
}

/** Stand-in: collects the requests it receives and lets the test answer (or not). */
function standIn(socket: Socket): { requests: Array<{ cookie: string; body: Buffer; rinfo: RemoteInfo }>; next: () => Promise<{ cookie: string; rinfo: RemoteInfo }> } {
  const requests: Array<{ cookie: string; body: Buffer; rinfo: RemoteInfo }> = [];
  const waiters: Array<(r: { cookie: string; rinfo: RemoteInfo }) => void> = [];
  socket.on('message', (msg, rinfo) => {
    const space = msg.indexOf(0x20);
    const r = { cookie: msg.toString('latin1', 0, space), body: msg.subarray(space + 1), rinfo };
    requests.push(r);
    waiters.shift()?.(r);
  });
  return { requests, next: () => new Promise((resolve) => waiters.push(resolve)) };
}

t.test('bencode', async (t) => {
  t.equal(bencodeEncode({ command: 'ping' }).toString(), 'd7:command4:pinge');
  t.equal(bencodeEncode({ b: 1, a: ['x', -2], c: undefined }).toString(), 'd1:al1:xi-2ee1:bi1ee', 'sorted keys, undefined skipped');
  t.equal(bencodeEncode('é').toString('latin1'), '2:\u00c3\u00a9', 'length in bytes');
  const value = { sdp: 'v=0\r\nm=audio 1 RTP/AVP 0\r\n', list: ['a', 1, { x: 'y' }], n: -7 };
  t.same(bencodeDecode(bencodeEncode(value)), value, 'round trip');
  t.throws(() => bencodeDecode(Buffer.from('d3:abc')), SyntaxError, 'truncated');
  t.throws(() => bencodeDecode(Buffer.from('i1ei2e')), SyntaxError, 'trailing bytes');
  t.throws(() => bencodeDecode(Buffer.from('di1ei2ee')), SyntaxError, 'non-string key');
  t.throws(() => bencodeEncode(1.5), TypeError);
  t.throws(() => new NgClient({ address: 'localhost' }), TypeError, 'address needs a port');
});

const missing = rtpengineMissing();
if (missing !== undefined) {
  t.fail(missing);
} else {
  t.test('against the real rtpengine: ping, list, query, many commands in flight at once', async (t) => {
    const rtp = await startManaged(t);
    const client = rtp.client;
    const ms = await client.ping();
    t.ok(ms >= 0 && ms < 1000, `pong in ${ms.toFixed(2)} ms`);
    t.same(await client.list(), [], 'no calls yet');

    // Ten commands share the pending map; each gets its own reply (or error) by cookie.
    const results = await Promise.allSettled([
      ...Array.from({ length: 8 }, () => client.ping()),
      client.list({ limit: 5 }),
      client.query({ 'call-id': 'no-such-call' }),
    ]);
    t.equal(results.slice(0, 8).filter((r) => r.status === 'fulfilled').length, 8, 'eight pongs');
    t.same(results[8], { status: 'fulfilled', value: [] }, 'list answered');
    const q = results[9];
    t.equal(q?.status, 'rejected');
    const err = (q as PromiseRejectedResult).reason as RtpengineError;
    t.type(err, RtpengineError);
    t.equal(err.reason, 'rejected', 'rtpengine said result: error');
    t.equal(err.retryable, false, 'which is not retryable');
    t.equal(err.command, 'query');
    t.match(err.message, /Unknown call-id/);
    t.equal(client.pendingCount, 0, 'nothing left pending');
  });
}

if (missing === undefined) {
  t.test('against the real rtpengine: a command too large for a datagram fails alone; the others and the socket carry on', async (t) => {
    const rtp = await startManaged(t);
    const client = rtp.client;
    // 70 KB of SDP: past what one UDP datagram can carry (65,507 bytes), as a 63 KB body of
    // non-ASCII bytes becomes once decoded (each bad byte is a 3-byte U+FFFD).
    const huge = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=${'\ufffd'.repeat(24_000)}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n`;
    const results = await Promise.allSettled([
      client.ping(),
      client.offer({ sdp: huge, 'call-id': 'huge-1', 'from-tag': 'f' }),
      client.ping(),
      client.list(),
    ]);
    t.equal(results[0]?.status, 'fulfilled', 'a ping sent before it is answered');
    t.equal(results[2]?.status, 'fulfilled', 'a ping sent after it is answered');
    t.same(results[3], { status: 'fulfilled', value: [] }, 'list answered');
    const err = (results[1] as PromiseRejectedResult).reason as RtpengineError;
    t.type(err, RtpengineError);
    t.equal(err.reason, 'send', 'the oversized offer failed on its own');
    t.equal(err.retryable, false, 'sending it again cannot help');
    t.equal(err.command, 'offer');
    t.match(err.message, /too large|datagram/);
    t.ok((await client.ping()) >= 0, 'the control socket still works afterwards');
    t.equal(client.pendingCount, 0);
  });
}

t.test('a send that fails (EMSGSIZE from the kernel) fails only its own command', async (t) => {
  const fake = await udpSocket(t);
  const stand = standIn(fake);
  // A limit above what the kernel carries, so the send itself fails, as an unchecked one would.
  const client = new NgClient({ address: `127.0.0.1:${fake.address().port}`, timeoutMs: 3000, maxCommandBytes: 200_000 });
  t.teardown(() => client.close());
  const big = rejection(client.offer({ sdp: 'x'.repeat(70_000), 'call-id': 'c', 'from-tag': 'f' }));
  const ping = client.ping();
  const r = await stand.next();
  fake.send(Buffer.from(`${r.cookie} d6:result4:ponge`), r.rinfo.port, r.rinfo.address);
  t.ok((await ping) >= 0, 'the other command is answered');
  const err = await big;
  t.equal(err.reason, 'send');
  t.match(err.message, /EMSGSIZE|too long|message too long/i);
  t.equal(client.pendingCount, 0);
});

t.test('a silent rtpengine: retransmits with the same cookie, then times out (retryable)', async (t) => {
  const silent = await udpSocket(t);
  const stand = standIn(silent);
  const client = new NgClient({ address: `127.0.0.1:${silent.address().port}`, timeoutMs: 400, retransmitMs: 100 });
  t.teardown(() => client.close());
  const started = Date.now();
  const err = await rejection(client.ping());
  t.equal(err.reason, 'timeout');
  t.equal(err.retryable, true);
  t.ok(Date.now() - started >= 390, 'after the deadline');
  t.ok(stand.requests.length >= 3, `sent ${stand.requests.length} times`);
  t.equal(new Set(stand.requests.map((r) => r.cookie)).size, 1, 'always with the same cookie');
  t.equal(client.pendingCount, 0);

  // A late answer to the timed-out command is ignored, and the client goes on working.
  const late = stand.requests[0]!;
  silent.send(Buffer.from(`${late.cookie} d6:result4:ponge`), late.rinfo.port, late.rinfo.address);
  const p = client.ping();
  const r = await stand.next();
  silent.send(Buffer.from(`${r.cookie} d6:result4:ponge`), r.rinfo.port, r.rinfo.address);
  t.ok((await p) >= 0, 'the next command is answered');
});

t.test('nothing listening: every pending command is rejected at once as retryable (socket), not hung', async (t) => {
  const port = await freeUdpPort();
  const client = new NgClient({ address: `127.0.0.1:${port}`, timeoutMs: 10_000, retransmitMs: 0 });
  t.teardown(() => client.close());
  const started = Date.now();
  const errors = await Promise.all([client.ping(), client.list(), client.offer({ sdp: 'v=0', 'call-id': 'c', 'from-tag': 'f' })].map(rejection));
  t.ok(Date.now() - started < 2000, `rejected in ${Date.now() - started} ms, long before the 10 s deadline`);
  for (const err of errors) {
    t.equal(err.reason, 'socket');
    t.equal(err.retryable, true);
    t.match(err.message, /connection refused/);
  }
  t.same(errors.map((e) => e.command).sort(), ['list', 'offer', 'ping']);
  t.equal(client.pendingCount, 0);
});

t.test('close() rejects all pending commands, is idempotent, and later commands fail at once', async (t) => {
  const silent = await udpSocket(t);
  const stand = standIn(silent);
  const client = new NgClient({ address: `127.0.0.1:${silent.address().port}`, timeoutMs: 10_000 });
  const pending = [client.ping(), client.list(), client.delete({ 'call-id': 'c', 'from-tag': 'f' })].map(rejection);
  while (stand.requests.length < 3) await stand.next();
  t.equal(client.pendingCount, 3);
  client.close();
  client.close();
  const errors = await Promise.all(pending);
  t.same(errors.map((e) => [e.reason, e.retryable]), [['closed', false], ['closed', false], ['closed', false]]);
  t.same(errors.map((e) => e.command), ['ping', 'list', 'delete']);
  t.equal(client.closed, true);
  const after = await rejection(client.ping());
  t.equal(after.reason, 'closed');
});

t.test('replies that are errors or garbage', async (t) => {
  const fake = await udpSocket(t);
  const stand = standIn(fake);
  const client = new NgClient({ address: `127.0.0.1:${fake.address().port}`, timeoutMs: 2000 });
  t.teardown(() => client.close());
  const answerWith = async (p: Promise<unknown>, body: string): Promise<RtpengineError> => {
    const r = await stand.next();
    fake.send(Buffer.from(`${r.cookie} ${body}`), r.rinfo.port, r.rinfo.address);
    return rejection(p);
  };
  const refused = await answerWith(client.answer({ sdp: 'v=0', 'call-id': 'c', 'from-tag': 'f', 'to-tag': 't' }), 'd6:result5:error12:error-reason11:Unknown tage');
  t.same([refused.reason, refused.retryable, refused.command], ['rejected', false, 'answer']);
  t.match(refused.message, /Unknown tag/);
  const garbage = await answerWith(client.ping(), 'd6:result');
  t.same([garbage.reason, garbage.retryable], ['protocol', false]);
  const notPong = await answerWith(client.ping(), 'd6:result2:oke');
  t.equal(notPong.reason, 'protocol');
  const noSdp = await answerWith(client.offer({ sdp: 'v=0', 'call-id': 'c', 'from-tag': 'f' }), 'd6:result2:oke');
  t.equal(noSdp.reason, 'protocol');
  t.equal(client.pendingCount, 0);
});

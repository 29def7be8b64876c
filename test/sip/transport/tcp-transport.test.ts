import t from 'tap';
import net from 'node:net';
import { FakeClock } from '../../../src/core/clock.js';
import { TcpTransport } from '../../../src/sip/embedded/transport/tcp-transport.js';
import type { ReceivedSource, TransportWarning } from '../../../src/sip/embedded/transport/types.js';
import { collect, next, options, withBody } from './helpers.js';
import { TcpProbe } from './probes.js';

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.setNoDelay(true);
  await next(s, 'connect');
  return s;
}

function closed(s: net.Socket): Promise<void> {
  return s.destroyed && s.readyState === 'closed' ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

t.test('two messages in one chunk are two messages', async (t) => {
  const tr = new TcpTransport({ host: '127.0.0.1', port: 0 });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const c = await connect(port);
  t.teardown(() => c.destroy());
  const got = collect<[Buffer, ReceivedSource]>(tr, 'message', 2);
  c.write(Buffer.concat([withBody(1), options(2)]));
  const all = await got;
  const [m1, s1] = all[0]!;
  const [m2, s2] = all[1]!;
  t.same(m1, withBody(1), 'the body is cut by Content-Length');
  t.same(m2, options(2));
  t.equal(s1.transport, 'tcp');
  t.equal(s1.connectionId, s2.connectionId, 'same connection');
  t.equal(s1.port, c.localPort);
});

t.test('one message split in three chunks is one message', async (t) => {
  const tr = new TcpProbe({ host: '127.0.0.1', port: 0 });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const c = await connect(port);
  t.teardown(() => c.destroy());
  const msg = withBody(3);
  const cuts = [0, 40, msg.length - 5, msg.length]; // the last cut is inside the body
  const seen: Buffer[] = [];
  tr.on('message', (m) => seen.push(m));
  for (let i = 0; i < 3; i++) {
    const chunk = next(tr.probe, 'chunk');
    c.write(msg.subarray(cuts[i], cuts[i + 1]));
    await chunk;
    if (i < 2) t.equal(seen.length, 0, `nothing after chunk ${i + 1}`);
  }
  t.equal(seen.length, 1);
  t.same(seen[0], msg);
});

t.test('a response goes back over the connection the request came in on', async (t) => {
  const tr = new TcpTransport({ host: '127.0.0.1', port: 0 });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const c = await connect(port);
  t.teardown(() => c.destroy());
  const got = next<[Buffer, ReceivedSource]>(tr, 'message');
  c.write(options(4));
  const [, source] = await got;
  const reply = next<[Buffer]>(c, 'data');
  // The Via's sent-by (127.0.0.1:5060) is not where the client is: only the connection id counts.
  await tr.send(Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'), {
    host: '127.0.0.1',
    port: 5060,
    transport: 'tcp',
    connectionId: source.connectionId!,
  });
  t.equal((await reply)[0].toString(), 'SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');
  t.equal(tr.connectionCount(), 1, 'no new connection was opened');
});

t.test('outbound: a request to a peer opens one connection and reuses it; replies arrive on it', async (t) => {
  const a = new TcpTransport({ host: '127.0.0.1', port: 0 });
  const b = new TcpTransport({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  await a.listen();
  const { port } = await b.listen();
  const atB = collect<[Buffer, ReceivedSource]>(b, 'message', 2);
  await a.send(options(5), { host: '127.0.0.1', port, transport: 'tcp' });
  await a.send(options(6), { host: '127.0.0.1', port, transport: 'tcp' });
  const both = await atB;
  const s1 = both[0]![1];
  const s2 = both[1]![1];
  t.equal(s1.connectionId, s2.connectionId, 'the second request reused the connection');
  t.equal(a.connectionCount(), 1);
  const atA = next<[Buffer, ReceivedSource]>(a, 'message');
  await b.send(options(7), { host: s1.address, port: s1.port, transport: 'tcp', connectionId: s1.connectionId! });
  t.same((await atA)[0], options(7));
  await t.rejects(a.send(options(8), { host: '127.0.0.1', port: 1, transport: 'tcp' }), 'connection refused is a rejected send');
});

t.test('a half-message peer is dropped after the idle timeout while another client is served', async (t) => {
  const clock = new FakeClock();
  const tr = new TcpProbe({ host: '127.0.0.1', port: 0, clock, limits: { idleTimeoutMs: 10_000 } });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const warnings: TransportWarning[] = [];
  tr.on('warning', (w) => warnings.push(w));

  let accepted = next(tr.probe, 'accepted');
  const staller = await connect(port);
  await accepted;
  accepted = next(tr.probe, 'accepted');
  const good = await connect(port);
  await accepted;
  t.teardown(() => {
    staller.destroy();
    good.destroy();
  });
  const chunk = next(tr.probe, 'chunk');
  staller.write(options(9).subarray(0, 60)); // half a message, then silence
  await chunk;

  clock.advance(6_000);
  let got = next<[Buffer, ReceivedSource]>(tr, 'message');
  good.write(options(10));
  const [, goodSource] = await got; // restarts the good client's idle timer at 6 s
  const stallerClosed = closed(staller);
  clock.advance(4_000); // 10 s since the staller connected: its timer fires, the good one has 6 s left
  await stallerClosed;
  t.ok(warnings.some((w) => w.code === 'idle-timeout'), 'reported as idle timeout');
  t.equal(tr.connectionCount(), 1);
  got = next<[Buffer, ReceivedSource]>(tr, 'message');
  good.write(options(11));
  const [m] = await got;
  t.same(m, options(11), 'the other client is still served');
  const reply = next<[Buffer]>(good, 'data');
  await tr.send(options(12), { host: '127.0.0.1', port: 5060, transport: 'tcp', connectionId: goodSource.connectionId! });
  t.same((await reply)[0], options(12));
});

t.test('the connection cap refuses connection N+1 (total and per IP)', async (t) => {
  for (const limits of [{ maxConnections: 2 }, { maxConnectionsPerIp: 2 }]) {
    const tr = new TcpProbe({ host: '127.0.0.1', port: 0, limits });
    const { port } = await tr.listen();
    const refused = next<[TransportWarning]>(tr, 'warning');
    const clients: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const accepted = next(tr.probe, 'accepted');
      clients.push(await connect(port));
      await accepted;
    }
    const third = net.connect({ host: '127.0.0.1', port });
    third.on('error', () => undefined); // ECONNRESET is the point
    await closed(third);
    const [w] = await refused;
    t.equal(w.code, 'connection-refused-cap', `refused under ${JSON.stringify(limits)}`);
    t.equal(tr.connectionCount(), 2);
    // The first two still work.
    const got = next<[Buffer]>(tr, 'message');
    clients[1]!.write(options(13));
    t.same((await got)[0], options(13));
    // Closing one makes room again.
    const gone = closed(clients[0]!);
    clients[0]!.destroy();
    await gone;
    while (tr.connectionCount() > 1) await new Promise((r) => setImmediate(r));
    const accepted = next(tr.probe, 'accepted');
    clients.push(await connect(port));
    await accepted;
    t.equal(tr.connectionCount(), 2, 'a slot freed by a close is usable');
    for (const c of clients) c.destroy();
    await tr.close();
  }
});

t.test('a framing error closes that connection only', async (t) => {
  const tr = new TcpProbe({ host: '127.0.0.1', port: 0 });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  let accepted = next(tr.probe, 'accepted');
  const bad = await connect(port);
  await accepted;
  accepted = next(tr.probe, 'accepted');
  const good = await connect(port);
  await accepted;
  t.teardown(() => {
    bad.destroy();
    good.destroy();
  });
  const warned = next<[TransportWarning]>(tr, 'warning');
  const badClosed = closed(bad);
  bad.write(Buffer.from(options(14).toString().replace('Content-Length: 0', 'Content-Length: lots')));
  await badClosed;
  t.equal((await warned)[0].code, 'framing-error');
  const got = next<[Buffer]>(tr, 'message');
  good.write(options(15));
  t.same((await got)[0], options(15));
});

t.test('an oversize message closes the connection', async (t) => {
  const tr = new TcpTransport({ host: '127.0.0.1', port: 0, limits: { maxMessageBytes: 300 } });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const c = await connect(port);
  const gone = closed(c);
  c.on('error', () => undefined);
  c.write(withBody(16).toString().replace(/Content-Length: \d+/, 'Content-Length: 100000'));
  await gone;
  t.equal(tr.connectionCount(), 0);
});

t.test('a CRLFCRLF keep-alive ping gets a CRLF pong (RFC 5626)', async (t) => {
  const tr = new TcpTransport({ host: '127.0.0.1', port: 0 });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const c = await connect(port);
  t.teardown(() => c.destroy());
  const pong = next<[Buffer]>(c, 'data');
  c.write('\r\n\r\n');
  t.equal((await pong)[0].toString(), '\r\n');
});

t.test('bad options are TypeErrors', async (t) => {
  t.throws(() => new TcpTransport({ host: '127.0.0.1', port: 0, limits: { idleTimeoutMs: 0 } }), TypeError);
  t.throws(() => new TcpTransport({ host: 1 as unknown as string, port: 0 }), TypeError);
});

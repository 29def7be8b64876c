import t from 'tap';
import { UdpTransport } from '../../../src/sip/embedded/transport/udp-transport.js';
import type { ReceivedSource, TransportWarning } from '../../../src/sip/embedded/transport/types.js';
import { next, options } from './helpers.js';

t.test('UDP round trip: one datagram is one message, with its source', async (t) => {
  const a = new UdpTransport({ host: '127.0.0.1', port: 0 });
  const b = new UdpTransport({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const aAddr = await a.listen();
  const bAddr = await b.listen();
  t.not(bAddr.port, 0, 'an ephemeral port was chosen');
  const got = next<[Buffer, ReceivedSource]>(b, 'message');
  await a.send(options(1, 'UDP'), { host: '127.0.0.1', port: bAddr.port, transport: 'udp' });
  const [data, source] = await got;
  t.same(data, options(1, 'UDP'));
  t.same(source, {
    address: '127.0.0.1',
    port: aAddr.port,
    transport: 'udp',
    localAddress: '127.0.0.1',
    localPort: bAddr.port,
  });
  // And back to where it came from.
  const back = next<[Buffer, ReceivedSource]>(a, 'message');
  await b.send(Buffer.from('SIP/2.0 200 OK\r\n\r\n'), { host: source.address, port: source.port, transport: 'udp' });
  t.equal((await back)[0].toString(), 'SIP/2.0 200 OK\r\n\r\n');
});

t.test('oversize datagrams are dropped with a warning; keep-alives are ignored', async (t) => {
  const a = new UdpTransport({ host: '127.0.0.1', port: 0 });
  const b = new UdpTransport({ host: '127.0.0.1', port: 0, maxMessageBytes: 200 });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  await a.listen();
  const bAddr = await b.listen();
  const messages: Buffer[] = [];
  b.on('message', (m) => messages.push(m));
  const warned = next<[TransportWarning]>(b, 'warning');
  const target = { host: '127.0.0.1', port: bAddr.port, transport: 'udp' as const };
  await a.send(Buffer.alloc(300, 0x41), target);
  t.equal((await warned)[0].code, 'oversize');
  await a.send(Buffer.from('\r\n\r\n'), target);
  const ok = next<[Buffer]>(b, 'message');
  await a.send(options(2, 'UDP').subarray(0, 150), target);
  await ok;
  t.equal(messages.length, 1, 'only the real message came through, in order after the others');
  await t.rejects(b.send(Buffer.alloc(201), target), /exceeds/);
});

t.test('close is idempotent and send after close rejects', async (t) => {
  const a = new UdpTransport({ host: '127.0.0.1', port: 0 });
  await a.listen();
  await a.close();
  await a.close();
  await t.rejects(a.send(Buffer.from('x'), { host: '127.0.0.1', port: 9, transport: 'udp' }), /closed/);
  t.throws(() => new UdpTransport({ host: '127.0.0.1', port: 'x' as unknown as number }), TypeError);
});

import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { FakeClock } from '../../../src/core/clock.js';
import { TlsTransport } from '../../../src/sip/embedded/transport/tls-transport.js';
import type { ReceivedSource, TransportWarning } from '../../../src/sip/embedded/transport/types.js';
import { makeCert, next, options } from './helpers.js';
import { TlsProbe } from './probes.js';

const first = makeCert('localhost');
const second = makeCert('second.example');

async function client(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const s = tls.connect({ host: '127.0.0.1', port, ca: [first.cert, second.cert], ...opts });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', () => resolve());
    s.once('error', reject);
  });
  return s;
}

function peerCn(s: tls.TLSSocket): string | undefined {
  const cn = s.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

t.test('TLS 1.3 is negotiated and reported with each message', async (t) => {
  const tr = new TlsTransport({ host: '127.0.0.1', port: 0, ...first });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const c = await client(port);
  t.teardown(() => c.destroy());
  t.equal(c.getProtocol(), 'TLSv1.3');
  t.ok(c.authorized, 'the client verified the certificate against 127.0.0.1');
  const got = next<[Buffer, ReceivedSource]>(tr, 'message');
  c.write(options(1, 'TLS'));
  const [m, source] = await got;
  t.same(m, options(1, 'TLS'));
  t.equal(source.transport, 'tls');
  t.equal(source.tls?.protocol, 'TLSv1.3');
  t.equal(source.address, '127.0.0.1');
  t.equal(source.port, c.localPort, 'the source is the TLS client, not the wrapper');
  const reply = next<[Buffer]>(c, 'data');
  await tr.send(options(2, 'TLS'), { host: '127.0.0.1', port: 5061, transport: 'tls', connectionId: source.connectionId! });
  t.same((await reply)[0], options(2, 'TLS'), 'answered on the same connection');
});

t.test('TLS 1.2 is still accepted; a TLS 1.1-max client is refused', async (t) => {
  const tr = new TlsTransport({ host: '127.0.0.1', port: 0, ...first });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const c12 = await client(port, { maxVersion: 'TLSv1.2' });
  t.equal(c12.getProtocol(), 'TLSv1.2');
  c12.destroy();

  const warned = new Promise<TransportWarning>((resolve) =>
    tr.on('warning', (w) => {
      if (w.code === 'tls-handshake-failed') resolve(w);
    }),
  );
  // OpenSSL 3 refuses to even offer TLS 1.1 at its default security level; SECLEVEL=0 makes
  // the client really send a TLS 1.1 ClientHello, so the refusal comes from our server.
  const old = tls.connect({
    host: '127.0.0.1',
    port,
    ca: first.cert,
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  const err = await new Promise<Error>((resolve, reject) => {
    old.once('error', resolve);
    old.once('secureConnect', () => reject(new Error('a TLS 1.1 client got through')));
  });
  t.match(err.message, /protocol version|unsupported protocol|alert/i, 'the handshake failed');
  const w = await warned;
  t.match(w.message, /version|protocol/i, 'the server refused it');
  t.equal(tr.connectionCount(), 0);
});

t.test('setCredentials swaps the certificate for new connections; an open one stays up', async (t) => {
  const tr = new TlsProbe({ host: '127.0.0.1', port: 0, ...first });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const before = await client(port);
  t.teardown(() => before.destroy());
  t.equal(peerCn(before), 'localhost');
  const got = next<[Buffer, ReceivedSource]>(tr, 'message');
  before.write(options(3, 'TLS'));
  const [, beforeSource] = await got;

  tr.setCredentials(second.cert, second.key);
  t.throws(() => tr.setCredentials(Buffer.from('not a cert'), second.key), 'a bad pair throws');

  const after = await client(port);
  t.teardown(() => after.destroy());
  t.equal(peerCn(after), 'second.example', 'new connections get the new certificate');

  const again = next<[Buffer, ReceivedSource]>(tr, 'message');
  before.write(options(4, 'TLS'));
  const [m, s] = await again;
  t.same(m, options(4, 'TLS'), 'the old connection still carries messages');
  t.equal(s.connectionId, beforeSource.connectionId);
  t.equal(peerCn(before), 'localhost', 'and still has its old certificate');
  const reply = next<[Buffer]>(before, 'data');
  await tr.send(options(5, 'TLS'), { host: '127.0.0.1', port: 5061, transport: 'tls', connectionId: s.connectionId! });
  t.same((await reply)[0], options(5, 'TLS'));
  t.equal(tr.connectionCount(), 2);
});

t.test('outbound TLS verifies the peer and carries messages both ways', async (t) => {
  const server = new TlsTransport({ host: '127.0.0.1', port: 0, ...first, requestClientCertificate: true });
  const caller = new TlsTransport({ host: '127.0.0.1', port: 0, ...second, ca: first.cert });
  const untrusting = new TlsTransport({ host: '127.0.0.1', port: 0, ...second, ca: second.cert });
  t.teardown(async () => {
    await server.close();
    await caller.close();
    await untrusting.close();
  });
  const { port } = await server.listen();
  const got = next<[Buffer, ReceivedSource]>(server, 'message');
  await caller.send(options(6, 'TLS'), { host: '127.0.0.1', port, transport: 'tls' });
  const [m, source] = await got;
  t.same(m, options(6, 'TLS'));
  t.equal(source.tls?.peerCommonName, 'second.example', 'our certificate is presented to the peer');
  const back = next<[Buffer]>(caller, 'message');
  await server.send(options(7, 'TLS'), { host: source.address, port: source.port, transport: 'tls', connectionId: source.connectionId! });
  t.same((await back)[0], options(7, 'TLS'));
  await t.rejects(
    untrusting.send(options(8, 'TLS'), { host: '127.0.0.1', port, transport: 'tls' }),
    'a peer whose certificate we do not trust is not sent to',
  );
});

t.test('a peer that never finishes the handshake is dropped after the idle timeout', async (t) => {
  const clock = new FakeClock();
  const tr = new TlsProbe({ host: '127.0.0.1', port: 0, ...first, clock, limits: { idleTimeoutMs: 5_000 } });
  t.teardown(() => tr.close());
  const { port } = await tr.listen();
  const accepted = next(tr.probe, 'accepted');
  const raw = net.connect({ host: '127.0.0.1', port }); // plain TCP: no ClientHello ever comes
  raw.on('error', () => undefined);
  await accepted;
  const gone = new Promise<void>((r) => raw.once('close', () => r()));
  clock.advance(4_999);
  t.equal(tr.connectionCount(), 1);
  clock.advance(1);
  await gone;
  t.equal(tr.connectionCount(), 0);
});

t.test('PEM buffers are required', async (t) => {
  t.throws(() => new TlsTransport({ host: '127.0.0.1', port: 0, cert: 'x' as unknown as Buffer, key: first.key }), TypeError);
  t.throws(() => new TlsTransport({ host: '127.0.0.1', port: 0, cert: Buffer.from('junk'), key: first.key }));
});

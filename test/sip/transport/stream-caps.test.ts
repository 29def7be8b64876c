import t from 'tap';
import net from 'node:net';
import { FakeClock } from '../../../src/core/clock.js';
import type { TransportWarning } from '../../../src/sip/embedded/transport/types.js';
import { makeCert, next, options } from './helpers.js';
import { TcpProbe, TlsProbe } from './probes.js';

/**
 * Issue 10 item 9: TCP/TLS caps must not lock a carrier out. Trunk addresses are exempt from the
 * per-address cap and the accept rate and may use slots strangers cannot; an unfinished TLS
 * handshake is closed after its own short timeout. 127.0.0.1 plays the trunk, 127.0.0.2 a
 * stranger (both loopback addresses on Linux).
 */
const TRUNK = '127.0.0.1';
const STRANGER = '127.0.0.2';
const isTrustedSource = (a: string): boolean => a === TRUNK;

/** Connects from `from`; resolves 'open' once the transport accepted it, 'refused' if it was reset. */
function dial(tr: TcpProbe | TlsProbe, port: number, from: string): Promise<{ socket: net.Socket; result: 'open' | 'refused' }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    socket.on('error', () => undefined);
    const onAccepted = (): void => {
      socket.off('close', onClose);
      resolve({ socket, result: 'open' });
    };
    const onClose = (): void => {
      tr.probe.off('accepted', onAccepted);
      resolve({ socket, result: 'refused' });
    };
    // Accepts are reported in order, and each dial waits for its own before the next starts.
    tr.probe.once('accepted', onAccepted);
    socket.once('close', onClose);
  });
}

t.test('64+ silent connections from a trunk address do not lock the trunk out; a stranger is capped', async (t) => {
  const tr = new TcpProbe({ host: '127.0.0.1', port: 0, isTrustedSource, limits: { maxConnectionsPerIp: 64 } });
  t.teardown(() => tr.close());
  tr.on('warning', () => undefined);
  const { port } = await tr.listen();
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  let open = 0;
  for (let i = 0; i < 70; i++) {
    const d = await dial(tr, port, TRUNK);
    sockets.push(d.socket);
    if (d.result === 'open') open++;
  }
  t.equal(open, 70, 'all 70 connections from the trunk address were accepted');
  const got = next<[Buffer]>(tr, 'message');
  sockets[69]!.write(options(1));
  t.same((await got)[0], options(1), 'and the trunk is served');

  const s = new TcpProbe({ host: '127.0.0.1', port: 0, isTrustedSource, limits: { maxConnectionsPerIp: 4 } });
  t.teardown(() => s.close());
  const refused = next<[TransportWarning]>(s, 'warning');
  const sp = (await s.listen()).port;
  const results: string[] = [];
  for (let i = 0; i < 5; i++) {
    const d = await dial(s, sp, STRANGER);
    sockets.push(d.socket);
    results.push(d.result);
  }
  t.same(results, ['open', 'open', 'open', 'open', 'refused'], 'a stranger gets its four');
  t.equal((await refused)[0].code, 'connection-refused-cap');
});

t.test('strangers together hold at most three quarters of the slots: a trunk still gets in', async (t) => {
  const tr = new TcpProbe({ host: '127.0.0.1', port: 0, isTrustedSource, limits: { maxConnections: 8 } });
  t.teardown(() => tr.close());
  tr.on('warning', () => undefined);
  const { port } = await tr.listen();
  const sockets: net.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const strangers: string[] = [];
  for (let i = 0; i < 8; i++) {
    const d = await dial(tr, port, STRANGER);
    sockets.push(d.socket);
    strangers.push(d.result);
  }
  t.same(strangers.filter((r) => r === 'open').length, 6, 'six of eight slots for strangers');
  for (let i = 0; i < 2; i++) {
    const d = await dial(tr, port, TRUNK);
    sockets.push(d.socket);
    t.equal(d.result, 'open', `trunk connection ${i + 1} accepted`);
  }
  const d = await dial(tr, port, TRUNK);
  sockets.push(d.socket);
  t.equal(d.result, 'refused', 'the total cap still holds for everyone');
});

t.test('accepts are rate-limited per stranger address, not for a trunk', async (t) => {
  const clock = new FakeClock();
  const tr = new TcpProbe({ host: '127.0.0.1', port: 0, clock, isTrustedSource, limits: { maxAcceptsPerIp: 5, acceptWindowMs: 1000, acceptBlockMs: 10_000 } });
  t.teardown(() => tr.close());
  const warnings: TransportWarning[] = [];
  tr.on('warning', (w) => warnings.push(w));
  const { port } = await tr.listen();
  const results: string[] = [];
  for (let i = 0; i < 7; i++) {
    const d = await dial(tr, port, STRANGER);
    d.socket.destroy(); // closed at once: the per-address cap is never the reason
    results.push(d.result);
  }
  t.same(results, ['open', 'open', 'open', 'open', 'open', 'refused', 'refused'], 'five per window, then refused');
  t.same(
    warnings.filter((w) => w.code === 'connection-refused-rate').length,
    1,
    'one warning when the block begins, none per refused connection after it',
  );
  for (let i = 0; i < 10; i++) {
    const d = await dial(tr, port, TRUNK);
    d.socket.destroy();
    t.equal(d.result, 'open', `trunk connection ${i + 1}`);
  }
  clock.advance(10_000);
  const again = await dial(tr, port, STRANGER);
  again.socket.destroy();
  t.equal(again.result, 'open', 'the stranger is accepted again after the block');
});

t.test('an unfinished TLS handshake is closed after its own timeout, long before the idle timeout', async (t) => {
  const clock = new FakeClock();
  const tr = new TlsProbe({ host: '127.0.0.1', port: 0, ...makeCert('localhost'), clock, limits: { idleTimeoutMs: 120_000, handshakeTimeoutMs: 3000 } });
  t.teardown(() => tr.close());
  const warned = new Promise<TransportWarning>((resolve) => tr.on('warning', (w) => w.code === 'tls-handshake-timeout' && resolve(w)));
  const { port } = await tr.listen();
  const accepted = next(tr.probe, 'accepted');
  const raw = net.connect({ host: '127.0.0.1', port }); // plain TCP: no ClientHello ever comes
  raw.on('error', () => undefined);
  await accepted;
  const gone = new Promise<void>((r) => raw.once('close', () => r()));
  clock.advance(2999);
  t.equal(tr.connectionCount(), 1);
  clock.advance(1);
  await gone;
  t.equal(tr.connectionCount(), 0, 'closed at the handshake timeout');
  t.match((await warned).message, /TLS handshake not finished within 3000 ms/);
});

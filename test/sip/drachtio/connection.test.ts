/**
 * The drachtio engine's connection to drachtio-server: authentication, listeners, OPTIONS,
 * losing and regaining the connection. Runs against the drachtio-server STAND-IN
 * (test/stand-ins/drachtio-server.ts), not the real server.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { FakeClock } from '../../../src/core/clock.js';
import { isKalemError } from '../../../src/core/errors.js';
import { DrachtioEngine } from '../../../src/sip/drachtio/drachtio-engine.js';
import { ANSWER_SDP, SECRET, captureLogger, endedOf, nextCall, startHarness, waitForWarning, writeSecretFile } from './harness.js';

t.test('connects, authenticates, routes INVITE and OPTIONS, reports drachtio-server\'s listeners', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  t.equal(h.engine.name, 'drachtio');
  t.equal(h.standIn.clientCount, 1);
  t.same(h.engine.listening(), [
    { transport: 'udp', address: '127.0.0.1', port: 5060 },
    { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    { transport: 'tls', address: '127.0.0.1', port: 5061 },
  ]);
  t.notOk(h.logLines.some((l) => l.includes(SECRET)), 'the secret is in no log line');
  await t.rejects(h.engine.start(), TypeError, 'start() twice is refused');
});

t.test('a wrong secret fails start() with a clear error that does not show the secret', async (t) => {
  const wrong = 'not-the-right-one-77';
  const h = await startHarness({ clientSecret: wrong, start: false });
  t.teardown(() => h.cleanup());
  const err = await h.engine.start().then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isKalemError(err, 'KALEM_ERR_CONFIG_INVALID'), 'a coded error');
  const message = (err as Error).message;
  t.match(message, /refused the secret/);
  t.match(message, new RegExp(`127\\.0\\.0\\.1:${h.standIn.port}`), 'names the server');
  t.match(message, /drachtio\.secret/, 'names the secret file');
  t.notOk(message.includes(wrong), 'the secret is not in the message');
  t.notOk(message.includes(SECRET));
  t.notOk(h.logLines.some((l) => l.includes(wrong)), 'nor in any log line');
  t.equal(h.standIn.clientCount, 0, 'no authenticated connection left');
  // drachtio-srf would retry after 255 ms, then 433 ms; nothing signals "no retry", so wait past both.
  await new Promise((r) => setTimeout(r, 800));
  t.equal(h.standIn.connectionsAccepted, 1, 'the engine gave up instead of reconnecting with a wrong secret');
});

t.test('secret file problems are reported by path, before connecting', async (t) => {
  const lines: string[] = [];
  const { path, dir } = writeSecretFile('group-readable-secret', 0o640);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const engine = new DrachtioEngine({ host: '127.0.0.1', port: 9, secretFile: path, logger: captureLogger(lines) });
  const err = (await engine.start().catch((e: unknown) => e)) as Error;
  t.ok(isKalemError(err, 'KALEM_ERR_CONFIG_INVALID'));
  t.match(err.message, /mode 0640/);
  t.match(err.message, /chmod 600/);
  t.notOk(err.message.includes('group-readable-secret'));

  const missing = new DrachtioEngine({ host: '127.0.0.1', port: 9, secretFile: '/nonexistent/kalem/drachtio.secret', logger: captureLogger(lines) });
  const err2 = (await missing.start().catch((e: unknown) => e)) as Error;
  t.match(err2.message, /cannot read sip\.drachtio_secret_file \/nonexistent\/kalem\/drachtio\.secret \(ENOENT\)/);

  const unset = new DrachtioEngine({ host: '127.0.0.1', port: 9, secretFile: null, logger: captureLogger(lines) });
  const err3 = (await unset.start().catch((e: unknown) => e)) as Error;
  t.match(err3.message, /needs sip\.drachtio_secret_file/);
});

t.test('an unreachable drachtio-server fails start() after the connect timeout', async (t) => {
  // A port that was just free: nothing listens there.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const { path, dir } = writeSecretFile(SECRET);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const engine = new DrachtioEngine({
    host: '127.0.0.1', port, secretFile: path, logger: captureLogger([]), connectTimeoutMs: 400,
  });
  const err = (await engine.start().catch((e: unknown) => e)) as Error;
  t.ok(isKalemError(err, 'KALEM_ERR_CONFIG_INVALID'));
  t.match(err.message, new RegExp(`drachtio-server at 127\\.0\\.0\\.1:${port} did not accept a connection within 400 ms`));
  await engine.stop();
});

t.test('OPTIONS → 200 with Allow; 503 after setAccepting(false); 200 again after true', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const ok = await h.standIn.sendOptions();
  t.equal(ok.status, 200);
  t.match(ok.header('Allow'), /INVITE/);
  t.match(ok.header('Allow'), /BYE/);
  t.equal(ok.header('Accept'), 'application/sdp');
  h.engine.setAccepting(false);
  t.equal((await h.standIn.sendOptions()).status, 503, 'draining: carriers fail over');
  h.engine.setAccepting(true);
  t.equal((await h.standIn.sendOptions()).status, 200);
});

t.test('reloadTls() resolves: drachtio-server owns TLS', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  await h.engine.reloadTls();
  t.ok(h.logLines.some((l) => l.includes('drachtio.conf.xml')), 'says where TLS is configured');
});

t.test('stop() disconnects from drachtio-server', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  t.equal(h.standIn.clientCount, 1);
  await h.engine.stop();
  await new Promise<void>((resolve) => {
    const poll = (): void => (h.standIn.clientCount === 0 ? resolve() : void setTimeout(poll, 10));
    poll();
  });
  t.equal(h.standIn.clientCount, 0);
});

t.test('dropping the connection surfaces a warning; a reconnect keeps calls and hangup() still works', async (t) => {
  const h = await startHarness();
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  const ended = endedOf(call);

  h.standIn.dropClients();
  const lost = await waitForWarning(h, /lost the connection to drachtio-server/);
  t.match(lost, new RegExp(`127\\.0\\.0\\.1:${h.standIn.port}`));
  await waitForWarning(h, /reconnected to drachtio-server/);
  await h.standIn.waitForRoute('invite');
  t.equal(h.warnings.filter((w) => /lost the connection/.test(w)).length, 1, 'one warning per outage');

  await call.hangup();
  const bye = await h.standIn.waitFor((m) => m.origin === 'app' && m.kind === 'request' && m.method === 'BYE', 2000, 'BYE');
  t.equal(bye.callId, callId, 'BYE went out on the new connection');
  t.equal(await ended, 'local-bye');

  // New calls arrive on the new connection.
  const next = nextCall(h.engine);
  const { final } = h.standIn.sendInvite();
  (await next).reject(486);
  t.equal((await final).status, 486);
});

t.test('calls end with transport-error when drachtio-server stays away past the grace period', async (t) => {
  const clock = new FakeClock();
  const h = await startHarness({ clock, engine: { reconnectGraceMs: 5000 } });
  t.teardown(() => h.cleanup());
  const callP = nextCall(h.engine);
  const { callId } = h.standIn.sendInvite();
  const call = await callP;
  await call.answer(ANSWER_SDP);
  h.standIn.sendAck(callId);
  const ended = endedOf(call);

  h.standIn.setAvailable(false);
  h.standIn.dropClients();
  await waitForWarning(h, /lost the connection/);
  clock.advance(4999);
  t.equal(h.engine.activeCalls(), 1, 'still inside the grace period');
  clock.advance(1);
  t.equal(await ended, 'transport-error');
  t.equal(h.engine.activeCalls(), 0);
  t.ok(h.warnings.some((w) => /still away; ending 1 call/.test(w)));
});

// The caller cancels while a Realtime agent's call rings, at every point of the ringing phase:
// whatever the call started (the Realtime socket, even one still connecting or being configured)
// is closed, the account's key is not unsealed once the call is gone, and the OpenAI Realtime
// STAND-IN (not OpenAI) ends with no open session. See harness.ts for the parts around the call.
import t, { type Test } from 'tap';
import { openSessions, sessionRig, type SessionRig } from './harness.js';

async function outcomes(rig: SessionRig): Promise<string> {
  return (await rig.metrics.render()).body;
}

/** Nothing was refused on the tenant's behalf: a CANCEL is not a Realtime refusal. */
function noRefusal(t: Test, rig: SessionRig, call: { rejected: unknown }): void {
  t.same(rig.audits, [], 'no call.realtime_refused in the audit trail');
  t.equal(call.rejected, null, 'no 503 (or anything) sent after the CANCEL');
}

t.test('CANCEL before the key is unsealed (as 180 goes out): no key, no socket', async (t) => {
  const rig = await sessionRig(t);
  const { call, session } = rig.start();
  call.onProgress = () => call.cancel();
  await call.whenEnded;
  await session.whenClosed();
  t.equal(rig.unsealed.count, 0, 'the OpenAI key was never unsealed');
  t.equal(rig.clients.length, 0, 'no Realtime client was made');
  t.equal(rig.standIn.upgrades.length, 0, 'the stand-in saw no connection attempt');
  noRefusal(t, rig, call);
  t.equal(rig.registry.size, 0, 'the slot is free');
  t.match(await outcomes(rig), /kalem_calls_total\{outcome="cancelled"\} 1/);
});

t.test('CANCEL while the socket connects: the connect is aborted, no session opens', async (t) => {
  const rig = await sessionRig(t);
  rig.standIn.holdUpgrades();
  const { call, session } = rig.start();
  await rig.standIn.waitFor(() => rig.standIn.upgradesParked === 1, 5000, 'the upgrade request');
  call.cancel();
  t.same(rig.clients.map((c) => c.state), ['closed'], 'the connecting client is closed by the CANCEL itself');
  await session.whenClosed();
  await rig.standIn.waitFor(() => rig.standIn.openSockets === 0, 3000, 'the client to drop its TCP connection');
  rig.standIn.releaseUpgrades();
  t.equal(rig.standIn.connections.length, 0, 'no Realtime session was ever established');
  t.equal(rig.unsealed.count, 1, 'the key was unsealed once, for the connect that was aborted');
  noRefusal(t, rig, call);
});

t.test('CANCEL while session.update is pending: the open socket is closed', async (t) => {
  const rig = await sessionRig(t);
  rig.standIn.holdSessionUpdates();
  const { call, session } = rig.start();
  await rig.standIn.waitFor(() => (rig.standIn.heldSessionUpdates?.length ?? 0) === 1, 5000, 'session.update');
  t.equal(openSessions(rig.standIn), 1, 'one session open while it is being configured');
  call.cancel();
  t.same(rig.clients.map((c) => c.state), ['closed'], 'the client is closed by the CANCEL itself');
  await session.whenClosed();
  await rig.standIn.waitFor(() => openSessions(rig.standIn) === 0 && rig.standIn.openSockets === 0, 3000, 'the session to close');
  rig.standIn.releaseSessionUpdates();
  noRefusal(t, rig, call);
});

t.test('CANCEL once the model is ready (racing our 200 OK): the session is closed', async (t) => {
  const rig = await sessionRig(t);
  const { call, session } = rig.start();
  // An engine refuses to answer a call that was cancelled a moment before.
  call.onAnswer = () => call.cancel();
  await call.whenEnded;
  await session.whenClosed();
  await rig.standIn.waitFor(() => rig.standIn.connections.length === 1 && openSessions(rig.standIn) === 0, 3000, 'the session to close');
  t.equal(call.answered, null, 'never answered');
  t.same(rig.clients.map((c) => c.state), ['closed']);
  noRefusal(t, rig, call);
});

t.test('a call that ends normally closes its session too (the cascade, not a special case)', async (t) => {
  const rig = await sessionRig(t);
  const { call, session } = rig.start();
  await rig.standIn.waitFor(() => openSessions(rig.standIn) === 1, 5000, 'the session');
  await call.whenAnswered;
  call.ack();
  call.bye();
  await session.whenClosed();
  await rig.standIn.waitFor(() => openSessions(rig.standIn) === 0, 3000, 'the session to close');
  t.same(rig.clients.map((c) => c.state), ['closed']);
});

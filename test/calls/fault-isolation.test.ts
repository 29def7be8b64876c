// A tool that throws ends its own call and no other; nothing reaches the process as an unhandled
// rejection (in this tap process that would fail the test; in the daemon it used to kill it).
// Two Realtime calls through CallSession (harness.ts), the OpenAI Realtime STAND-IN (not OpenAI).
import t from 'tap';
import { openSessions, ScriptedCall, sessionRig } from './harness.js';

t.test('a webhook tool whose secret fails to open (tampered) ends that call only', async (t) => {
  let unsealWebhook = 0;
  const rig = await sessionRig(t, {
    realtime: {
      openSecret: (_account, name) => {
        if (name === 'webhook') {
          unsealWebhook++;
          // What the vault does for a sealed value that was tampered with.
          throw Object.assign(new Error('secret webhook of account acc_test does not open'), { code: 'KALEM_ERR_SECRET_TAMPERED' });
        }
        rig.unsealed.count++;
        return new TextEncoder().encode('sk-test-call-session-key');
      },
    },
  });
  const tools = { endCall: true, transferTarget: null, webhooks: [{ name: 'lookup_order', description: 'Looks up an order', parameters: { type: 'object', properties: {} }, url: 'https://127.0.0.1:9/hook' }] };
  const a = rig.start(new ScriptedCall(), { tools });
  const b = rig.start(new ScriptedCall(), { tools });
  await Promise.all([a.call.whenAnswered, b.call.whenAnswered]);
  a.call.ack();
  b.call.ack();
  await rig.standIn.waitFor(() => rig.standIn.connections.length === 2 && openSessions(rig.standIn) === 2, 5000, 'two sessions');
  const [connA] = rig.standIn.connections.filter((c) => !c.closed);
  connA!.callFunction('lookup_order', '{}');
  const reason = await a.call.whenEnded;
  t.equal(unsealWebhook, 1, 'the tool ran');
  t.equal(reason, 'local-bye', 'the call whose tool failed was ended by the gateway (BYE)');
  t.equal(rig.cdrs.rows.get(a.session.id)?.end?.endReason, 'internal-error', 'its CDR says why');
  await a.session.whenClosed();
  t.equal(b.call.ended, null, 'the other call is still up');
  await rig.standIn.waitFor(() => connA!.closed, 3000, "the failed call's session to close");
  t.equal(openSessions(rig.standIn), 1, 'the other model session is still open');
  t.match((await rig.metrics.render()).body, /kalem_internal_errors_total\{scope="call"\} 1/, 'counted');
  b.call.bye();
  await b.session.whenClosed();
});

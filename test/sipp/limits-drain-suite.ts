import type { Test } from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { loopbackConfig, TestGateway, type EngineUnderTest } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';
import type { IncomingCall } from '../../src/sip/sip-engine.js';

/**
 * Admission limits, CANCEL, graceful drain and metrics, with SIPp as the carrier against a real
 * in-process gateway (echo agent), on either SIP engine: test/sipp/limits-drain.test.ts runs it
 * on the embedded engine, test/drachtio-real/limits-drain.test.ts on the drachtio engine behind a
 * real drachtio-server.
 */
const NUMBER = '+14155550100';

export function limitsDrainSuite(t: Test, engine: () => EngineUnderTest): void {
async function gateway(opts: { accountLimit?: number; sip?: string; rest?: string } = {}): Promise<TestGateway> {
  const gw = new TestGateway(loopbackConfig(opts.sip ?? '', opts.rest ?? '', engine()));
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme', maxConcurrentCalls: opts.accountLimit ?? null });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', [NUMBER]);
  });
  return gw.start();
}

/** Resolves when the next call the engine hands out is confirmed (its ACK arrived). */
function nextConfirmedCall(gw: TestGateway): Promise<IncomingCall> {
  return new Promise((resolve) => {
    gw.daemon.sipEngine.once('call', (call) => call.once('confirmed', () => resolve(call)));
  });
}

const target = (gw: TestGateway): string => `127.0.0.1:${gw.port('udp')}`;

t.test('an account at its call limit gets 486 Busy Here with Retry-After', async (t) => {
  const gw = await gateway({ accountLimit: 1 });
  t.teardown(() => gw.stop());
  const up = nextConfirmedCall(gw);
  const first = runSipp({ scenario: 'uac-invite-bye.xml', target: target(gw), transport: 'u1', service: NUMBER, pauseMs: 3000 });
  await up;
  const second = await runSipp({ scenario: 'uac-expect-486-account-limit.xml', target: target(gw), transport: 'u1', service: NUMBER });
  t.equal(second.code, 0, `486 while the first call is up${second.errors}`);
  t.equal((await first).code, 0, 'the first call was not disturbed');
});

t.test('a daemon at max_calls gets 503 with Retry-After', async (t) => {
  const gw = await gateway({ rest: '[daemon]\nmax_calls = 1' });
  t.teardown(() => gw.stop());
  const up = nextConfirmedCall(gw);
  const first = runSipp({ scenario: 'uac-invite-bye.xml', target: target(gw), transport: 'u1', service: NUMBER, pauseMs: 3000 });
  await up;
  const second = await runSipp({ scenario: 'uac-expect-503-over-limit.xml', target: target(gw), transport: 'u1', service: NUMBER });
  t.equal(second.code, 0, `503 while the first call is up${second.errors}`);
  t.equal((await first).code, 0);
});

t.test('CANCEL while ringing: 200 for the CANCEL, 487 for the INVITE, CDR says cancelled', async (t) => {
  const gw = await gateway({ rest: '[calls]\necho_ring_ms = 10000' });
  t.teardown(() => gw.stop());
  const r = await runSipp({ scenario: 'uac-cancel-expect-487.xml', target: target(gw), transport: 'u1', service: NUMBER });
  t.equal(r.code, 0, r.errors);
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  const row = db.prepare('SELECT end_reason, hangup_by, answered_at FROM calls').get() as Record<string, unknown>;
  db.close();
  t.same(row, { end_reason: 'cancelled', hangup_by: 'caller', answered_at: null });
  t.equal(gw.daemon.calls.activeCalls, 0);
});

t.test('SIGTERM drain: the call in progress carries on, new INVITEs and OPTIONS get 503', async (t) => {
  const gw = await gateway({ rest: '[daemon]\ndrain_timeout_ms = 30000' });
  t.teardown(() => gw.stop());
  const up = nextConfirmedCall(gw);
  const inProgress = runSipp({ scenario: 'uac-invite-bye.xml', target: target(gw), transport: 'u1', service: NUMBER, pauseMs: 3000 });
  await up;
  let stopped = false;
  const stopping = gw.daemon.stop('SIGTERM').then(() => (stopped = true));
  // drachtio engine: a draining gateway leaves drachtio-server's rotation; with no other gateway
  // attached, drachtio-server answers the 503 itself (without Retry-After).
  const drained = engine().name === 'drachtio' ? 'uac-expect-503-no-gateway.xml' : 'uac-expect-503-over-limit.xml';
  const invite = await runSipp({ scenario: drained, target: target(gw), transport: 'u1', service: NUMBER });
  t.equal(invite.code, 0, `a new INVITE gets 503 while draining${invite.errors}`);
  const options = await runSipp({ scenario: 'uac-options-expect-503-draining.xml', target: target(gw), transport: 'u1', service: NUMBER });
  t.equal(options.code, 0, `OPTIONS get 503 while draining${options.errors}`);
  t.notOk(stopped, 'the daemon waits for the call in progress');
  const call = await inProgress;
  t.equal(call.code, 0, 'the call in progress ended normally (its BYE was answered)');
  await stopping;
  t.ok(stopped, 'the daemon stopped once the call had ended');
});

t.test('a second stop() ends the drain at once and still hangs up the calls', async (t) => {
  const gw = await gateway({ rest: '[daemon]\ndrain_timeout_ms = 60000' });
  t.teardown(() => gw.stop());
  const up = nextConfirmedCall(gw);
  const inProgress = runSipp({ scenario: 'uac-expect-bye.xml', target: target(gw), transport: 'u1', service: NUMBER });
  await up;
  const first = gw.daemon.stop('SIGTERM');
  await gw.daemon.stop('SIGTERM again');
  await first;
  const r = await inProgress;
  t.equal(r.code, 0, `the caller received the gateway's BYE${r.errors}`);
});

t.test('/metrics counts calls by outcome and /healthz reports the parts', async (t) => {
  const gw = await gateway();
  t.teardown(() => gw.stop());
  t.equal((await runSipp({ scenario: 'uac-invite-bye.xml', target: target(gw), transport: 'u1', service: NUMBER, pauseMs: 200 })).code, 0);
  t.equal((await runSipp({ scenario: 'uac-expect-404-unknown-did.xml', target: target(gw), transport: 'u1', service: '+14155550177' })).code, 0);
  const api = gw.daemon.apiAddress()!;
  const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
  t.match(metrics, /^kalem_calls_total\{outcome="answered"\} 1$/m);
  t.match(metrics, /^kalem_calls_total\{outcome="rejected_404"\} 1$/m);
  t.match(metrics, /^kalem_calls_active 0$/m);
  t.match(metrics, /^kalem_invite_answer_seconds_count 1$/m);
  t.match(metrics, /^kalem_rtp_packets_received_total [1-9]/m);
  const health = await fetch(`http://127.0.0.1:${api.port}/healthz`);
  t.equal(health.status, 200);
  const body = (await health.json()) as { checks: Record<string, { ok: boolean }> };
  // The gateway runs behind its managed rtpengine (the default mode), which /healthz pings too.
  t.same(Object.keys(body.checks).sort(), ['accepting', 'database', 'rtpengine', 'sip']);
  t.equal(body.checks.rtpengine?.ok, true, 'rtpengine answers ping');
});

t.test('a caller that stops sending RTP is hung up after calls.media_timeout_ms', async (t) => {
  const gw = await gateway({ rest: '[calls]\nmedia_timeout_ms = 1500' });
  t.teardown(() => gw.stop());
  // uac-expect-bye sends no RTP at all and waits (up to 20 s) for the gateway's BYE.
  const r = await runSipp({ scenario: 'uac-expect-bye.xml', target: target(gw), transport: 'u1', service: NUMBER });
  t.equal(r.code, 0, `the gateway sent BYE${r.errors}`);
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  const row = db.prepare('SELECT end_reason, hangup_by FROM calls').get() as Record<string, unknown>;
  db.close();
  t.same(row, { end_reason: 'media-timeout', hangup_by: 'gateway' });
  t.equal(gw.records('no RTP from the caller: ending the call').length, 1);
});
}

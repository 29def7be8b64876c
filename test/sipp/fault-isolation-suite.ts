import type { Test } from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { loopbackConfig, TestGateway, type EngineUnderTest } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';

/**
 * An uncaught error while handling one call ends that call, not the daemon. On either engine:
 * test/sipp/call-fault-isolation.test.ts (embedded), test/drachtio-real/call-fault-isolation.test.ts.
 */
export function faultIsolationSuite(t: Test, engine: () => EngineUnderTest): void {
  t.test('a fault in one call ends that call; the next call works', async (t) => {
    const gw = new TestGateway(loopbackConfig('', '', engine()));
    await gw.provision((app) => {
      app.provisioning.createAccount({ name: 'acme' });
      app.provisioning.createAgent('acme', { name: 'echo', kind: 'echo' });
      app.provisioning.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
      app.provisioning.addNumbers('acme', 'echo', ['+14155550100']);
    });
    await gw.start();
    t.teardown(() => gw.stop());
    const target = `127.0.0.1:${gw.port('udp')}`;
    // Fault injection: once the first call is up, its re-INVITE handling throws.
    gw.daemon.sipEngine.once('call', (call) =>
      call.once('confirmed', () =>
        call.setReinviteHandler(() => {
          throw new Error('injected fault');
        }),
      ),
    );
    const faulty = await runSipp({ scenario: 'uac-reinvite-hold.xml', target, transport: 'u1', service: '+14155550100' });
    t.not(faulty.code, 0, 'the faulty call does not complete its scenario');
    t.match(faulty.messages, /SIP\/2\.0 500/, 'its re-INVITE got 500');
    t.match(faulty.messages, /^BYE sip:/m, 'and the gateway ended it with BYE');
    t.equal(gw.records('in-dialog request failed: ending the call').length, 1);
    const next = await runSipp({ scenario: 'uac-invite-bye.xml', target, transport: 'u1', service: '+14155550100', pauseMs: 300 });
    t.equal(next.code, 0, `the daemon still answers calls${next.errors}`);
    const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
    const rows = db.prepare('SELECT end_reason FROM calls ORDER BY started_at').all() as Array<{ end_reason: string }>;
    db.close();
    t.same(rows.map((r) => r.end_reason), ['local-bye', 'remote-bye']);
  });
}

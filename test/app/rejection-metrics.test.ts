import t from 'tap';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';
import type { IncomingCall } from '../../src/sip/sip-engine.js';

/**
 * Issue 10 item 17: refused calls are counted per account, with status and cause, so a tenant's
 * 403s, 404s, 486s and 503s show up in /metrics (kalem_calls_rejected_total).
 */
const ACME = '+14155550100';
const GLOBEX = '+14155550200';
const UNKNOWN = '+14155550999';

t.test('rejections are counted by account, status and cause', async (t) => {
  const gw = new TestGateway(loopbackConfig('', '[rtpengine]\nmode = "off"'));
  const ids: Record<string, string> = {};
  await gw.provision((app) => {
    const p = app.provisioning;
    ids.acme = p.createAccount({ name: 'acme', maxConcurrentCalls: 1 }).id;
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', [ACME]);
    ids.globex = p.createAccount({ name: 'globex' }).id;
    p.createAgent('globex', { name: 'echo', kind: 'echo' });
    p.addNumbers('globex', 'echo', [GLOBEX]);
  });
  await gw.start();
  t.teardown(() => gw.stop());
  const target = `127.0.0.1:${gw.port('udp')}`;
  const sipp = (scenario: string, service: string, localIp?: string) =>
    runSipp({ scenario, target, transport: 'u1', service, ...(localIp ? { localIp } : {}) });

  t.equal((await sipp('uac-expect-404-unknown-did.xml', UNKNOWN)).code, 0, '404: acme\'s trunk dials an unknown number');
  t.equal((await sipp('uac-expect-404-unknown-did.xml', GLOBEX)).code, 0, '404: acme\'s trunk dials globex\'s number');
  t.equal((await sipp('uac-expect-403-untrusted.xml', GLOBEX, '127.0.0.2')).code, 0, '403: a stranger dials globex');
  t.equal((await sipp('uac-expect-403-untrusted.xml', UNKNOWN, '127.0.0.2')).code, 0, '403: a stranger dials nobody\'s number');
  const up = new Promise<IncomingCall>((resolve) => gw.daemon.sipEngine.once('call', (c) => c.once('confirmed', () => resolve(c))));
  const first = runSipp({ scenario: 'uac-invite-bye.xml', target, transport: 'u1', service: ACME, pauseMs: 2000 });
  await up;
  t.equal((await sipp('uac-expect-486-account-limit.xml', ACME)).code, 0, '486: acme at its limit');
  t.equal((await first).code, 0);

  const res = await fetch(`http://127.0.0.1:${gw.daemon.apiAddress()!.port}/metrics`);
  const text = await res.text();
  const series = text
    .split('\n')
    .filter((l) => l.startsWith('kalem_calls_rejected_total{'))
    .map((l) => l.replace(ids.acme!, 'ACME').replace(ids.globex!, 'GLOBEX'))
    .sort();
  t.same(series, [
    'kalem_calls_rejected_total{account="ACME",status="404",cause="no_route"} 2',
    'kalem_calls_rejected_total{account="ACME",status="486",cause="account_limit"} 1',
    'kalem_calls_rejected_total{account="GLOBEX",status="403",cause="untrusted_source"} 1',
    'kalem_calls_rejected_total{account="none",status="403",cause="untrusted_source"} 1',
  ]);
});

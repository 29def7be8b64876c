import t from 'tap';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';

/**
 * Issue 10 item 7: a digest-only trunk (no CIDR) must not be rate-limited like a stranger. With
 * a limit of 8 requests per 10 s, SIPp places 6 digest-authenticated calls (INVITE, 401, ACK,
 * INVITE with credentials, 200, ACK, BYE: five requests each, 30 in all) from one address.
 * Once the first INVITE's credentials verify, the address is spared the limit; before, the
 * ninth request started a 60 s silence and the calls failed.
 */
const NUMBER = '+14155550102';

t.test('a digest-only carrier above the stranger rate limit keeps getting its calls through', async (t) => {
  const gw = new TestGateway(
    loopbackConfig('digest_algorithms = ["MD5"]\nrate_limit_requests = 8\nrate_limit_window_ms = 10000', '[rtpengine]\nmode = "off"'),
  );
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'digest-co' });
    p.createAgent('digest-co', { name: 'echo', kind: 'echo' });
    p.addTrunk('digest-co', { name: 'auth', cidrs: [], digestUsername: 'trunkuser', digestPassword: new TextEncoder().encode('trunk-pass-123') });
    p.addNumbers('digest-co', 'echo', [NUMBER]);
  });
  await gw.start();
  t.teardown(() => gw.stop());
  const target = `127.0.0.1:${gw.port('udp')}`;
  const run = await runSipp({
    scenario: 'uac-digest-auth.xml',
    target,
    transport: 'u1',
    service: NUMBER,
    calls: 6,
    pauseMs: 100,
    timeoutS: 40,
    extra: ['-au', 'trunkuser', '-ap', 'trunk-pass-123', '-auth_uri', `${NUMBER}@${target}`, '-r', '20'],
  });
  t.equal(run.code, 0, `all six calls completed${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-1500)}`}`);
  t.equal(gw.records('source over the request-rate limit: ignoring it').length, 0, 'the carrier was never blocked');

  // A stranger with wrong credentials from another address is still limited.
  const wrong = await runSipp({
    scenario: 'uac-digest-auth.xml',
    target,
    transport: 'u1',
    service: NUMBER,
    localIp: '127.0.0.9',
    calls: 6,
    pauseMs: 100,
    timeoutS: 8,
    extra: ['-au', 'trunkuser', '-ap', 'wrong', '-auth_uri', `${NUMBER}@${target}`, '-r', '20'],
  });
  t.not(wrong.code, 0, 'wrong credentials get no call through');
  t.ok(gw.records('source over the request-rate limit: ignoring it').some((r) => r.source === '127.0.0.9'), 'and that source was blocked');
});

import t from 'tap';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { freeUdpPort } from '../../src/media/rtpengine/free-port.js';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';
import { processAlive } from '../media/rtpengine/helpers.js';
import { cdrs, ECHO, mediaGateway, until } from './helpers.js';

/**
 * What callers see when rtpengine fails, with the REAL rtpengine 10.5 and real SIPp:
 *  - the managed rtpengine is SIGKILLed during a call: the call gets a BYE from the gateway,
 *    the supervisor starts a new rtpengine, and once it is `ready` a new call works end to end;
 *  - an external rtpengine that is not there (ng address of a closed port): INVITE → 503 with
 *    Retry-After, and the daemon keeps running;
 *  - the daemon stopping with a call up: the call's rtpengine delete runs before rtpengine stops.
 */

t.test('rtpengine SIGKILLed mid-call: the call gets a BYE, and calls work again once it is back', async (t) => {
  const { gw } = await mediaGateway();
  t.teardown(() => gw.stop());
  const supervisor = gw.daemon.rtpengine?.supervisor;
  t.ok(supervisor, 'the daemon runs a managed rtpengine');
  if (!supervisor) return;
  const target = `127.0.0.1:${gw.port('udp')}`;
  const firstPid = supervisor.pid!;

  // uac-expect-bye answers the gateway's BYE with 200 (waiting up to 20 s for it) and succeeds.
  const call = runSipp({ scenario: 'uac-expect-bye.xml', target, transport: 'u1', service: ECHO, timeoutS: 40 });
  await until('the call to be answered through rtpengine', () => gw.records('call answered').length === 1, 15_000);
  t.same(gw.daemon.mediaAnchor!.trackedCalls().length, 1, 'rtpengine anchors the call');

  const back = new Promise<{ pid: number; restarts: number }>((resolve) => supervisor.once('ready', resolve));
  // An INVITE sent the moment rtpengine is seen dead arrives while the supervisor waits to
  // restart it (200 ms at first): admission must refuse it with 503 rather than try an offer.
  const whileDown = new Promise<string>((resolve, reject) => supervisor.once('exited', () => inviteOverUdp(gw.port('udp')).then(resolve, reject)));
  process.kill(firstPid, 'SIGKILL');
  const run = await call;
  t.equal(run.code, 0, `SIPp got a BYE from the gateway and answered it${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-1500)}`}`);
  const cdr = cdrs(gw).at(-1)!;
  t.equal(cdr.end_reason, 'local-bye', 'the gateway ended the call');
  t.equal(cdr.hangup_by, 'gateway');
  t.ok(gw.records('rtpengine died: ending its calls; new calls get 503 until it is back').length === 1, 'the death is logged once');
  t.same(gw.daemon.mediaAnchor!.trackedCalls(), [], 'the lost call is no longer tracked');
  t.equal(gw.daemon.calls.activeCalls, 0, 'its registry slot is free');

  const refused = await whileDown;
  t.match(refused, /^SIP\/2\.0 503 /, 'an INVITE while rtpengine is down gets 503');
  t.match(refused, /\r\nRetry-After: \d+\r\n/i, 'with Retry-After');
  t.ok(gw.records('call rejected').some((r) => r.why === 'rtpengine unavailable'), 'refused at admission: rtpengine unavailable');
  const ready = await back;
  t.not(ready.pid, firstPid, `a new rtpengine (pid ${ready.pid}) replaced the killed one (pid ${firstPid})`);
  t.equal(ready.restarts, 1);

  const again = await runSipp({ scenario: 'uac-invite-bye.xml', target, transport: 'u1', service: ECHO, pauseMs: 1500 });
  t.equal(again.code, 0, `a new call succeeds after the restart${again.code === 0 ? '' : `\n${again.errors}`}`);
  const next = cdrs(gw).at(-1)!;
  t.equal(next.end_reason, 'remote-bye');
  t.equal(next.media?.anchored, true);
  t.ok((next.media?.received ?? 0) > 20, `its RTP went through the new rtpengine to the echo agent (${next.media?.received} packets)`);
  t.equal(next.media?.sent, next.media?.received, 'and back');
  await gw.daemon.calls.mediaReleased();
  t.same(await gw.daemon.mediaAnchor!.activeSessions(), [], 'the new rtpengine holds no session afterwards');
});

t.test('rtpengine unreachable (external mode, nothing on the ng port): INVITE gets 503 with Retry-After', async (t) => {
  const closed = await freeUdpPort();
  const gw = new TestGateway(
    loopbackConfig('', `[log]\nlevel = "debug"\n[rtpengine]\nmode = "external"\nng_address = "127.0.0.1:${closed}"\ncommand_timeout_ms = 1000\n`),
  );
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme' });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', [ECHO]);
  });
  await gw.start();
  t.teardown(() => gw.stop());
  t.equal(gw.daemon.rtpengine?.mode, 'external');
  t.ok(gw.records('rtpengine (external) does not answer: INVITEs get 503 until it does').length === 1, 'the start-up ping failure is logged, and the daemon runs');

  const run = await runSipp({ scenario: 'uac-expect-503-over-limit.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: ECHO });
  t.equal(run.code, 0, `SIPp got 503 with a Retry-After header${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-1500)}`}`);
  const refused = gw.records('call refused after admission');
  t.equal(refused.length, 1);
  t.equal(refused[0]?.status, 503);
  t.match(String(refused[0]?.why), /^rtpengine offer: /, `because the offer to rtpengine failed: ${String(refused[0]?.why)}`);
  const cdr = cdrs(gw).at(-1)!;
  t.equal(cdr.answered_at, null, 'never answered');
  t.equal(cdr.end_reason, 'rejected');
  t.equal(gw.daemon.calls.activeCalls, 0, 'no call left behind');
});

t.test('shutdown with a call up: BYE, then its rtpengine delete, then rtpengine stops', async (t) => {
  const { gw } = await mediaGateway({ rest: '[daemon]\ndrain_timeout_ms = 0' });
  t.teardown(() => gw.stop());
  const supervisor = gw.daemon.rtpengine!.supervisor!;
  const pid = supervisor.pid!;
  const anchor = gw.daemon.mediaAnchor!;
  const deletes: Array<'ok' | 'failed'> = [];
  const realDelete = anchor.delete.bind(anchor);
  anchor.delete = async (input) => {
    try {
      await realDelete(input);
      deletes.push('ok');
    } catch (err) {
      deletes.push('failed');
      throw err;
    }
  };
  const call = runSipp({ scenario: 'uac-expect-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: ECHO, timeoutS: 40 });
  await until('the call to be answered', () => gw.records('call answered').length === 1, 15_000);
  await gw.daemon.stop('test shutdown');
  const run = await call;
  t.equal(run.code, 0, `SIPp got the gateway's BYE${run.code === 0 ? '' : `\n${run.errors}`}`);
  t.same(deletes, ['ok'], 'the call was deleted in rtpengine once, while rtpengine still ran');
  t.equal(supervisor.state, 'closed', 'then the managed rtpengine was stopped');
  t.notOk(processAlive(pid), `rtpengine (pid ${pid}) is gone`);
  const cdr = cdrs(gw).at(-1);
  t.same([cdr?.end_reason, cdr?.hangup_by], ['local-bye', 'gateway'], 'the CDR says the gateway hung up');
});

/**
 * One INVITE over UDP from 127.0.0.1 (a trusted carrier source); resolves with the first final
 * response, after ACKing it (RFC 3261 §17.1.1.3). For moments too short to start SIPp.
 */
async function inviteOverUdp(port: number): Promise<string> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const local = socket.address().port;
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  const callId = `${randomBytes(8).toString('hex')}@media-e2e`;
  const from = `<sip:+14155550999@127.0.0.1:${local}>;tag=${randomBytes(4).toString('hex')}`;
  const body = ['v=0', 'o=carrier 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 49170 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
  const head = (method: string, cseq: string, to: string, len: number): string =>
    [
      `${method} sip:${ECHO}@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: ${from}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq}`,
      `Contact: <sip:carrier@127.0.0.1:${local}>`,
      ...(len > 0 ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${len}`,
      '',
      '',
    ].join('\r\n');
  try {
    const final = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no final response to the INVITE within 5 s')), 5000);
      socket.on('message', (m) => {
        const text = m.toString('utf8');
        if (/^SIP\/2\.0 1\d\d /.test(text)) return;
        clearTimeout(timer);
        resolve(text);
      });
    });
    socket.send(head('INVITE', '1 INVITE', `<sip:${ECHO}@127.0.0.1>`, Buffer.byteLength(body)) + body, port, '127.0.0.1');
    const response = await final;
    const to = /^To: (.*)$/im.exec(response)?.[1]?.trim() ?? `<sip:${ECHO}@127.0.0.1>`;
    await new Promise<void>((resolve) => socket.send(head('ACK', '1 ACK', to, 0), port, '127.0.0.1', () => resolve()));
    return response;
  } finally {
    socket.close();
  }
}

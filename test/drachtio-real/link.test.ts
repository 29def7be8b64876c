import t from 'tap';
import { DrachtioServer, drachtioSkipReason } from '../helpers/drachtio.js';
import type { TestGateway } from '../helpers/gateway.js';
import { runSipp } from '../helpers/sipp.js';
import type { IncomingCall } from '../../src/sip/sip-engine.js';
import { ECHO, ok, provisionedGateway } from '../sipp/scenario-suite.js';

/**
 * The link between the drachtio engine and a REAL drachtio-server (DRACHTIO_BIN): the watchdog
 * finds a server that is connected but deaf (SIGSTOP: the TCP connection stays up, nothing is
 * read), drops the link and says so in the log and in /healthz; the link comes back by itself;
 * SIGTERM finishes although BYEs cannot go out; reconnecting after an outage is not slowed by an
 * ever-growing back-off.
 */
const notRun = drachtioSkipReason();

function warning(gw: TestGateway, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const on = (m: string): void => {
      if (!pattern.test(m)) return;
      gw.daemon.sipEngine.off('warning', on);
      resolve(m);
    };
    gw.daemon.sipEngine.on('warning', on);
  });
}

async function health(gw: TestGateway): Promise<{ status: string; checks: Record<string, { ok: boolean; detail?: string }> }> {
  const res = await fetch(`http://127.0.0.1:${gw.daemon.apiAddress()!.port}/healthz`);
  return (await res.json()) as never;
}

/** Resolves when the next call the engine hands out is confirmed (its ACK arrived). */
function nextConfirmedCall(gw: TestGateway): Promise<IncomingCall> {
  return new Promise((resolve) => gw.daemon.sipEngine.once('call', (call) => call.once('confirmed', () => resolve(call))));
}

if (notRun) {
  t.plan(0, notRun);
} else {
  t.test('a deaf drachtio-server is found by the watchdog, reported in /healthz, and the link comes back', async (t) => {
    const server = await DrachtioServer.start({ tls: false });
    t.teardown(() => server.stop());
    const gw = await provisionedGateway({ name: 'drachtio', server }, 'drachtio_watchdog_ms = 500');
    t.teardown(() => gw.stop());
    const proven = await new Promise<{ ok: boolean; detail?: string }>((resolve) => {
      const poll = async (): Promise<void> => {
        const h = (await health(gw)).checks.sip!;
        if (/link proven/.test(h.detail ?? '')) resolve(h);
        else setTimeout(() => void poll(), 100);
      };
      void poll();
    });
    t.equal(proven.ok, true, `/healthz: ${proven.detail}`);

    const dead = warning(gw, /no answer to the link probe/);
    server.signal('SIGSTOP');
    t.match(await dead, /no answer to the link probe within \d+ ms; reconnecting/, 'the watchdog found the link deaf');
    t.ok(gw.logs.some((l) => l.includes('"level":50') && l.includes('drachtio-server link is dead')), 'and logged it as an error');
    const down = await health(gw);
    t.equal(down.status, 'fail', '/healthz fails');
    t.equal(down.checks.sip?.ok, false);
    t.match(down.checks.sip?.detail, /not connected to drachtio-server/, `it says why: ${down.checks.sip?.detail}`);

    const back = warning(gw, /^reconnected to drachtio-server/);
    server.signal('SIGCONT');
    await back;
    t.pass('reconnected once drachtio-server answered again');
    const call = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${server.sipPort}`, transport: 'u1', service: ECHO, pauseMs: 300 });
    ok(t, call, 'a call after the outage');
  });

  t.test('SIGTERM finishes although drachtio-server cannot carry the BYE', async (t) => {
    const server = await DrachtioServer.start({ tls: false });
    t.teardown(() => server.stop());
    const gw = await provisionedGateway({ name: 'drachtio', server }, 'drachtio_watchdog_ms = 0', '[daemon]\ndrain_timeout_ms = 500');
    t.teardown(() => gw.stop());
    const up = nextConfirmedCall(gw);
    // uac-expect-bye waits (up to 20 s) for the gateway's BYE, which never comes here.
    const caller = runSipp({ scenario: 'uac-expect-bye.xml', target: `127.0.0.1:${server.sipPort}`, transport: 'u1', service: ECHO, timeoutS: 25 });
    await up;
    server.signal('SIGSTOP');
    const stopped = gw.daemon.stop('SIGTERM').then(() => 'stopped' as const);
    const verdict = await Promise.race([stopped, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    t.equal(verdict, 'stopped', 'the daemon stopped (its BYE and the drain have deadlines)');
    t.ok(gw.logs.some((l) => l.includes('stopping without answers to every BYE')), 'and said that its BYEs went unanswered');
    server.signal('SIGCONT');
    await caller;
  });

  t.test('after a drachtio-server outage the engine reconnects promptly (back-off capped at 2 s)', async (t) => {
    const server = await DrachtioServer.start({ tls: false });
    t.teardown(() => server.stop());
    const gw = await provisionedGateway({ name: 'drachtio', server });
    t.teardown(() => gw.stop());
    const lost = warning(gw, /^lost the connection/);
    server.signal('SIGKILL');
    await server.whenExited();
    await lost;
    // 8 s away: drachtio-srf's own back-off (×1.7 from 150 ms) would be waiting ~6 s between tries by now.
    await new Promise((r) => setTimeout(r, 8000));
    const back = warning(gw, /^reconnected to drachtio-server/);
    const restartedAt = Date.now();
    await server.relaunch();
    await back;
    const waited = Date.now() - restartedAt;
    const delays = gw.records('reconnecting to drachtio-server').map((r) => Number(r.delayMs));
    t.ok(delays.length >= 4, `it kept trying during the outage (${delays.length} attempts)`);
    t.ok(delays.every((d) => d <= 2000), `no wait between attempts was over 2 s (${delays.join(', ')} ms; drachtio-srf's own back-off grows by 1.7× without bound)`);
    t.comment(`reconnected ${waited} ms after drachtio-server came back`);
    const call = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${server.sipPort}`, transport: 'u1', service: ECHO, pauseMs: 300 });
    ok(t, call, 'a call after the restart');
  });
}

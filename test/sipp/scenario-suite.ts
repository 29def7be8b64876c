import type { Test } from 'tap';
import Database from 'better-sqlite3';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { loopbackConfig, TestGateway, type EngineUnderTest } from '../helpers/gateway.js';
import { runSipp, type SippRun } from '../helpers/sipp.js';

/**
 * The SIPp suite, run against either SIP engine over UDP and TCP: test/sipp/embedded-scenarios.test.ts
 * runs it on the embedded engine, test/drachtio-real/sipp-scenarios.test.ts on the drachtio
 * engine behind a real drachtio-server. Real SIPp (Debian sip-tester), real sockets, the echo
 * agent answering. Each scenario file is named after what it expects.
 *
 * Where the engines differ on purpose, the suite says so in one place:
 *  - a known scanner: the embedded engine drops it silently; the drachtio engine answers a bare
 *    403 (drachtio-server keeps a request until its application answers, so silence would leak it);
 *  - the SIP trace with the redacted Authorization line is the embedded engine's log.
 */

export const ECHO = '+14155550100';
export const SHORT = '+14155550101';
export const DIGEST = '+14155550102';
export const UNKNOWN = '+14155550199';

export async function provisionedGateway(engine: EngineUnderTest, extraSip = '', extraToml = ''): Promise<TestGateway> {
  // SIPp only answers MD5 challenges, and only reads the first one.
  const gw = new TestGateway(
    loopbackConfig(`digest_algorithms = ["MD5"]\n${extraSip}`, `[log]\nlevel = "debug"\nsip_trace = true\n${extraToml}`, engine),
  );
  await gw.provision((app) => {
    const p = app.provisioning;
    p.createAccount({ name: 'acme' });
    p.createAgent('acme', { name: 'echo', kind: 'echo' });
    p.createAgent('acme', { name: 'short', kind: 'echo', maxCallSeconds: 1 });
    p.addTrunk('acme', { name: 'carrier', cidrs: ['127.0.0.1/32'] });
    p.addNumbers('acme', 'echo', [ECHO]);
    p.addNumbers('acme', 'short', [SHORT]);
    p.createAccount({ name: 'digest-co' });
    p.createAgent('digest-co', { name: 'echo', kind: 'echo' });
    p.addTrunk('digest-co', { name: 'auth', cidrs: ['127.0.0.3/32'], digestUsername: 'trunkuser', digestPassword: new TextEncoder().encode('trunk-pass-123') });
    p.addNumbers('digest-co', 'echo', [DIGEST]);
  });
  return gw.start();
}

export function ok(t: Pick<Test, 'equal'>, run: SippRun, what: string): void {
  t.equal(run.code, 0, `${what}: SIPp reports every call successful${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-2000)}`}`);
}

export function cdrs(gw: TestGateway): Array<{ end_reason: string; hangup_by: string; answered_at: string | null; details: string }> {
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  try {
    return db.prepare('SELECT end_reason, hangup_by, answered_at, details FROM calls ORDER BY started_at').all() as never;
  } finally {
    db.close();
  }
}

/** Every scenario of sipp-scenarios/ that is not about limits or draining, over UDP and TCP. */
export function scenarioSuite(t: Test, engine: () => EngineUnderTest): void {
  for (const transport of ['u1', 't1'] as const) {
    t.test(`scenarios over ${transport === 'u1' ? 'UDP' : 'TCP'}`, async (t) => {
      const e = engine();
      const gw = await provisionedGateway(e);
      t.teardown(() => gw.stop());
      const target = `127.0.0.1:${gw.port(transport === 'u1' ? 'udp' : 'tcp')}`;
      const sipp = (scenario: string, service: string, extra: Partial<Parameters<typeof runSipp>[0]> = {}) =>
        runSipp({ scenario, target, transport, service, ...extra });

      const call = await sipp('uac-invite-bye.xml', ECHO, { pauseMs: 2000 });
      ok(t, call, 'uac-invite-bye');
      const first = cdrs(gw).at(-1)!;
      t.equal(first.end_reason, 'remote-bye');
      t.equal(first.hangup_by, 'caller');
      const media = (JSON.parse(first.details) as { media: { received: number; sent: number; codec: string } }).media;
      t.equal(media.codec, 'PCMA/8000', 'the first offered codec we support');
      t.ok(media.received > 50, `RTP from the pcap reached the echo agent (${media.received} packets)`);
      t.equal(media.sent, media.received, 'every packet was echoed back to the caller');

      ok(t, await sipp('uac-expect-404-unknown-did.xml', UNKNOWN), 'uac-expect-404-unknown-did');
      ok(t, await sipp('uac-expect-403-untrusted.xml', ECHO, { localIp: '127.0.0.2' }), 'uac-expect-403-untrusted');
      ok(t, await sipp('uac-options-ping.xml', ECHO), 'uac-options-ping');
      ok(t, await sipp('uac-reinvite-hold.xml', ECHO), 'uac-reinvite-hold');
      ok(t, await sipp('uac-malformed-expect-400.xml', ECHO), 'uac-malformed-expect-400');
      ok(t, await sipp('uac-max-forwards-0-expect-483.xml', ECHO), 'uac-max-forwards-0-expect-483');
      ok(t, await sipp('uac-require-expect-420.xml', ECHO), 'uac-require-expect-420');
      const digest = await sipp('uac-digest-auth.xml', DIGEST, { localIp: '127.0.0.3', extra: ['-au', 'trunkuser', '-ap', 'trunk-pass-123', '-auth_uri', `${DIGEST}@${target}`] });
      ok(t, digest, 'uac-digest-auth');
      const response = /Authorization: Digest .*response="([0-9a-f]+)"/.exec(digest.messages)?.[1];
      t.ok(response, 'SIPp sent digest credentials');
      if (e.name === 'embedded') {
        // The SIP trace (debug level) shows the INVITE but never its digest response.
        t.ok(gw.records('sip trace').some((r) => String(r.sip).includes('Authorization: Digest [redacted]')), 'the trace has the Authorization line, redacted');
      }
      t.notOk(gw.logs.some((l) => l.includes(response!)), 'the digest response value appears in no log line');
      const wrongPassword = await sipp('uac-digest-auth.xml', DIGEST, { localIp: '127.0.0.3', extra: ['-au', 'trunkuser', '-ap', 'wrong', '-auth_uri', `${DIGEST}@${target}`] });
      t.not(wrongPassword.code, 0, 'a wrong digest password does not get the call through');
      t.match(wrongPassword.messages, /SIP\/2\.0 403/, 'it gets 403');

      const short = await sipp('uac-expect-bye.xml', SHORT);
      ok(t, short, 'uac-expect-bye');
      const last = cdrs(gw).at(-1)!;
      t.equal(last.end_reason, 'local-bye');
      t.equal(last.hangup_by, 'gateway');

      if (transport === 'u1') {
        const scanner = e.name === 'embedded' ? 'uac-scanner-expect-no-answer.xml' : 'uac-scanner-expect-403-bare.xml';
        ok(t, await sipp(scanner, ECHO, { localIp: '127.0.0.4' }), scanner.replace('.xml', ''));
      }
      t.equal(gw.daemon.calls.activeCalls, 0, 'no call left behind');
    });
  }

  t.test('the request-rate limit: a source over it is refused until its block ends; trunks are exempt', async (t) => {
    const e = engine();
    const gw = await provisionedGateway(e, 'rate_limit_requests = 5\nrate_limit_window_ms = 10000\nrate_limit_block_ms = 60000');
    t.teardown(() => gw.stop());
    const port = gw.port('udp');
    const statusesFrom = async (address: string, n: number): Promise<Array<number | null>> => {
      const socket = createSocket('udp4');
      socket.bind(0, address);
      await once(socket, 'listening');
      const local = socket.address().port;
      const out: Array<number | null> = [];
      try {
        for (let i = 0; i < n; i++) {
          const callId = `rate-${address}-${i}-${Date.now()}`;
          const request = [
            `OPTIONS sip:${address === '127.0.0.1' ? 'ping' : 'probe'}@127.0.0.1:${port} SIP/2.0`,
            `Via: SIP/2.0/UDP ${address}:${local};branch=z9hG4bK-${callId};rport`,
            `From: <sip:probe@${address}>;tag=${i}`,
            `To: <sip:probe@127.0.0.1>`,
            `Call-ID: ${callId}`,
            'CSeq: 1 OPTIONS',
            'Max-Forwards: 70',
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n');
          const answered = new Promise<number>((resolve) => {
            const on = (m: Buffer): void => {
              const text = m.toString('latin1');
              if (!text.includes(callId)) return;
              socket.off('message', on);
              resolve(Number(text.slice(8, 11)));
            };
            socket.on('message', on);
          });
          socket.send(request, port, '127.0.0.1');
          // Silence is the embedded engine's answer to a blocked source: 500 ms is ample on loopback.
          out.push(await Promise.race([answered, new Promise<null>((r) => setTimeout(() => r(null), 500))]));
        }
      } finally {
        socket.close();
      }
      return out;
    };
    const stranger = await statusesFrom('127.0.0.5', 8);
    t.same(stranger.slice(0, 5), [200, 200, 200, 200, 200], 'the first 5 requests of the window are answered');
    const refused = e.name === 'embedded' ? null : 403;
    t.same(stranger.slice(5), [refused, refused, refused], e.name === 'embedded' ? 'then silence' : 'then a bare 403 (drachtio-server needs an answer)');
    t.same(await statusesFrom('127.0.0.5', 1), [refused], 'and it stays blocked');
    t.same(await statusesFrom('127.0.0.1', 8), [200, 200, 200, 200, 200, 200, 200, 200], 'a trunk address is never rate-limited');
  });
}

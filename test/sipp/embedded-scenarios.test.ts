import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { loopbackConfig, TestGateway } from '../helpers/gateway.js';
import { runSipp, type SippRun } from '../helpers/sipp.js';

/**
 * The SIPp suite against the embedded engine, over UDP and TCP. Real SIPp (Debian sip-tester),
 * real sockets, the echo agent answering. Each scenario file is named after what it expects.
 */

const ECHO = '+14155550100';
const SHORT = '+14155550101';
const DIGEST = '+14155550102';
const UNKNOWN = '+14155550199';

async function provisionedGateway(extraToml = ''): Promise<TestGateway> {
  // SIPp only answers MD5 challenges, and only reads the first one.
  const gw = new TestGateway(loopbackConfig('digest_algorithms = ["MD5"]', `[log]\nlevel = "debug"\nsip_trace = true\n${extraToml}`));
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

function ok(t: Pick<typeof import('tap').default, 'equal'>, run: SippRun, what: string): void {
  t.equal(run.code, 0, `${what}: SIPp reports every call successful${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-2000)}`}`);
}

function cdrs(gw: TestGateway): Array<{ end_reason: string; hangup_by: string; answered_at: string | null; details: string }> {
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  try {
    return db.prepare('SELECT end_reason, hangup_by, answered_at, details FROM calls ORDER BY started_at').all() as never;
  } finally {
    db.close();
  }
}


for (const transport of ['u1', 't1'] as const) {
  t.test(`scenarios over ${transport === 'u1' ? 'UDP' : 'TCP'}`, async (t) => {
    const gw = await provisionedGateway();
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
    const digest = await sipp('uac-digest-auth.xml', DIGEST, { localIp: '127.0.0.3', extra: ['-au', 'trunkuser', '-ap', 'trunk-pass-123', '-auth_uri', `${DIGEST}@${target}`] });
    ok(t, digest, 'uac-digest-auth');
    // The SIP trace (debug level) shows the INVITE but never its digest response.
    const response = /Authorization: Digest .*response="([0-9a-f]+)"/.exec(digest.messages)?.[1];
    t.ok(response, 'SIPp sent digest credentials');
    t.ok(gw.records('sip trace').some((r) => String(r.sip).includes('Authorization: Digest [redacted]')), 'the trace has the Authorization line, redacted');
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
      ok(t, await sipp('uac-scanner-expect-no-answer.xml', ECHO, { localIp: '127.0.0.4' }), 'uac-scanner-expect-no-answer');
    }
    t.equal(gw.daemon.calls.activeCalls, 0, 'no call left behind');
  });
}

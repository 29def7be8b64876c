import t from 'tap';
import { runSipp, type SippRun } from '../helpers/sipp.js';
import { audioPorts, cdrs, ECHO, mediaGateway, SHORT } from './helpers.js';

/**
 * Carrier calls through rtpengine to the echo agent, end to end with real programs: SIPp
 * (Debian sip-tester) as the carrier, the gateway daemon in this process, and the REAL rtpengine
 * 10.5 the daemon starts itself (rtpengine.mode = "managed"). The SDP SIPp gets in the 200 must
 * be rtpengine's (a port of rtpengine's range), and the echo agent's RTP socket sees only
 * rtpengine's internal leg on 127.0.0.1.
 */

function ok(t: Pick<typeof import('tap').default, 'equal'>, run: SippRun, what: string): void {
  t.equal(run.code, 0, `${what}: SIPp reports every call successful${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-2000)}`}`);
}

/** The ports of the SDP bodies SIPp received (responses), i.e. the gateway's answers. */
function answeredPorts(run: SippRun): number[] {
  const received = run.messages
    .split(/-{10,} [^\n]*\n/)
    .filter((block) => /^SIP\/2\.0 200 OK/m.test(block) && /Content-Type: application\/sdp/i.test(block));
  return received.flatMap((b) => audioPorts(b.replace(/\r\n/g, '\n')));
}

t.test('SIPp with RTP from a pcap → rtpengine → echo: the caller gets back what it sent', async (t) => {
  const { gw, portMin, portMax } = await mediaGateway();
  t.teardown(() => gw.stop());
  const target = `127.0.0.1:${gw.port('udp')}`;
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target, transport: 'u1', service: ECHO, pauseMs: 2000 });
  ok(t, run, 'uac-invite-bye');
  const ports = answeredPorts(run);
  t.ok(ports.length > 0, 'SIPp received an SDP answer');
  t.ok(
    ports.every((p) => p >= portMin && p <= portMax),
    `the answer's media port (${ports.join(', ')}) is rtpengine's (${portMin}-${portMax}), not the echo agent's own socket`,
  );
  const cdr = cdrs(gw).at(-1)!;
  t.equal(cdr.end_reason, 'remote-bye');
  t.equal(cdr.media?.anchored, true, 'the CDR says the call was anchored by rtpengine');
  t.equal(cdr.media?.codec, 'PCMA/8000', 'the first offered codec we support');
  t.ok((cdr.media?.received ?? 0) > 50, `RTP from the pcap reached the echo agent through rtpengine (${cdr.media?.received} packets)`);
  t.equal(cdr.media?.sent, cdr.media?.received, 'every packet was echoed back');
  await gw.daemon.calls.mediaReleased();
  t.same(await gw.daemon.mediaAnchor!.activeSessions(), [], 'rtpengine holds no session after the BYE');
});

t.test('a PCMA-only offer and an Opus-only offer are both answered through rtpengine', async (t) => {
  const { gw, portMin, portMax } = await mediaGateway();
  t.teardown(() => gw.stop());
  const target = `127.0.0.1:${gw.port('udp')}`;

  const pcma = await runSipp({ scenario: 'uac-invite-bye-pcma-only.xml', target, transport: 'u1', service: ECHO, pauseMs: 1500 });
  ok(t, pcma, 'uac-invite-bye-pcma-only (the 200 answers RTP/AVP 8, a=rtpmap:8 PCMA/8000)');
  t.ok(answeredPorts(pcma).every((p) => p >= portMin && p <= portMax), 'answered by rtpengine');
  const a = cdrs(gw).at(-1)!;
  t.equal(a.media?.codec, 'PCMA/8000', 'the echo agent runs PCMA');
  t.ok((a.media?.received ?? 0) > 20, `A-law RTP reached the echo agent (${a.media?.received} packets)`);
  t.equal(a.media?.sent, a.media?.received, 'and went back');

  const opus = await runSipp({ scenario: 'uac-invite-bye-opus-only.xml', target, transport: 'u1', service: ECHO, pauseMs: 500 });
  ok(t, opus, 'uac-invite-bye-opus-only (the 200 answers RTP/AVP 96, a=rtpmap:96 opus/48000/2)');
  t.ok(answeredPorts(opus).every((p) => p >= portMin && p <= portMax), 'answered by rtpengine');
  const o = cdrs(gw).at(-1)!;
  t.equal(o.answered_at !== null, true, 'the Opus call was answered');
  t.equal(o.media?.codec, 'opus/48000', 'the echo agent runs Opus');
  await gw.daemon.calls.mediaReleased();
  t.same(await gw.daemon.mediaAnchor!.activeSessions(), [], 'no rtpengine session left');
});

t.test('after 20 calls ended every way a call ends, rtpengine holds no session', async (t) => {
  // Two gateways, each with its own managed rtpengine: on the first, echo agents ring for 300 ms
  // after the media is set up, so a CANCEL on 180 ends a call that rtpengine has already anchored
  // (the other scenarios do not expect a 180, so they run on the second, which does not ring).
  const ringing = await mediaGateway({ rest: '[calls]\necho_ring_ms = 300' });
  t.teardown(() => ringing.gw.stop());
  const plain = await mediaGateway();
  t.teardown(() => plain.gw.stop());
  const at = (m: { gw: { port(x: 'udp'): number } }): string => `127.0.0.1:${m.gw.port('udp')}`;
  const runs = await Promise.all([
    runSipp({ scenario: 'uac-invite-bye.xml', target: at(ringing), transport: 'u1', service: ECHO, calls: 6, pauseMs: 1000 }),
    runSipp({ scenario: 'uac-cancel-expect-487.xml', target: at(ringing), transport: 'u1', service: ECHO, calls: 4 }),
    runSipp({ scenario: 'uac-invite-bye.xml', target: at(plain), transport: 'u1', service: ECHO, calls: 4, pauseMs: 1000 }),
    runSipp({ scenario: 'uac-expect-bye.xml', target: at(plain), transport: 'u1', service: SHORT, calls: 4 }),
    runSipp({ scenario: 'uac-reinvite-hold.xml', target: at(plain), transport: 'u1', service: ECHO, calls: 2 }),
  ]);
  ok(t, runs[0]!, '6 × uac-invite-bye while ringing first (caller BYE)');
  ok(t, runs[1]!, '4 × uac-cancel-expect-487 (CANCEL while ringing, after rtpengine anchored the call)');
  ok(t, runs[2]!, '4 × uac-invite-bye (caller BYE)');
  ok(t, runs[3]!, '4 × uac-expect-bye (gateway BYE at max duration)');
  ok(t, runs[4]!, '2 × uac-reinvite-hold (hold and unhold through rtpengine)');
  const rows = [...cdrs(ringing.gw), ...cdrs(plain.gw)];
  t.equal(rows.length, 20, '20 calls recorded');
  t.ok(rows.every((r) => r.ended_at !== null), 'all of them ended');
  t.same(
    rows.map((r) => r.end_reason).sort(),
    [...Array(4).fill('cancelled'), ...Array(4).fill('local-bye'), ...Array(12).fill('remote-bye')].sort(),
    'ended by CANCEL, by our BYE and by the caller BYE',
  );
  t.ok(rows.every((r) => r.media?.anchored === true), 'every call was anchored by rtpengine before it ended');
  for (const { gw } of [ringing, plain]) {
    await gw.daemon.calls.mediaReleased();
    t.same(gw.daemon.mediaAnchor!.trackedCalls(), [], 'the anchor tracks no call');
    t.same(await gw.daemon.mediaAnchor!.activeSessions(), [], 'ng list: rtpengine holds no session');
    t.equal(gw.daemon.calls.activeCalls, 0, 'no call left in the registry');
  }
});

import t from 'tap';
import { runSipp } from '../helpers/sipp.js';
import { until } from '../media-e2e/helpers.js';
import { AGENT_NUMBER, realtimeCdrs, realtimeGateway } from './helpers.js';

/**
 * A UAC that never ACKs our 200 OK (a spoofed INVITE from a trunk's address, over UDP) must not
 * get a conversation with the model on the tenant's key: the model's audio starts at the ACK, and
 * without one the prepared session is closed when the gateway gives up (timer H). SIPp (Debian
 * sip-tester) plays the caller, playing audio at us without ever ACKing; the gateway runs behind
 * the REAL managed rtpengine; the model is the OpenAI Realtime STAND-IN (not OpenAI).
 */
t.test('no ACK: no caller audio reaches the model, no response is asked for, and the session is closed', async (t) => {
  // T1 = 50 ms makes timer H (64*T1) 3.2 s instead of 32 s.
  const { gw, standIn } = await realtimeGateway({ sip: 't1_ms = 50' });
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  const run = await runSipp({ scenario: 'uac-no-ack-expect-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, timeoutS: 30 });
  t.equal(run.code, 0, `SIPp got the gateway's BYE after no ACK${run.code === 0 ? '' : `\n${run.errors}\n${run.stdout.slice(-3000)}`}`);
  await until('the CDR', () => realtimeCdrs(gw).at(-1)?.end_reason != null);
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.equal(cdr.end_reason, 'no-ack');
  t.ok((cdr.details.media?.received ?? 0) > 10, `the caller did send audio (${cdr.details.media?.received} packets)`);
  t.equal(standIn.connections.length, 1, 'the session was prepared while ringing');
  const conn = standIn.latest;
  await standIn.waitFor(() => conn.closed, 5000, 'the session to be closed');
  t.same(
    conn.received.map((e) => e.type),
    ['session.update'],
    'the model got its configuration and nothing else: no caller audio, no response.create for the first words',
  );
  t.equal(conn.audio.bytes, 0, 'not one byte of caller audio');
  t.equal(cdr.details.realtime?.framesUp, 0);
  t.same(standIn.violations, []);
});

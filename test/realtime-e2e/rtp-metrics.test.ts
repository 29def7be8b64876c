import t from 'tap';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { rtpPacket } from '../media/rtpengine/helpers.js';
import { until } from '../media-e2e/helpers.js';
import { finalResponse, inDialog, invite } from '../media-e2e/raw-sip.js';
import { AGENT_NUMBER, realtimeCdrs, realtimeGateway } from './helpers.js';

/**
 * /metrics tells the truth about media and the model: a call whose caller loses packets and
 * sends them unevenly shows its loss in kalem_rtp_packets_lost_total and its jitter in
 * kalem_rtp_jitter_seconds; a key the Realtime API refuses shows in kalem_realtime_errors_total.
 * A real gateway behind the REAL managed rtpengine; the caller is a UDP socket of the test (SIP
 * and RTP written by hand, to choose the gaps and the timing); the model is the OpenAI Realtime
 * STAND-IN (not OpenAI).
 */
t.test('loss, jitter and refused Realtime connections are read back from /metrics', async (t) => {
  const { gw, standIn } = await realtimeGateway();
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  const port = gw.port('udp');
  const api = gw.daemon.apiAddress()!;
  const metric = async (name: string): Promise<number> => {
    const body = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
    const line = body.split('\n').find((l) => l.startsWith(name + ' '));
    return line === undefined ? NaN : Number(line.slice(name.length + 1));
  };
  t.equal(await metric('kalem_rtp_packets_lost_total'), 0);
  t.equal(await metric('kalem_rtp_jitter_seconds_count'), 0);

  const sip = createSocket('udp4');
  const rtp = createSocket('udp4');
  sip.bind(0, '127.0.0.1');
  rtp.bind(0, '127.0.0.1');
  await Promise.all([once(sip, 'listening'), once(rtp, 'listening')]);
  t.teardown(() => {
    sip.close();
    rtp.close();
  });
  const sdp = Buffer.from(
    ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtp.address().port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n'),
  );
  const ok = await finalResponse(sip, invite(port, AGENT_NUMBER, 'metrics-1', sdp), port);
  t.match(ok, /^SIP\/2\.0 200 /);
  const rtpPort = Number(/^m=audio (\d+) /m.exec(ok)![1]);
  sip.send(inDialog(ok, 'ACK', AGENT_NUMBER, port), port, '127.0.0.1');
  // 150 packets of 20 ms audio, sequence numbers 40..49 never sent (10 lost), sent 10 and 30 ms
  // apart in turn (every packet 10 ms early or late: interarrival jitter near 10 ms).
  for (let seq = 1; seq <= 160; seq++) {
    if (seq >= 40 && seq < 50) continue;
    rtp.send(rtpPacket(0, seq, seq * 160, 0x5151, 0xff), rtpPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, seq % 2 === 0 ? 10 : 30)); // the uneven sender is the point
  }
  await finalResponse(sip, inDialog(ok, 'BYE', AGENT_NUMBER, port), port);
  await until('the CDR', () => realtimeCdrs(gw).at(-1)?.end_reason != null);
  const media = realtimeCdrs(gw).at(-1)!.details.media as unknown as { rtp: { lost: number; jitterMs: number } };
  t.equal(media.rtp.lost, 10, 'the endpoint counted 10 lost');
  t.equal(await metric('kalem_rtp_packets_lost_total'), 10, '/metrics: 10 packets lost');
  t.ok((await metric('kalem_rtp_packets_received_total')) >= 150, '/metrics: the packets received');
  t.ok((await metric('kalem_rtp_jitter_seconds_count')) >= 1, '/metrics: jitter observed');
  const jitterSum = await metric('kalem_rtp_jitter_seconds_sum');
  t.ok(jitterSum > 0.004 && jitterSum < 0.05 * (await metric('kalem_rtp_jitter_seconds_count')), `/metrics: jitter ${jitterSum} s (the CDR says ${media.rtp.jitterMs.toFixed(1)} ms)`);

  // A key the API refuses: 503 to the carrier, and one auth error in /metrics.
  const before = await metric('kalem_realtime_errors_total{kind="auth"}');
  standIn.refuseUpgrades({ status: 401, code: 'invalid_api_key' });
  const refused = await finalResponse(sip, invite(port, AGENT_NUMBER, 'metrics-2', sdp), port);
  t.match(refused, /^SIP\/2\.0 503 /);
  t.equal((await metric('kalem_realtime_errors_total{kind="auth"}')) - before, 1, '/metrics: the refused connection counted as auth');
  t.same(standIn.violations, []);
});

import t from 'tap';
import { MediaAnchor } from '../../src/media/rtpengine/media-anchor.js';
import { RtpPortAllocator } from '../../src/media/port-allocator.js';
import { parseSdp, rtpPacket, sdp, sendUntilReceived, startManaged, udpSocket } from '../media/rtpengine/helpers.js';
import { ScriptedCall, sessionRig } from '../calls/harness.js';

/**
 * rtpengine is asked for strict source handling: once it has learned where the carrier's media
 * comes from, packets from anywhere else to the call's port are dropped, not forwarded to our
 * endpoint (and so never reach the agent or the model). An echo agent behind the REAL managed
 * rtpengine through CallSession (harness.ts: scripted SIP side); carrier and intruder are UDP
 * sockets of the test.
 */
t.test("an intruder sending to the call's rtpengine port is not heard once the carrier's source is learned", async (t) => {
  const rtp = await startManaged(t);
  const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
  const base = 41000 + 2 * Math.floor(Math.random() * 400);
  const releases: Array<Promise<void>> = [];
  const rig = await sessionRig(t, {
    deps: { anchor: { port: anchor, rtp: new RtpPortAllocator('127.0.0.1', base, base + 100) }, trackRelease: (p) => releases.push(p) },
  });
  const carrier = await udpSocket(t);
  const intruder = await udpSocket(t);
  const offer = sdp({ port: carrier.address().port, payloadTypes: [[0, 'PCMU/8000'], [101, 'telephone-event/8000']] });
  const { call, session } = rig.start(new ScriptedCall(offer), { kind: 'echo' });
  await call.whenAnswered;
  const port = parseSdp(call.answered!).port;
  const heard: number[] = [];
  carrier.on('message', (m: Buffer) => {
    if (m.length === 172) heard.push(m[171]!);
  });
  // The carrier talks (20 ms packets, its echo coming back) until rtpengine has confirmed its
  // source: `heuristic` learning watches the first seconds, then commits. rtpengine has no event
  // for that; its `query` says so (the stream's "confirmed" flag), asked every 25 packets.
  let seq = 1;
  await sendUntilReceived(carrier, rtpPacket(0, seq, seq * 160, 0x1111, 0x41), '127.0.0.1', port, carrier, (m) => m.length === 172 && m[171] === 0x41);
  const carrierConfirmed = async (): Promise<boolean> => {
    const raw = (await anchor.session(session.id))?.raw as { tags?: Record<string, { medias?: Array<{ streams?: Array<{ flags?: string[] }> }> }> } | undefined;
    const streams = raw?.tags?.[`${session.id}-carrier`]?.medias?.flatMap((m) => m.streams ?? []) ?? [];
    return streams.some((st) => st.flags?.includes('RTP') && st.flags.includes('confirmed'));
  };
  const deadline = Date.now() + 10_000;
  while (!(await carrierConfirmed())) {
    if (Date.now() > deadline) throw new Error('rtpengine never confirmed the carrier source');
    for (let i = 0; i < 25; i++) {
      seq++;
      carrier.send(rtpPacket(0, seq, seq * 160, 0x1111, 0x41), port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 20)); // the carrier's packet clock
    }
  }
  heard.length = 0;
  // The intruder sends 50 packets (same SSRC, following sequence numbers), then the carrier again.
  for (let i = 1; i <= 50; i++) intruder.send(rtpPacket(0, seq + i, (seq + i) * 160, 0x1111, 0xee), port, '127.0.0.1');
  seq += 60;
  await sendUntilReceived(carrier, rtpPacket(0, seq, seq * 160, 0x1111, 0x42), '127.0.0.1', port, carrier, (m) => m.length === 172 && m[171] === 0x42);
  t.notOk(heard.includes(0xee), `no intruder packet was echoed (the carrier heard ${heard.length} packets since, fills ${[...new Set(heard)].map((x) => x.toString(16)).join(',')})`);
  const query = await anchor.session(session.id);
  t.ok(query, 'rtpengine has the call');
  call.bye();
  await session.whenClosed();
  await Promise.all(releases);
  t.same(await anchor.activeSessions(), [], 'deleted');
});

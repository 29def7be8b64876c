import t from 'tap';
import { MediaAnchor } from '../../src/media/rtpengine/media-anchor.js';
import { RtpPortAllocator } from '../../src/media/port-allocator.js';
import { parseSdp, rtpPacket, sdp, sendUntilReceived, startManaged, udpSocket } from '../media/rtpengine/helpers.js';
import { ScriptedCall, sessionRig } from '../calls/harness.js';

/**
 * Two live calls that carry the same SIP Call-ID and From tag (two trunks, two tenants, or a
 * carrier that reuses ids) are two calls in rtpengine: it knows them by our own call ids, so
 * ending one leaves the other's media flowing. Echo agents behind the REAL managed rtpengine,
 * driven through CallSession (harness.ts: scripted SIP side); the carriers are UDP sockets.
 */
t.test('same SIP Call-ID, two calls: deleting one leaves the other untouched in rtpengine', async (t) => {
  const rtp = await startManaged(t);
  const anchor = new MediaAnchor(rtp.client, { interfaces: rtp.interfaces });
  const releases: Array<Promise<void>> = [];
  const base = 41000 + 2 * Math.floor(Math.random() * 400);
  const rig = await sessionRig(t, {
    deps: { anchor: { port: anchor, rtp: new RtpPortAllocator('127.0.0.1', base, base + 100) }, trackRelease: (p) => releases.push(p) },
  });
  const carriers = [await udpSocket(t), await udpSocket(t)];
  const offer = (i: number): string => sdp({ port: carriers[i]!.address().port, payloadTypes: [[0, 'PCMU/8000'], [101, 'telephone-event/8000']] });
  const sipCallId = 'shared-call-id@carrier.example';
  const a = rig.start(new ScriptedCall(offer(0), sipCallId), { kind: 'echo' });
  await a.call.whenAnswered;
  const b = rig.start(new ScriptedCall(offer(1), sipCallId), { kind: 'echo' });
  await b.call.whenAnswered;
  t.same((await anchor.activeSessions()).sort(), [a.session.id, b.session.id].sort(), "rtpengine holds two calls, under our own ids (call_…)");
  t.notOk((await anchor.activeSessions()).includes(sipCallId), "never under the carrier's Call-ID");

  const portOf = (call: ScriptedCall): number => parseSdp(call.answered!).port;
  t.not(portOf(a.call), portOf(b.call), 'each call has its own rtpengine port');
  const echo = (i: number, call: ScriptedCall, seq: number): Promise<unknown> =>
    sendUntilReceived(carriers[i]!, rtpPacket(0, seq, seq * 160, 0x1000 + i, 0x40 + i), '127.0.0.1', portOf(call), carriers[i]!, (m) => m.length === 172 && m[171] === 0x40 + i);
  await echo(0, a.call, 1);
  await echo(1, b.call, 1);
  t.pass('both calls echo');

  a.call.bye();
  await a.session.whenClosed();
  await Promise.all(releases);
  t.same(await anchor.activeSessions(), [b.session.id], 'only the ended call was deleted');
  await echo(1, b.call, 50);
  t.pass("the other call's media still flows");
  b.call.bye();
  await b.session.whenClosed();
  await Promise.all(releases);
  t.same(await anchor.activeSessions(), []);
});

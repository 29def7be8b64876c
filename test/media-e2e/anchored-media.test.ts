import t, { type Test } from 'tap';
import { Writable } from 'node:stream';
import { AnchoredMedia } from '../../src/calls/anchored-media.js';
import type { MediaAnchorPort } from '../../src/calls/media-anchor-port.js';
import { createLogger } from '../../src/core/logger.js';
import { RtpPortAllocator } from '../../src/media/port-allocator.js';
import { MediaAnchor } from '../../src/media/rtpengine/media-anchor.js';
import { RtpengineError } from '../../src/media/rtpengine/rtpengine-error.js';
import { parseSdp, rtpPacket, sdp, sendUntilReceived, startManaged, udpSocket } from '../media/rtpengine/helpers.js';
import { until } from './helpers.js';

/**
 * The echo agent's media behind the REAL rtpengine 10.5 (managed, one instance per test), driven
 * directly, without SIP: the carrier is a UDP socket of the test. A counting wrapper around the
 * real MediaAnchor shows that `delete` runs exactly once whatever way the media ends, never
 * before an offer still in flight, and never for a call rtpengine has lost.
 */

const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

class CountingAnchor implements MediaAnchorPort {
  deletes = 0;
  offers = 0;
  failAnswerWith: Error | undefined;
  private offerSeen: (() => void) | undefined;
  readonly offerStarted = new Promise<void>((resolve) => (this.offerSeen = resolve));

  constructor(readonly inner: MediaAnchor) {}

  offer(input: Parameters<MediaAnchorPort['offer']>[0]): ReturnType<MediaAnchorPort['offer']> {
    this.offers++;
    this.offerSeen?.();
    return this.inner.offer(input);
  }

  answer(input: Parameters<MediaAnchorPort['answer']>[0]): ReturnType<MediaAnchorPort['answer']> {
    if (this.failAnswerWith) return Promise.reject(this.failAnswerWith);
    return this.inner.answer(input);
  }

  delete(input: Parameters<MediaAnchorPort['delete']>[0]): Promise<void> {
    this.deletes++;
    return this.inner.delete(input);
  }
}

let callSeq = 0;

async function setup(t: Test): Promise<{ anchor: CountingAnchor; media: AnchoredMedia; callId: string; carrierOffer: (direction?: string) => string; carrier: Awaited<ReturnType<typeof udpSocket>> }> {
  const rtp = await startManaged(t);
  const anchor = new CountingAnchor(new MediaAnchor(rtp.client, { interfaces: rtp.interfaces }));
  const callId = `anchored-echo-${process.pid}-${++callSeq}@test`;
  const ports = new RtpPortAllocator('127.0.0.1', 41000, 41999);
  const media = await AnchoredMedia.open(ports, anchor, { callId, fromTag: 'carrier-tag', toTag: 'our-tag', carrierSource: '127.0.0.1' }, log);
  t.teardown(() => media.release());
  const carrier = await udpSocket(t);
  const carrierOffer = (direction = 'sendrecv'): string =>
    sdp({ port: carrier.address().port, payloadTypes: [[0, 'PCMU/8000'], [101, 'telephone-event/8000']] }).replace('a=sendrecv', `a=${direction}`);
  return { anchor, media, callId, carrierOffer, carrier };
}

t.test('offer/answer through rtpengine, echo, hold and unhold by re-INVITE, one delete', async (t) => {
  const { anchor, media, callId, carrierOffer, carrier } = await setup(t);
  const answer = await media.answer(carrierOffer());
  t.ok(answer.ok, 'answered');
  if (!answer.ok) return;
  const carrierSide = parseSdp(answer.sdp);
  t.equal(carrierSide.proto, 'RTP/AVP', 'plain RTP towards a plain-RTP carrier');
  t.same(carrierSide.payloadTypes, ['0', '101'], 'PCMU and telephone-event, as our endpoint answered');
  t.equal(media.stats.codec, 'PCMU/8000');

  const echoed = (seq: number): Promise<unknown> =>
    sendUntilReceived(carrier, rtpPacket(0, seq, seq * 160, 0x1234, 0x55), '127.0.0.1', carrierSide.port, carrier, (m) => m.length === 172 && (m[1]! & 0x7f) === 0);
  await echoed(1);
  t.ok(media.stats.sent > 0, 'RTP sent to rtpengine came back through the echo agent');

  const held = await media.reinvite(carrierOffer('sendonly'));
  t.match(held, /^a=recvonly\r?$/m, 'hold (a=sendonly) is answered a=recvonly, through rtpengine');
  t.equal(parseSdp(held!).port, carrierSide.port, 'on the same rtpengine port');
  t.not(/^o=.*$/m.exec(held!)?.[0], /^o=.*$/m.exec(answer.sdp)?.[0], 'with a new o= version');
  await media.settled();
  const sentBefore = media.stats.sent;
  const receivedBefore = media.stats.received;
  for (let i = 0; i < 10; i++) carrier.send(rtpPacket(0, 100 + i, (100 + i) * 160, 0x1234, 0x55), carrierSide.port, '127.0.0.1');
  await until('held RTP to reach the echo agent', () => media.stats.received >= receivedBefore + 5, 3000);
  t.equal(media.stats.sent, sentBefore, 'on hold, rtpengine forwards the caller but the echo agent sends nothing');

  const resumed = await media.reinvite(carrierOffer('sendrecv'));
  t.match(resumed, /^a=sendrecv\r?$/m, 'unhold is answered a=sendrecv');
  await media.settled();
  await echoed(200);
  t.ok(media.stats.sent > sentBefore, 'the echo is back after unhold');
  t.equal(anchor.offers, 3, 'both re-INVITEs went through rtpengine');

  await Promise.all([media.release(), media.release()]);
  await media.release();
  t.equal(anchor.deletes, 1, 'released three times, deleted once');
  t.notOk((await anchor.inner.activeSessions()).includes(callId), 'rtpengine no longer has the call');
});

t.test('released while the offer is in flight: the delete follows the offer', async (t) => {
  const { anchor, media, callId, carrierOffer } = await setup(t);
  const answering = media.answer(carrierOffer());
  await anchor.offerStarted;
  const released = media.release();
  await Promise.all([answering, released]);
  t.equal(anchor.deletes, 1, 'one delete');
  t.notOk((await anchor.inner.activeSessions()).includes(callId), 'and the call the offer created is gone');
});

t.test('released before the media was offered: nothing to delete', async (t) => {
  const { anchor, media, carrierOffer } = await setup(t);
  const released = media.release();
  const r = await media.answer(carrierOffer());
  await released;
  t.equal(r.ok, false, 'an ended call is not answered');
  t.equal(anchor.offers, 0, 'nothing was offered');
  t.equal(anchor.deletes, 0, 'so nothing is deleted');
});

t.test('rtpengine refuses the answer: 488, and the offered call is still deleted once', async (t) => {
  const { anchor, media, callId, carrierOffer } = await setup(t);
  anchor.failAnswerWith = new RtpengineError('rejected', 'answer', 'rtpengine answered error: test refusal');
  const r = await media.answer(carrierOffer());
  t.same(r.ok ? null : { status: r.status, retryable: r.retryable }, { status: 488, retryable: false });
  t.ok((await anchor.inner.activeSessions()).includes(callId), 'the offer left a session in rtpengine');
  await media.release();
  t.equal(anchor.deletes, 1);
  t.notOk((await anchor.inner.activeSessions()).includes(callId), 'release removed it');
});

t.test('rtpengine unreachable: 503, retryable', async (t) => {
  const { anchor, media, carrierOffer } = await setup(t);
  anchor.failAnswerWith = new RtpengineError('timeout', 'answer', 'no reply from rtpengine within 3000 ms');
  const r = await media.answer(carrierOffer());
  t.same(r.ok ? null : { status: r.status, retryable: r.retryable }, { status: 503, retryable: true });
  await media.release();
  t.equal(anchor.deletes, 1);
});

t.test('media lost (rtpengine died): release deletes nothing', async (t) => {
  const { anchor, media, callId, carrierOffer } = await setup(t);
  t.ok((await media.answer(carrierOffer())).ok);
  media.mediaLost();
  await media.release();
  t.equal(anchor.deletes, 0, 'no delete for a call rtpengine no longer has');
  await anchor.inner.delete({ callId }); // this rtpengine is alive after all: tidy up
});

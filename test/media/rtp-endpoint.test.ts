import t, { type Test } from 'tap';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { systemClock } from '../../src/core/clock.js';
import { FrameClock } from '../../src/media/frame-clock.js';
import { RtpEndpoint, type InboundFrame } from '../../src/media/rtp-endpoint.js';
import { parseRtp, writeRtp, type RtpPacket } from '../../src/media/rtp/packet.js';
import { encodeTelephoneEvent, parseTelephoneEvent, type DtmfPress } from '../../src/media/dtmf.js';
import type { PacedPacket } from '../../src/media/pacer.js';

/** The endpoint on one loopback socket, and a far end (plays rtpengine's internal leg) on another. */
async function pair(t: Test) {
  const frameClock = new FrameClock(systemClock);
  const ours = dgram.createSocket('udp4');
  const far = dgram.createSocket('udp4');
  ours.bind(0, '127.0.0.1');
  far.bind(0, '127.0.0.1');
  await Promise.all([once(ours, 'listening'), once(far, 'listening')]);
  let released = false;
  const ep = new RtpEndpoint(ours, ours.address().port, () => {
    released = true;
    ours.close();
  }, { frameClock });
  ep.configure({
    payloadType: 0,
    clockRate: 8000,
    timestampPerFrame: 160,
    dtmfPayloadType: 101,
    dtmfClockRate: 8000,
    remote: { address: '127.0.0.1', port: far.address().port },
    sending: true,
    receiving: true,
  });
  const frames: InboundFrame[] = [];
  const presses: DtmfPress[] = [];
  const sent: PacedPacket[] = [];
  ep.setSink({ onFrame: (f) => frames.push(f), onDtmf: (p) => presses.push(p), onSent: (p) => sent.push(p) });
  t.teardown(() => {
    ep.close();
    far.close();
    frameClock.close();
  });
  const received: RtpPacket[] = [];
  const waiters: Array<() => void> = [];
  far.on('message', (m) => {
    const p = parseRtp(Buffer.from(m));
    if (p) received.push(p);
    for (const w of waiters.splice(0)) w();
  });
  const until = async (cond: () => boolean, what: string, ms = 3000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 25); // re-check on the frame tick too (inbound frames arrive without a far-end message)
      });
    }
  };
  const send = (p: Parameters<typeof writeRtp>[0]): void => {
    far.send(writeRtp(p), ep.port, '127.0.0.1');
  };
  return { ep, frames, presses, sent, received, send, until, released: () => released };
}

t.test('inbound audio is handed on in order as it arrives; telephone-events become one key press', async (t) => {
  const { frames, presses, send, until } = await pair(t);
  for (let i = 0; i < 5; i++) send({ payloadType: 0, sequenceNumber: 100 + i, timestamp: 8000 + 160 * i, ssrc: 42, payload: new Uint8Array(160).fill(i) });
  await until(() => frames.length >= 5, 'five frames');
  t.same(frames.slice(0, 5).map((f) => [f.kind, f.payload?.[0]]), [0, 1, 2, 3, 4].map((i) => ['audio', i]));
  // A key press without the marker bit (some carriers), its update and its end three times.
  const ev = (end: boolean, duration: number): Uint8Array => encodeTelephoneEvent({ event: 5, end, volume: 10, duration });
  send({ payloadType: 101, sequenceNumber: 105, timestamp: 9000, ssrc: 42, payload: ev(false, 160) });
  send({ payloadType: 101, sequenceNumber: 106, timestamp: 9000, ssrc: 42, payload: ev(false, 320) });
  for (let i = 0; i < 3; i++) send({ payloadType: 101, sequenceNumber: 107 + i, timestamp: 9000, ssrc: 42, payload: ev(true, 480) });
  await until(() => presses.length >= 1, 'a key press');
  t.equal(presses.length, 1);
  t.equal(presses[0]!.digit, '5');
});

t.test('outbound frames leave paced at 20 ms with continuous timestamps; flush drops the queue', async (t) => {
  const { ep, received, until } = await pair(t);
  for (let i = 0; i < 10; i++) ep.enqueue(new Uint8Array(160).fill(i), 'item1');
  await until(() => received.length >= 3, 'three packets');
  const dropped = ep.flush();
  t.ok(dropped >= 1 && dropped <= 7, `flush dropped the frames still queued (${dropped})`);
  t.equal(ep.queuedFrames, 0);
  const sentBeforeFlush = received.length;
  t.equal(received[0]!.marker, true, 'the first packet starts a talkspurt');
  for (let i = 1; i < received.length; i++) {
    t.equal(received[i]!.timestamp - received[i - 1]!.timestamp, 160, `timestamp steps by one frame (${i})`);
    t.equal((received[i]!.sequenceNumber - received[i - 1]!.sequenceNumber) & 0xffff, 1);
  }
  t.ok(sentBeforeFlush + dropped <= 10);
});

t.test('sendDtmf sends an RFC 4733 event: marked start, growing duration, end three times, one timestamp', async (t) => {
  const { ep, received, until } = await pair(t);
  t.equal(ep.sendDtmf('7', 60), true);
  await until(() => received.filter((p) => p.payloadType === 101).length >= 6, 'the event packets');
  const evs = received.filter((p) => p.payloadType === 101);
  t.equal(evs[0]!.marker, true);
  t.ok(evs.every((p) => p.timestamp === evs[0]!.timestamp), 'one timestamp for the whole event');
  const parsed = evs.map((p) => parseTelephoneEvent(p.payload)!);
  t.ok(parsed.every((e) => e.event === 7));
  t.same(parsed.slice(-3).map((e) => e.end), [true, true, true]);
  t.ok(parsed[1]!.duration > parsed[0]!.duration, 'duration grows');
});

t.test('silence is fed while the far end should send but does not (silence suppression)', async (t) => {
  const { frames, send, until } = await pair(t);
  send({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 9, payload: new Uint8Array(160).fill(1) });
  await until(() => frames.filter((f) => f.kind === 'silence').length >= 3, 'silence frames');
  t.equal(frames[0]!.kind, 'audio');
  t.ok(frames.slice(1).every((f) => f.kind === 'silence' && f.payload === null));
});

t.test('close releases the port once and stops the clock listener', async (t) => {
  const { ep, released } = await pair(t);
  ep.close();
  ep.close();
  t.equal(released(), true);
  t.equal(ep.enqueue(new Uint8Array(160)), undefined);
});

t.test('once latched, packets from any other source are dropped and counted; ours keep flowing and replies go to the latched source', async (t) => {
  const { ep, frames, send, until, received } = await pair(t);
  const intruder = dgram.createSocket('udp4');
  intruder.bind(0, '127.0.0.1');
  await once(intruder, 'listening');
  t.teardown(() => intruder.close());
  const packet = (seq: number, fill: number): Buffer => writeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 42, payload: new Uint8Array(160).fill(fill) });
  send({ payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 42, payload: new Uint8Array(160).fill(1) });
  await until(() => frames.length >= 1, 'the first frame (latches)');
  // An intruder (same SSRC, next sequence numbers: a spoof that would otherwise be played to the model).
  for (let i = 0; i < 5; i++) intruder.send(packet(2 + i, 0xee), ep.port, '127.0.0.1');
  // Then the latched source again, and a packet it sends to the next number after the intruder's.
  send({ payloadType: 0, sequenceNumber: 2, timestamp: 320, ssrc: 42, payload: new Uint8Array(160).fill(2) });
  await until(() => frames.some((f) => f.kind === 'audio' && f.payload?.[0] === 2), 'the latched source\'s next frame');
  await until(() => ep.stats.foreignDropped >= 5, 'the five intruding packets to be counted');
  t.equal(ep.stats.foreignDropped, 5, 'five packets from another source dropped');
  t.notOk(frames.some((f) => f.payload?.[0] === 0xee), "no intruder audio reached the sink");
  t.equal(ep.stats.received, 2, 'only the latched source counts as received');
  ep.enqueue(new Uint8Array(160).fill(9));
  await until(() => received.length >= 1, 'our packet at the latched source');
  t.pass('replies still go to the latched source');
});

import t from 'tap';
import { FakeClock, type Clock } from '../../src/core/clock.js';
import { FrameClock } from '../../src/media/frame-clock.js';
import { Pacer, drivePacer, type PacedPacket } from '../../src/media/pacer.js';

const frame = (n: number): Uint8Array => Uint8Array.of(n & 0xff, n >> 8);

/** A FakeClock whose timers fire late by 0–7 ms (deterministic), like a busy event loop. */
function lateClock(fake: FakeClock): Clock {
  let seed = 99;
  const late = (): number => (seed = (seed * 16807) % 2147483647) % 8;
  return {
    now: () => fake.now(),
    monotonic: () => fake.monotonic(),
    setTimer: (delayMs, fn) => fake.setTimer(delayMs + late(), fn),
  };
}

t.test('pure scheduler: slot n is due at start + n × 20 ms', async (t) => {
  const p = new Pacer({ ssrc: 1, payloadType: 0, timestampPerFrame: 160, startMs: 1000, initialSequence: 65534, initialTimestamp: 0xffffff00 });
  t.equal(p.nextDueAt(), 1000);
  t.same(p.take(999), [], 'nothing before slot 0 is due');
  for (let i = 0; i < 5; i++) p.enqueue(frame(i));
  const first = p.take(1000);
  t.equal(first.length, 1);
  t.equal(first[0]!.marker, true, 'first packet starts a talkspurt');
  t.equal(first[0]!.sequenceNumber, 65534);
  t.equal(first[0]!.timestamp, 0xffffff00);
  t.equal(p.nextDueAt(), 1020);
  const more = p.take(1065); // slots 1, 2, 3 due
  t.same(more.map((x) => x.sequenceNumber), [65535, 0, 1], 'sequence wraps');
  t.same(more.map((x) => x.timestamp), [0xffffffa0, 0x40, 0xe0], 'timestamp wraps');
  t.same(more.map((x) => x.marker), [false, false, false]);
  t.same(more.map((x) => x.dueMs), [1020, 1040, 1060]);
});

t.test('timestamps run on through silence; the marker flags each talkspurt', async (t) => {
  const p = new Pacer({ ssrc: 7, payloadType: 8, timestampPerFrame: 160, startMs: 0, initialSequence: 100, initialTimestamp: 0 });
  p.enqueue(frame(0));
  p.enqueue(frame(1));
  const a = p.take(20); // slots 0, 1
  t.same(a.map((x) => [x.sequenceNumber, x.timestamp, x.marker]), [[100, 0, true], [101, 160, false]]);
  t.same(p.take(60), [], 'slots 2 and 3 are silent: nothing sent');
  p.enqueue(frame(2));
  p.enqueue(frame(3));
  const b = p.take(100); // slots 4, 5
  t.same(b.map((x) => [x.sequenceNumber, x.timestamp, x.marker]), [[102, 640, true], [103, 800, false]],
    'sequence continues, timestamp counts the silent slots, marker on the new talkspurt');
  t.equal(p.toJSON().silentSlots, 2, 'slots 2 and 3');
});

t.test('flush drops the queue at once and the next frame starts a talkspurt', async (t) => {
  const p = new Pacer({ ssrc: 7, payloadType: 0, timestampPerFrame: 160, startMs: 0, initialSequence: 0, initialTimestamp: 0 });
  for (let i = 0; i < 50; i++) p.enqueue(frame(i), 'item_1');
  t.equal(p.take(40).length, 3);
  t.equal(p.flush(), 47);
  t.equal(p.queuedFrames, 0);
  t.same(p.take(60), [], 'nothing left to send');
  p.enqueue(frame(200), 'item_2');
  const [next] = p.take(80);
  t.equal(next!.marker, true);
  t.equal(next!.timestamp, 4 * 160, 'timestamp of the slot it went out in');
  t.equal(next!.sequenceNumber, 3);
  t.equal(next!.tag, 'item_2');
  p.enqueue(frame(201));
  p.enqueue(frame(202));
  p.flush();
  p.enqueue(frame(203));
  t.equal(p.take(100)[0]!.marker, true, 'flush marks the next frame even without a silent slot');
  t.equal(p.toJSON().flushed, 49);
});

t.test('after a long stall only maxCatchUpFrames go out at once', async (t) => {
  const p = new Pacer({ ssrc: 7, payloadType: 0, timestampPerFrame: 160, startMs: 0, initialSequence: 0, initialTimestamp: 0, maxCatchUpFrames: 4 });
  for (let i = 0; i < 100; i++) p.enqueue(frame(i));
  const burst = p.take(1000); // 51 slots due
  t.equal(burst.length, 4);
  t.same(burst.map((x) => x.timestamp), [47, 48, 49, 50].map((s) => s * 160), 'the newest slots, on the timeline');
  t.equal(burst[0]!.marker, true);
  t.equal(p.toJSON().skippedSlots, 47);
});

t.test('bad options are TypeErrors', async (t) => {
  const ok = { ssrc: 1, payloadType: 0, timestampPerFrame: 160, startMs: 0 };
  t.throws(() => new Pacer({ ...ok, ssrc: -1 }), TypeError);
  t.throws(() => new Pacer({ ...ok, payloadType: 200 }), TypeError);
  t.throws(() => new Pacer({ ...ok, timestampPerFrame: 0 }), TypeError);
  t.throws(() => new Pacer({ ...ok, startMs: NaN }), TypeError);
  t.throws(() => new Pacer({ ...ok, initialSequence: 70000 }), TypeError);
  const p = new Pacer(ok);
  t.ok(p.nextTimestamp() >= 0 && p.nextTimestamp() <= 0xffffffff, 'random initial timestamp');
});

t.test('one simulated hour on a late-firing fake clock: exactly 50 frames a second, no drift', async (t) => {
  const fake = new FakeClock(0);
  const clock = lateClock(fake);
  const frameClock = new FrameClock(clock);
  const start = frameClock.nextTickAt();
  const pacer = new Pacer({ ssrc: 0xabc, payloadType: 0, timestampPerFrame: 160, startMs: start, initialSequence: 0, initialTimestamp: 0 });
  const perSecond = new Map<number, number>();
  let sent = 0;
  let maxLateness = 0;
  let badTimestamp = 0;
  let badMarker = 0;
  let tickCount = 0;
  // The producer keeps the queue topped up, as the model's audio would.
  const stopFeed = frameClock.add(() => {
    tickCount++;
    while (pacer.queuedFrames < 5) pacer.enqueue(frame(0));
  });
  for (let i = 0; i < 5; i++) pacer.enqueue(frame(0));
  const stop = drivePacer(frameClock, pacer, (pkt: PacedPacket) => {
    const now = fake.monotonic();
    const sec = Math.floor((now - start) / 1000);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
    maxLateness = Math.max(maxLateness, now - pkt.dueMs);
    if (pkt.timestamp !== ((sent * 160) >>> 0)) badTimestamp++;
    if (pkt.marker !== (sent === 0)) badMarker++;
    if (pkt.dueMs !== start + sent * 20) badTimestamp++;
    sent++;
  });
  // Slot 0 is due at start (20 ms); the last slot of the hour at start + 3 599 980 ms.
  fake.advance(start + 3_600_000 - 20 + 10);
  stop();
  stopFeed();
  t.equal(sent, 180_000, '180 000 frames in the simulated hour');
  const counts = [...perSecond.entries()].filter(([s]) => s < 3600).map(([, c]) => c);
  t.equal(counts.length, 3600);
  t.ok(counts.every((c) => c === 50), 'every one of the 3600 seconds carried exactly 50 frames');
  t.ok(maxLateness < 20, `timers fired up to ${maxLateness} ms late, never a whole frame`);
  t.equal(badTimestamp, 0, 'RTP timestamps and due times exact for every frame');
  t.equal(badMarker, 0, 'one talkspurt, one marker');
  t.ok(tickCount <= 180_001 && tickCount >= 179_000, 'one shared tick per frame period');
  t.equal(fake.pendingTimers(), 0, 'the clock stops when nothing is registered');
});

t.test('one FrameClock drives many pacers in one tick', async (t) => {
  const fake = new FakeClock(0);
  const frameClock = new FrameClock(fake);
  const received: number[] = new Array(100).fill(0);
  const stops: Array<() => void> = [];
  for (let c = 0; c < 100; c++) {
    const p = new Pacer({ ssrc: c, payloadType: 0, timestampPerFrame: 160, startMs: frameClock.nextTickAt() });
    for (let i = 0; i < 1000; i++) p.enqueue(frame(i));
    stops.push(drivePacer(frameClock, p, () => received[c]!++));
  }
  fake.advance(10_000);
  t.ok(received.every((n) => n === 500), 'each of 100 calls sent 500 frames in 10 s');
  t.equal(frameClock.ticks, 500, 'with 500 ticks in all, not 50 000 timers');
  stops.forEach((s) => s());
  t.equal(fake.pendingTimers(), 0);
});

t.test('a throwing listener does not stop the others or the clock', async (t) => {
  const fake = new FakeClock(0);
  const errors: unknown[] = [];
  const frameClock = new FrameClock(fake, { onError: (e) => errors.push(e) });
  let calls = 0;
  frameClock.add(() => {
    throw new Error('boom');
  });
  frameClock.add(() => calls++);
  fake.advance(100);
  t.equal(calls, 5);
  t.equal(errors.length, 5);
  frameClock.close();
  t.equal(fake.pendingTimers(), 0);
});

t.test('after an event-loop stall listeners learn how many frames elapsed', async (t) => {
  const fake = new FakeClock(0);
  const stalling: Clock = {
    now: () => fake.now(),
    monotonic: () => fake.monotonic(),
    setTimer: (d, fn) => fake.setTimer(fake.monotonic() >= 100 && fake.monotonic() < 120 ? d + 75 : d, fn),
  };
  const frameClock = new FrameClock(stalling);
  const seen: Array<[number, number]> = [];
  frameClock.add((now, elapsed) => seen.push([now, elapsed]));
  fake.advance(240);
  t.same(seen.slice(0, 5), [[20, 1], [40, 1], [60, 1], [80, 1], [100, 1]]);
  t.same(seen[5], [195, 4], 'the late tick reports 4 elapsed frame periods');
  t.same(seen[6], [200, 1], 'and the next tick is back on the grid');
  frameClock.close();
});

t.test('RFC 4733 events go out in consecutive slots with one timestamp, marker on the first', async (t) => {
  const p = new Pacer({ ssrc: 7, payloadType: 0, timestampPerFrame: 160, startMs: 0, initialSequence: 10, initialTimestamp: 1000 });
  p.enqueue(frame(1));
  p.enqueueEvent([Uint8Array.of(5, 0, 0, 160), Uint8Array.of(5, 0, 1, 64), Uint8Array.of(5, 0x80, 1, 64)], 101);
  p.enqueue(frame(2));
  const out = p.take(80); // slots 0..4
  t.same(
    out.map((x) => [x.payloadType, x.marker, x.timestamp, x.sequenceNumber]),
    [
      [0, true, 1000, 10],
      [101, true, 1160, 11],
      [101, false, 1160, 12],
      [101, false, 1160, 13],
      [0, true, 1640, 14],
    ],
    'audio, the event at the timestamp of its first slot, then audio as a new talkspurt',
  );
});

t.test('flush drops queued audio but keeps a key press in progress', async (t) => {
  const p = new Pacer({ ssrc: 7, payloadType: 0, timestampPerFrame: 160, startMs: 0, initialSequence: 0, initialTimestamp: 0 });
  p.enqueue(frame(1));
  p.enqueueEvent([Uint8Array.of(1, 0, 0, 160), Uint8Array.of(1, 0x80, 0, 160)], 101);
  p.enqueue(frame(2));
  t.equal(p.flush(), 2, 'two audio frames dropped');
  t.same(p.take(40).map((x) => x.payloadType), [101, 101]);
});

t.test('dropTagged removes only the frames of one tag', async (t) => {
  const p = new Pacer({ ssrc: 7, payloadType: 0, timestampPerFrame: 160, startMs: 0, initialSequence: 0, initialTimestamp: 0 });
  p.enqueue(frame(1), 'model');
  p.enqueue(frame(2), 'filler');
  p.enqueue(frame(3), 'filler');
  p.enqueue(frame(4), 'model');
  t.equal(p.dropTagged('filler'), 2);
  t.same(p.take(40).map((x) => x.payload[0]), [1, 4]);
});

import t from 'tap';
import {
  DtmfReceiver,
  digitToEvent,
  dtmfPackets,
  encodeTelephoneEvent,
  eventToDigit,
  parseTelephoneEvent,
} from '../../src/media/dtmf.js';

const ev = (event: number, end: boolean, duration: number, volume = 10): Uint8Array =>
  encodeTelephoneEvent({ event, end, volume, duration });

t.test('telephone-event payload: bytes by hand and round trip', async (t) => {
  // Digit 5, E=1, volume 10, duration 800 → 05 8a 03 20 (RFC 4733 §2.3 layout)
  t.same([...ev(5, true, 800)], [0x05, 0x8a, 0x03, 0x20]);
  t.same(parseTelephoneEvent(Uint8Array.of(0x0b, 0x3f, 0xff, 0xff)), { event: 11, end: false, volume: 63, duration: 65535 });
  t.same(parseTelephoneEvent(Uint8Array.of(0x0b, 0x40, 0, 1)), { event: 11, end: false, volume: 0, duration: 1 }, 'R bit ignored');
  t.equal(parseTelephoneEvent(Uint8Array.of(1, 2, 3)), null);
  t.throws(() => ev(256, false, 0), TypeError);
  t.throws(() => ev(1, false, 70000), TypeError);
  t.throws(() => encodeTelephoneEvent({ event: 1, end: false, volume: 64, duration: 0 }), TypeError);
  t.equal(eventToDigit(10), '*');
  t.equal(eventToDigit(11), '#');
  t.equal(eventToDigit(15), 'D');
  t.equal(eventToDigit(16), 'flash');
  t.equal(eventToDigit(40), null);
  t.equal(digitToEvent('a'), 12);
  t.throws(() => digitToEvent('x'), TypeError);
  t.throws(() => digitToEvent('12'), TypeError);
});

t.test('a normal press (marker, updates, three ends) is reported once', async (t) => {
  const rx = new DtmfReceiver();
  const presses = [
    rx.push({ marker: true, timestamp: 1000, payload: ev(1, false, 160) }),
    rx.push({ marker: false, timestamp: 1000, payload: ev(1, false, 320) }),
    rx.push({ marker: false, timestamp: 1000, payload: ev(1, false, 480) }),
    rx.push({ marker: false, timestamp: 1000, payload: ev(1, true, 640) }),
    rx.push({ marker: false, timestamp: 1000, payload: ev(1, true, 640) }),
    rx.push({ marker: false, timestamp: 1000, payload: ev(1, true, 640) }),
  ].filter((p) => p !== null);
  t.same(presses, [{ digit: '1', event: 1, volume: 10, timestamp: 1000 }]);
  t.equal(rx.presses, 1);
});

t.test('a carrier that never sets the marker still gets each press once', async (t) => {
  const rx = new DtmfReceiver();
  const digits: string[] = [];
  let ts = 5000;
  for (const d of [4, 4, 2]) {
    for (const [end, dur] of [[false, 160], [false, 320], [true, 480], [true, 480], [true, 480]] as const) {
      const p = rx.push({ marker: false, timestamp: ts, payload: ev(d, end, dur) });
      if (p) digits.push(p.digit);
    }
    ts += 1600;
  }
  t.same(digits, ['4', '4', '2'], 'the same digit twice in a row is two presses');
});

t.test('only the end packets arrive: still one press', async (t) => {
  const rx = new DtmfReceiver();
  const got = [1, 2, 3].map(() => rx.push({ marker: false, timestamp: 77, payload: ev(9, true, 800) }));
  t.equal(got.filter(Boolean).length, 1);
  t.equal(got[0]!.digit, '9');
});

t.test('same digit again on the same timestamp after an end, with the marker: a new press', async (t) => {
  const rx = new DtmfReceiver();
  t.ok(rx.push({ marker: true, timestamp: 10, payload: ev(3, false, 160) }));
  t.equal(rx.push({ marker: false, timestamp: 10, payload: ev(3, true, 320) }), null);
  t.equal(rx.push({ marker: false, timestamp: 10, payload: ev(3, false, 160) }), null, 'a late update is not a press');
  t.ok(rx.push({ marker: true, timestamp: 10, payload: ev(3, false, 160) }), 'marked restart after the end is');
});

t.test('late packets of an older event and non-DTMF events are ignored', async (t) => {
  const rx = new DtmfReceiver();
  t.ok(rx.push({ marker: true, timestamp: 2000, payload: ev(7, false, 160) }));
  t.equal(rx.push({ marker: false, timestamp: 1000, payload: ev(6, true, 800) }), null);
  t.equal(rx.push({ marker: true, timestamp: 3000, payload: ev(32, false, 160) }), null, 'event 32 (a tone) is not a key');
  t.equal(rx.push({ marker: true, timestamp: 4000, payload: Uint8Array.of(1) }), null, 'short payload');
  t.equal(rx.ignored, 3);
});

t.test('timestamp wrap between presses', async (t) => {
  const rx = new DtmfReceiver();
  t.ok(rx.push({ marker: true, timestamp: 0xffffff00, payload: ev(1, true, 800) }));
  t.ok(rx.push({ marker: true, timestamp: 0x00000100, payload: ev(2, false, 160) }), 'newer across the wrap');
});

t.test('a long event split into segments (RFC 4733 §2.5.1.5) is one press', async (t) => {
  const rx = new DtmfReceiver();
  t.ok(rx.push({ marker: true, timestamp: 0, payload: ev(0, false, 65535) }));
  t.equal(rx.push({ marker: false, timestamp: 65535, payload: ev(0, false, 800) }), null);
  t.equal(rx.push({ marker: false, timestamp: 65535, payload: ev(0, true, 1600) }), null);
});

t.test('the sender: marked start, growing updates, three ends, one timestamp', async (t) => {
  const pkts = dtmfPackets('#', { timestamp: 0xdeadbeef, durationMs: 120, updateIntervalMs: 50 });
  t.same(pkts.map((p) => p.offsetMs), [0, 50, 100, 120, 140, 160]);
  t.same(pkts.map((p) => p.marker), [true, false, false, false, false, false]);
  t.ok(pkts.every((p) => p.timestamp === 0xdeadbeef));
  const parsed = pkts.map((p) => parseTelephoneEvent(p.payload)!);
  t.ok(parsed.every((e) => e.event === 11 && e.volume === 10));
  t.same(parsed.map((e) => e.duration), [400, 800, 960, 960, 960, 960]);
  t.same(parsed.map((e) => e.end), [false, false, false, true, true, true]);
  const rx = new DtmfReceiver();
  t.same(pkts.map((p) => rx.push(p)?.digit ?? null), ['#', null, null, null, null, null], 'our receiver reads it as one press');
  t.throws(() => dtmfPackets('1', { timestamp: 0, durationMs: 10_000 }), TypeError);
  t.throws(() => dtmfPackets('z', { timestamp: 0 }), TypeError);
});

import t from 'tap';
import { JitterBuffer, type JitterFrame, type JitterBufferOptions } from '../../src/media/jitter-buffer.js';

interface Pkt {
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  payloadType: number;
  payload: Uint8Array;
}

/** Packet i of a 20 ms, 8 kHz stream; its payload's first byte names it (i mod 256). */
function pkt(i: number, o: { ssrc?: number; seq0?: number; ts0?: number } = {}): Pkt {
  return {
    ssrc: o.ssrc ?? 0x1111,
    sequenceNumber: ((o.seq0 ?? 1000) + i) & 0xffff,
    timestamp: ((o.ts0 ?? 50_000) + 160 * i) >>> 0,
    payloadType: 0,
    payload: Uint8Array.of(i & 0xff, 0xaa),
  };
}

/**
 * Runs a buffer against arrivals: at each 20 ms tick, every packet that arrived by then is
 * pushed, then one pop. Returns a compact trace: the packet number for audio, 'r<n>' for a
 * repeat of packet n, '-' for silence, '.' for nothing (priming/idle).
 */
function run(jb: JitterBuffer, arrivals: Array<{ at: number; p: Pkt }>, ticks: number, tickStart = 0): string[] {
  const sorted = [...arrivals].sort((a, b) => a.at - b.at);
  let k = 0;
  const trace: string[] = [];
  for (let n = 0; n < ticks; n++) {
    const now = tickStart + n * 20;
    while (k < sorted.length && sorted[k]!.at <= now) {
      jb.push(sorted[k]!.p, sorted[k]!.at);
      k++;
    }
    trace.push(show(jb.pop(now)));
  }
  return trace;
}

function show(f: JitterFrame | null): string {
  if (f === null) return '.';
  if (f.kind === 'audio') return String(f.payload[0]);
  if (f.kind === 'repeat') return `r${f.payload[0]}`;
  return '-';
}

const fixed = (o: Partial<JitterBufferOptions> = {}): JitterBuffer =>
  new JitterBuffer({ clockRate: 8000, minDepthMs: 40, maxDepthMs: 200, adaptive: false, ...o });

/** Packets 0..n-1 arriving on time at 20 ms spacing (offset by 1 ms so they precede the tick). */
const steady = (n: number, skip: number[] = [], o?: Parameters<typeof pkt>[1]): Array<{ at: number; p: Pkt }> =>
  Array.from({ length: n }, (_, i) => i)
    .filter((i) => !skip.includes(i))
    .map((i) => ({ at: i * 20 - 1 + 1, p: pkt(i, o) }));

t.test('in-order stream: primes for the minimum depth, then one frame per tick, in order', async (t) => {
  const jb = fixed();
  const trace = run(jb, steady(10), 13);
  t.same(trace, ['.', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-']);
  const s = jb.toJSON();
  t.equal(s.played, 10);
  t.equal(s.concealed, 1, 'after the stream stops it keeps producing frames (silence)');
  t.equal(s.late, 0);
});

t.test('reordered packets come out in order', async (t) => {
  const arrivals = steady(8);
  // swap arrival times of 2 and 3, and of 5 and 6
  [arrivals[2]!.at, arrivals[3]!.at] = [arrivals[3]!.at, arrivals[2]!.at];
  [arrivals[5]!.at, arrivals[6]!.at] = [arrivals[6]!.at, arrivals[5]!.at];
  const jb = fixed();
  t.same(run(jb, arrivals, 10), ['.', '.', '0', '1', '2', '3', '4', '5', '6', '7']);
  t.equal(jb.toJSON().concealed, 0);
});

t.test('loss is concealed with silence, or by repeating the last frame', async (t) => {
  const silence = fixed();
  t.same(run(silence, steady(7, [3]), 9), ['.', '.', '0', '1', '2', '-', '4', '5', '6']);
  t.equal(silence.toJSON().lost, 1);

  const repeat = fixed({ concealment: 'repeat' });
  t.same(run(repeat, steady(7, [3]), 9), ['.', '.', '0', '1', '2', 'r2', '4', '5', '6']);

  const limited = fixed({ concealment: 'repeat', maxRepeatFrames: 2 });
  // Four losses at an empty buffer: the buffer first holds (they might only be late), so the
  // loss costs two held frames of extra delay before 6 arrives and the gap is skipped.
  t.same(run(limited, steady(9, [2, 3, 4, 5]), 13), ['.', '.', '0', '1', 'r1', 'r1', '-', '-', '-', '-', '6', '7', '8']);
  t.equal(limited.toJSON().lost, 4);
  t.equal(limited.toJSON().underflows, 2);
});

t.test('duplicates are dropped and counted', async (t) => {
  const arrivals = steady(6);
  arrivals.push({ at: 41, p: pkt(1) }, { at: 61, p: pkt(3) }, { at: 62, p: pkt(3) });
  const jb = fixed();
  t.same(run(jb, arrivals, 8), ['.', '.', '0', '1', '2', '3', '4', '5']);
  t.equal(jb.toJSON().duplicates, 3);
});

t.test('a packet arriving after its slot played is dropped as late', async (t) => {
  const arrivals = steady(8).map((a) => (a.p.payload[0] === 3 ? { ...a, at: 125 } : a));
  const jb = fixed();
  t.same(run(jb, arrivals, 10), ['.', '.', '0', '1', '2', '-', '4', '5', '6', '7']);
  const s = jb.toJSON();
  t.equal(s.late, 1);
  t.equal(s.lost, 1);
});

t.test('sequence and timestamp wrap in the middle of the stream', async (t) => {
  const o = { seq0: 65530, ts0: 0xffffffff - 160 * 4 + 1 };
  const jb = fixed();
  const trace = run(jb, steady(14, [], o), 16);
  t.same(trace, ['.', '.', ...Array.from({ length: 14 }, (_, i) => String(i))]);
  t.equal(jb.toJSON().concealed, 0);
  t.equal(jb.toJSON().resyncs, 0, 'a wrap is not a jump');
});

t.test('an SSRC change starts a new timeline after what is buffered; output never stops', async (t) => {
  const a = steady(5);
  const b = Array.from({ length: 5 }, (_, i) => ({ at: 100 + i * 20, p: pkt(100 + i, { ssrc: 0x2222, seq0: 7, ts0: 999 }) }));
  const jb = fixed();
  const trace = run(jb, [...a, ...b], 14);
  // a plays 0..4 (3 and 4 were still buffered when the new source arrived); b follows at once.
  t.same(trace, ['.', '.', '0', '1', '2', '3', '4', '100', '101', '102', '103', '104', '-', '-']);
  const s = jb.toJSON();
  t.equal(s.ssrcChanges, 1);
  t.equal(s.ssrc, 0x2222);
  t.equal(s.late, 0);
  t.equal(s.discarded, 0, 'the old source\'s buffered frames still play');
  t.equal(s.resyncs, 1);
});

t.test('a big timestamp jump in sequence resyncs without a gap', async (t) => {
  const arrivals = steady(10).map((a, i) =>
    i >= 5 ? { ...a, p: { ...a.p, timestamp: (a.p.timestamp + 8000 * 3600) >>> 0 } } : a,
  );
  const jb = fixed();
  t.same(run(jb, arrivals, 12), ['.', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  t.equal(jb.toJSON().resyncs, 1);
  t.equal(jb.toJSON().concealed, 0);
});

t.test('a lone stray packet far outside the timeline is dropped', async (t) => {
  const arrivals = steady(8);
  arrivals.push({ at: 50, p: { ...pkt(40), sequenceNumber: 20_000, timestamp: 123 } });
  const jb = fixed();
  t.same(run(jb, arrivals, 10), ['.', '.', '0', '1', '2', '3', '4', '5', '6', '7']);
  t.equal(jb.toJSON().outOfWindow, 1);
});

t.test('a sender pause: silence meanwhile, the next talkspurt gets its margin back', async (t) => {
  const first = steady(5);
  // 3 s of silence (timestamps advance with time, as with DTX), then 5 more packets.
  const second = Array.from({ length: 5 }, (_, i) => ({ at: 3000 + i * 20, p: pkt(150 + i) }));
  const jb = fixed();
  const trace = run(jb, [...first, ...second], 160);
  t.same(trace.slice(0, 7), ['.', '.', '0', '1', '2', '3', '4']);
  t.ok(trace.slice(7, 150).every((x) => x === '-'), 'silence while the sender is quiet');
  const resumed = trace.indexOf('150');
  t.ok(resumed > 0, 'the new talkspurt plays');
  t.same(trace.slice(resumed, resumed + 5), ['150', '151', '152', '153', '154']);
  t.ok(resumed * 20 - 3000 >= 40 && resumed * 20 - 3000 <= 60, `played ${resumed * 20 - 3000} ms after arrival`);
  t.equal(jb.toJSON().late, 0);
});

t.test('DTX: sequence continues, timestamp jumps, marker set: the talkspurt gets its margin', async (t) => {
  for (const pauseMs of [300, 2000]) {
    const first = steady(5);
    const resume = 100 + pauseMs;
    const skip = pauseMs / 20;
    // Sequence numbers continue (5, 6, …) while timestamps count the pause, as RFC 3551 DTX does.
    const second = Array.from({ length: 5 }, (_, i) => ({
      at: resume + i * 20,
      p: { ...pkt(5 + i), timestamp: pkt(5 + skip + i).timestamp, marker: i === 0 },
    }));
    const jb = fixed();
    const trace = run(jb, [...first, ...second], Math.ceil(resume / 20) + 12);
    const at = trace.indexOf('5');
    t.ok(at > 0, `${pauseMs} ms pause: the talkspurt plays`);
    t.same(trace.slice(at, at + 5), ['5', '6', '7', '8', '9']);
    t.ok(at * 20 - resume >= 40, `${pauseMs} ms pause: first frame plays ${at * 20 - resume} ms after arrival (margin 40)`);
    t.equal(jb.toJSON().late, 0);
  }
});

t.test('a marked talkspurt whose timestamps did not advance over the pause still gets the margin', async (t) => {
  const first = steady(5);
  const second = Array.from({ length: 3 }, (_, i) => ({ at: 300 + i * 20, p: { ...pkt(5 + i), marker: i === 0 } }));
  const jb = fixed();
  const trace = run(jb, [...first, ...second], 22);
  const at = trace.indexOf('5');
  t.equal(at * 20 - 300, 40, 'plays 40 ms after arrival, not at once');
  t.same(trace.slice(at, at + 3), ['5', '6', '7']);
  const unmarked = fixed();
  const trace2 = run(unmarked, [...first, ...second.map((a) => ({ ...a, p: { ...a.p, marker: false } }))], 22);
  t.equal(trace2.indexOf('5') * 20 - 300, 0, 'without the marker it is just a late packet, played at once');
});

t.test('underflow holds the slot so a late (not lost) packet still plays', async (t) => {
  // Packets 0..3 on time; packet 4 is 50 ms late, 5.. follow it.
  const arrivals = steady(10).map((a, i) => (i >= 4 ? { ...a, at: a.at + 50 } : a));
  const jb = fixed({ minDepthMs: 20 });
  const trace = run(jb, arrivals, 16);
  t.same(trace.filter((x) => x !== '.' && x !== '-'), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'nothing dropped');
  t.equal(jb.toJSON().late, 0);
  t.ok(jb.toJSON().underflows >= 2);
});

t.test('a burst after a stall is cut back to the target depth', async (t) => {
  // 0..4 on time, then nothing for 600 ms, then 30 packets at once (a network stall).
  const arrivals = steady(5).concat(Array.from({ length: 30 }, (_, i) => ({ at: 700, p: pkt(5 + i) })));
  const jb = fixed({ maxDepthMs: 100 });
  const trace = run(jb, arrivals, 45);
  const s = jb.toJSON();
  t.ok(s.discarded > 0, 'old frames were discarded');
  t.ok(s.depthMs <= 100, `depth ${s.depthMs} ms within max`);
  t.equal(trace.at(-1), '-', 'drained');
  const afterBurst = trace.slice(36).filter((x) => x !== '-');
  t.ok(afterBurst.length > 0 && afterBurst.length <= 5, 'only about target depth of the burst plays');
});

t.test('excess depth shrinks over the window', async (t) => {
  // The sender's packets arrive 100 ms "early" relative to playout after priming: simulate by
  // delivering packet i at i*20 but starting the buffer with a huge initial burst of 6 packets.
  const arrivals = Array.from({ length: 200 }, (_, i) => ({ at: Math.max(0, i * 20 - 120), p: pkt(i) }));
  const jb = fixed({ shrinkWindowMs: 500 });
  run(jb, arrivals, 180);
  const s = jb.toJSON();
  t.ok(s.depthMs <= 60, `depth shrank to ${s.depthMs} ms`);
  t.ok(s.discarded >= 3);
});

t.test('adaptive depth grows with jitter; fixed depth does not', async (t) => {
  let seed = 7;
  const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const arrivals = Array.from({ length: 300 }, (_, i) => ({ at: i * 20 + Math.floor(rand() * 60), p: pkt(i) }));
  const adaptive = new JitterBuffer({ clockRate: 8000, minDepthMs: 20, maxDepthMs: 200, adaptive: true });
  const still = fixed({ minDepthMs: 20 });
  run(adaptive, arrivals, 320);
  run(still, arrivals, 320);
  t.ok(adaptive.toJSON().jitterMs > 5, `jitter measured ${adaptive.toJSON().jitterMs.toFixed(1)} ms`);
  t.ok(adaptive.toJSON().targetDepthMs > 20, `adaptive target ${adaptive.toJSON().targetDepthMs} ms`);
  t.equal(still.toJSON().targetDepthMs, 20);
  t.ok(adaptive.toJSON().late <= still.toJSON().late, 'adaptive drops no more late packets than fixed');
});

t.test('a rough network for a minute: one frame per tick, audio strictly in order, most of it played', async (t) => {
  for (const adaptive of [false, true]) {
    let seed = adaptive ? 11 : 5;
    const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const arrivals: Array<{ at: number; p: Pkt }> = [];
    const n = 3000; // 60 s, crossing the sequence wrap (seq0 65000) and the timestamp wrap
    for (let i = 0; i < n; i++) {
      if (rand() < 0.03) continue; // 3 % loss
      const at = i * 20 + Math.floor(rand() * 35); // up to 35 ms of jitter (reorders too)
      const p = pkt(i, { seq0: 65000, ts0: 0xffffffff - 160 * 1000 });
      p.payload = Uint8Array.of(i & 0xff, i >> 8);
      arrivals.push({ at, p });
      if (rand() < 0.02) arrivals.push({ at: at + 5, p }); // 2 % duplicates
    }
    const jb = new JitterBuffer({ clockRate: 8000, minDepthMs: 40, maxDepthMs: 200, adaptive });
    const sorted = [...arrivals].sort((a, b) => a.at - b.at);
    let k = 0;
    let frames = 0;
    let nulls = 0;
    let last = -1;
    let outOfOrder = 0;
    let audio = 0;
    for (let tick = 0; tick < n + 20; tick++) {
      const now = tick * 20;
      while (k < sorted.length && sorted[k]!.at <= now) jb.push(sorted[k]!.p, sorted[k++]!.at);
      const f = jb.pop(now);
      if (f === null) {
        nulls++;
        continue;
      }
      frames++;
      if (f.kind === 'audio') {
        const id = f.payload[0]! | (f.payload[1]! << 8);
        if (id <= last) outOfOrder++;
        last = id;
        audio++;
      }
    }
    const s = jb.toJSON();
    // Before the first packet (up to 35 ms late) and during the 40 ms of priming: at most 5 ticks.
    t.ok(nulls <= 5, `${adaptive ? 'adaptive' : 'fixed'}: only the pops before playout starts are empty (${nulls})`);
    t.equal(frames + nulls, n + 20, 'one frame per tick once playing');
    t.equal(outOfOrder, 0, 'audio never goes backwards or repeats');
    const mode = adaptive ? 'adaptive' : 'fixed';
    const detail = `${s.late} late, ${s.lost} lost, ${s.discarded} discarded, jitter ${s.jitterMs.toFixed(1)} ms`;
    t.ok(audio >= 0.9 * n, `${mode}: played ${audio} of ${n} (${detail})`);
    t.ok(s.duplicates > 0);
  }
});

t.test('bad options are TypeErrors', async (t) => {
  t.throws(() => new JitterBuffer({ clockRate: 0 }), TypeError);
  t.throws(() => new JitterBuffer({ clockRate: 8000, minDepthMs: 100, maxDepthMs: 40 }), TypeError);
  t.throws(() => new JitterBuffer({ clockRate: 8000, frameMs: 0.3 }), TypeError);
  t.throws(() => new JitterBuffer({ clockRate: 8000, concealment: 'noise' as never }), TypeError);
});

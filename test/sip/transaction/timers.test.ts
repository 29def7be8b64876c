import t from 'tap';
import { baseTimers, nextRetransmitInterval, timerTables, timersFor } from '../../../src/sip/embedded/timers.js';

t.test('defaults follow RFC 3261 Table 4', async (t) => {
  const { unreliable: u, reliable: r } = timerTables();
  t.same([u.T1, u.T2, u.T4], [500, 4000, 5000]);
  t.same([u.A, u.E, u.G], [500, 500, 500]);
  t.same([u.B, u.F, u.H, u.J, u.L, u.M, u.twoXxGiveUp], [32000, 32000, 32000, 32000, 32000, 32000, 32000]);
  t.same([u.D, u.I, u.K], [32000, 5000, 5000]);
  t.same([r.D, r.I, r.J, r.K], [0, 0, 0, 0], 'reliable transports wait for nothing');
  t.same([r.B, r.F, r.H], [32000, 32000, 32000], 'timeouts stay on reliable transports');
});

t.test('lettered timers derive from configured T1/T2/T4', async (t) => {
  const u = timersFor(baseTimers({ T1: 100, T2: 1000, T4: 2000 }), false);
  t.equal(u.B, 6400);
  t.equal(u.F, 6400);
  t.equal(u.H, 6400);
  t.equal(u.J, 6400);
  t.equal(u.I, 2000);
  t.equal(u.K, 2000);
  t.equal(u.D, 32000, 'Timer D never below 32 s on UDP');
  t.equal(timersFor(baseTimers({ T1: 1000 }), false).D, 64000, 'and never below Timer H');
});

t.test('bad values are TypeErrors, 0 is not silently replaced', async (t) => {
  t.throws(() => baseTimers({ T1: 0 }), TypeError);
  t.throws(() => baseTimers({ T2: -1 }), TypeError);
  t.throws(() => baseTimers({ T1: 5000, T2: 4000 }), TypeError);
});

t.test('retransmit interval doubles up to T2', async (t) => {
  const seen: number[] = [];
  let i = 500;
  for (let n = 0; n < 6; n++) {
    seen.push(i);
    i = nextRetransmitInterval(i, 4000);
  }
  t.same(seen, [500, 1000, 2000, 4000, 4000, 4000]);
});

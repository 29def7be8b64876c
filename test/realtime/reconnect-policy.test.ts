import t from 'tap';
import { FakeClock } from '../../src/core/clock.js';
import { RealtimeError } from '../../src/realtime/realtime-error.js';
import { ReconnectPolicy, reconnectWithPolicy } from '../../src/realtime/reconnect-policy.js';

const net = (): RealtimeError => new RealtimeError('network', 'dropped');

t.test('delays: exponential, capped, jittered, within budget; only retryable errors', async (t) => {
  const p = new ReconnectPolicy({ initialDelayMs: 100, maxDelayMs: 500, multiplier: 2, maxAttempts: 5, budgetMs: 10_000, jitter: 0 });
  t.same([1, 2, 3, 4, 5].map((n) => p.delayFor(n, net(), 0)), [100, 200, 400, 500, 500]);
  t.equal(p.delayFor(6, net(), 0), null, 'attempts exhausted');
  t.equal(p.delayFor(1, net(), 9_950), null, 'the next wait would overrun the budget');
  t.equal(p.delayFor(1, new RealtimeError('auth', 'no'), 0), null);
  t.equal(p.delayFor(1, new RealtimeError('quota', 'no'), 0), null);
  t.equal(p.delayFor(1, new RealtimeError('protocol', 'no'), 0), null);
  t.equal(p.delayFor(1, new Error('plain'), 0), null, 'a non-Realtime error is a bug, not retried');
  t.equal(p.delayFor(1, new RealtimeError('session_limit', 'end'), 0), 100);
  t.equal(p.delayFor(1, new RealtimeError('quota', 'rl', { retryable: true, retryAfterMs: 1500 }), 0), 1500, 'Retry-After is honoured');
  const j = new ReconnectPolicy({ initialDelayMs: 100, jitter: 0.5, random: () => 0.5 });
  t.equal(j.delayFor(1, net(), 0), 75);
  t.throws(() => new ReconnectPolicy({ jitter: 2 }), TypeError);
});

t.test('reconnectWithPolicy on a fake clock', async (t) => {
  const clock = new FakeClock();
  const policy = new ReconnectPolicy({ initialDelayMs: 100, maxAttempts: 3, budgetMs: 5000, jitter: 0 });
  let attempts = 0;
  const done = reconnectWithPolicy(
    net(),
    async (n) => {
      attempts = n;
      if (n < 3) throw net();
      return 'open';
    },
    { policy, clock },
  );
  // Attempt 1 at 100 ms, 2 at 100 + 200, 3 at 300 + 400.
  for (const [ms, expected] of [
    [99, 0],
    [1, 1],
    [199, 1],
    [1, 2],
    [400, 3],
  ] as const) {
    clock.advance(ms);
    await new Promise((r) => setImmediate(r));
    t.equal(attempts, expected, `after +${ms} ms`);
  }
  t.equal(await done, 'open');

  // A refused key on the way stops the loop at once.
  const auth = new RealtimeError('auth', 'refused');
  const stopped = reconnectWithPolicy(net(), async () => Promise.reject(auth), { policy, clock });
  clock.advance(100);
  await t.rejects(stopped, auth);

  // Abort while waiting.
  const ac = new AbortController();
  const aborted = reconnectWithPolicy(net(), async () => 'x', { policy, clock, signal: ac.signal });
  ac.abort();
  await t.rejects(aborted, { code: 'KALEM_ERR_REALTIME_CLOSED' });
  t.equal(clock.pendingTimers(), 0, 'the wait was cancelled');
});

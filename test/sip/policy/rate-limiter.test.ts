import t from 'tap';
import { FakeClock } from '../../../src/core/clock.js';
import { RateLimiter, type RateLimiterOptions } from '../../../src/sip/rate-limiter.js';

function limiter(extra: Partial<RateLimiterOptions> = {}): { clock: FakeClock; rl: RateLimiter } {
  const clock = new FakeClock();
  const rl = new RateLimiter({ clock, requests: 3, windowMs: 2000, blockMs: 10_000, ...extra });
  return { clock, rl };
}

const times = (n: number, f: () => string): string[] => Array.from({ length: n }, f);

t.test('N requests per window pass; the next one blocks the source', async (t) => {
  const { rl } = limiter();
  t.same(times(3, () => rl.check('198.51.100.7')), ['allow', 'allow', 'allow']);
  t.equal(rl.check('198.51.100.7'), 'block', 'the request over the limit reports the block once');
  t.same(times(3, () => rl.check('198.51.100.7')), ['blocked', 'blocked', 'blocked']);
  t.equal(rl.isBlocked('198.51.100.7'), true);
  t.equal(rl.check('198.51.100.8'), 'allow', 'other sources are not affected');
  t.equal(rl.isBlocked('198.51.100.8'), false);
  t.same(rl.stats(), { tracked: 2, evictedAtCap: 0, blocks: 1 });
});

t.test('the window resets: N more requests after windowMs', async (t) => {
  const { clock, rl } = limiter();
  t.same(times(3, () => rl.check('192.0.2.1')), ['allow', 'allow', 'allow']);
  clock.advance(1999);
  t.equal(rl.check('192.0.2.1'), 'block', 'still inside the first window');
  const fresh = limiter();
  t.same(times(3, () => fresh.rl.check('192.0.2.1')), ['allow', 'allow', 'allow']);
  fresh.clock.advance(2000);
  t.same(times(3, () => fresh.rl.check('192.0.2.1')), ['allow', 'allow', 'allow'], 'a new window');
  t.equal(fresh.rl.check('192.0.2.1'), 'block');
});

t.test('a blocked source is ignored for blockMs, then counted afresh', async (t) => {
  const { clock, rl } = limiter();
  times(4, () => rl.check('203.0.113.9'));
  clock.advance(9_999);
  t.equal(rl.check('203.0.113.9'), 'blocked', 'still blocked 1 ms before the end');
  clock.advance(1);
  t.equal(rl.isBlocked('203.0.113.9'), false);
  t.same(times(3, () => rl.check('203.0.113.9')), ['allow', 'allow', 'allow'], 'a full allowance after unblocking');
  t.equal(rl.check('203.0.113.9'), 'block');
});

t.test('blockMs 0: only the excess request is dropped', async (t) => {
  const { rl } = limiter({ blockMs: 0 });
  t.same(times(5, () => rl.check('192.0.2.5')), ['allow', 'allow', 'allow', 'block', 'allow']);
});

t.test('IPv6 sources count per /64 by default; IPv4-mapped counts as IPv4', async (t) => {
  const { rl } = limiter();
  t.same(
    ['2001:db8::1', '2001:db8::2', '2001:db8:0:0:ffff::3'].map((a) => rl.check(a)),
    ['allow', 'allow', 'allow'],
  );
  t.equal(rl.check('2001:db8::abcd'), 'block', 'the fourth address of the same /64');
  t.equal(rl.check('2001:db8:0:1::1'), 'allow', 'the next /64 is another source');
  t.equal(rl.keyOf('2001:DB8::1'), rl.keyOf('2001:db8:0:0::9'));
  times(3, () => rl.check('192.0.2.44'));
  t.equal(rl.check('::ffff:192.0.2.44'), 'block');

  const per = limiter({ ipv6PrefixLength: 128 }).rl;
  t.same(times(3, () => per.check('2001:db8::1')), ['allow', 'allow', 'allow']);
  t.equal(per.check('2001:db8::2'), 'allow', 'with /128 each address is its own source');
  const p56 = limiter({ ipv6PrefixLength: 56 }).rl;
  t.equal(p56.keyOf('2001:db8:0:ff::1'), p56.keyOf('2001:db8:0:1::1'), '/56 masks the 4th group\'s low byte');
  t.not(p56.keyOf('2001:db8:0:100::1'), p56.keyOf('2001:db8:0:1::1'));
});

t.test('allow list: trunk sources are never limited nor tracked', async (t) => {
  const { rl } = limiter();
  rl.setAllowList((a) => a.startsWith('54.172.60.'));
  t.same(times(100, () => rl.check('54.172.60.1')), Array(100).fill('allow'));
  t.equal(rl.stats().tracked, 0);
  t.equal(rl.check('198.51.100.1'), 'allow');
  rl.setAllowList(null);
  t.same(times(4, () => rl.check('54.172.60.1')).at(-1), 'block', 'cleared: limited like anyone');
});

t.test('idle sources are evicted after the window; a blocked one stays until its block ends', async (t) => {
  const { clock, rl } = limiter();
  times(4, () => rl.check('203.0.113.66')); // blocked until +10 s
  for (let i = 0; i < 50; i++) rl.check(`198.51.100.${i}`);
  t.equal(rl.stats().tracked, 51);
  clock.advance(2000);
  for (let i = 0; i < 20; i++) rl.check('192.0.2.200');
  t.equal(rl.stats().tracked, 2, 'the 50 idle sources are gone; the blocked one and the active one remain');
  t.equal(rl.check('203.0.113.66'), 'blocked', 'eviction did not lift the block');
  clock.advance(10_000);
  for (let i = 0; i < 5; i++) rl.check('192.0.2.201');
  t.equal(rl.stats().tracked, 1, 'after its block and a quiet window the blocked source is forgotten too');
});

t.test('the cap: least recently seen sources make room; an active flooder stays blocked', async (t) => {
  const { rl } = limiter({ maxSources: 3 });
  rl.check('192.0.2.1');
  rl.check('192.0.2.2');
  rl.check('192.0.2.3');
  rl.check('192.0.2.1'); // 192.0.2.1 is now the most recent
  rl.check('192.0.2.4'); // evicts 192.0.2.2
  t.same(rl.stats(), { tracked: 3, evictedAtCap: 1, blocks: 0 });
  t.same(times(2, () => rl.check('192.0.2.1')), ['allow', 'block'], '192.0.2.1 kept its count (3 so far)');

  // A flooder spoofing fresh sources cannot flush a blocked source that keeps sending.
  const f = limiter({ maxSources: 10 }).rl;
  times(4, () => f.check('203.0.113.1'));
  for (let i = 0; i < 1000; i++) {
    f.check(`10.0.${i >> 8}.${i & 255}`);
    t.equal(f.check('203.0.113.1'), 'blocked');
  }
  t.equal(f.stats().tracked, 10);
  t.ok(f.stats().evictedAtCap >= 990);
});

t.test('the cap when every tracked source is blocked: the block ending soonest goes', async (t) => {
  const { clock, rl } = limiter({ maxSources: 2 });
  times(4, () => rl.check('192.0.2.1'));
  clock.advance(100);
  times(4, () => rl.check('192.0.2.2'));
  t.same(rl.stats(), { tracked: 2, evictedAtCap: 0, blocks: 2 });
  t.equal(rl.check('192.0.2.3'), 'allow');
  t.equal(rl.isBlocked('192.0.2.1'), false, 'the earlier block was dropped to make room');
  t.equal(rl.isBlocked('192.0.2.2'), true);
  t.equal(rl.stats().tracked, 2);
});

t.test('bad arguments are TypeErrors', async (t) => {
  const clock = new FakeClock();
  t.throws(() => new RateLimiter({ clock, requests: 0, windowMs: 2000, blockMs: 0 }), TypeError);
  t.throws(() => new RateLimiter({ clock, requests: 1.5, windowMs: 2000, blockMs: 0 }), TypeError);
  t.throws(() => new RateLimiter({ clock, requests: 10, windowMs: 0, blockMs: 0 }), TypeError);
  t.throws(() => new RateLimiter({ clock, requests: 10, windowMs: 2000, blockMs: -1 }), TypeError);
  t.throws(() => new RateLimiter({ clock, requests: 10, windowMs: 2000, blockMs: 0, maxSources: 0 }), TypeError);
  t.throws(() => new RateLimiter({ clock, requests: 10, windowMs: 2000, blockMs: 0, ipv6PrefixLength: 129 }), TypeError);
  t.throws(() => limiter().rl.check(''), TypeError);
});

import t from 'tap';
import { FakeClock } from '../../../src/core/clock.js';
import { RecentAuthentications } from '../../../src/sip/recent-authentications.js';

t.test('an address is remembered for the TTL, renewed by each authentication, bounded in number', async (t) => {
  const clock = new FakeClock();
  const r = new RecentAuthentications(clock, 1000, 2);
  t.equal(r.has('192.0.2.1'), false);
  r.remember('192.0.2.1');
  t.equal(r.has('::ffff:192.0.2.1'), true, 'IPv4-mapped IPv6 is the same source');
  clock.advance(999);
  r.remember('192.0.2.1'); // renewed
  clock.advance(999);
  t.equal(r.has('192.0.2.1'), true, 'still within the renewed TTL');
  clock.advance(1);
  t.equal(r.has('192.0.2.1'), false, 'expired');
  t.equal(r.size, 0, 'and forgotten');
  r.remember('192.0.2.1');
  r.remember('192.0.2.2');
  r.remember('192.0.2.3');
  t.equal(r.size, 2, 'at most maxEntries');
  t.equal(r.has('192.0.2.1'), false, 'the least recently authenticated went first');
  t.equal(r.has('192.0.2.3'), true);
});

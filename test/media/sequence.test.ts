import t from 'tap';
import {
  SequenceUnwrapper,
  TimestampUnwrapper,
  seqAdd,
  seqDiff,
  seqNewer,
  tsAdd,
  tsDiff,
  tsNewer,
} from '../../src/media/rtp/sequence.js';

t.test('16-bit sequence arithmetic across the wrap', async (t) => {
  t.equal(seqDiff(1, 65535), 2);
  t.equal(seqDiff(65535, 1), -2);
  t.equal(seqDiff(100, 100), 0);
  t.equal(seqDiff(32767, 0), 32767);
  t.equal(seqDiff(32768, 0), -32768, 'exactly half way is "behind" (RFC 1982 leaves it undefined)');
  t.ok(seqNewer(0, 65535));
  t.notOk(seqNewer(65535, 0));
  t.equal(seqAdd(65535, 1), 0);
  t.equal(seqAdd(0, -1), 65535);
  t.equal(seqAdd(10, 65536 * 3 + 5), 15);
});

t.test('32-bit timestamp arithmetic across the wrap', async (t) => {
  t.equal(tsDiff(80, 0xffffffb0), 160);
  t.equal(tsDiff(0xffffffb0, 80), -160);
  t.ok(tsNewer(80, 0xffffffb0));
  t.equal(tsAdd(0xffffff00, 0x200), 0x100);
  t.equal(tsAdd(5, -10), 0xfffffffb);
  t.equal(tsDiff(0x7fffffff, 0), 0x7fffffff);
});

t.test('sequence unwrapper extends across several wraps and places reordered packets', async (t) => {
  const u = new SequenceUnwrapper();
  t.equal(u.unwrap(65530), 65530);
  let last = 65530;
  for (let i = 1; i <= 200_000; i++) last = u.unwrap((65530 + i) & 0xffff);
  t.equal(last, 65530 + 200_000, 'three wraps later the counter is still exact');
  t.equal(u.unwrap((65530 + 199_990) & 0xffff), 65530 + 199_990, 'a late packet unwraps backwards');
  t.equal(u.highest, 65530 + 200_000, 'and does not move the reference');
  const w = new SequenceUnwrapper();
  w.unwrap(65535);
  t.equal(w.unwrap(0), 65536);
  t.equal(w.unwrap(65534), 65534, 'reordered packet from before the wrap');
  t.equal(w.peek(1), 65537);
});

t.test('timestamp unwrapper', async (t) => {
  const u = new TimestampUnwrapper();
  t.equal(u.unwrap(0xffffff60), 0xffffff60);
  t.equal(u.unwrap(0x00000000), 0x100000000);
  t.equal(u.unwrap(0x000000a0), 0x1000000a0);
  t.equal(u.unwrap(0xffffff60), 0xffffff60, 'backwards across the wrap');
  u.reset();
  t.equal(u.unwrap(5), 5);
});

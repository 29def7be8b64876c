import t from 'tap';
import { audioEndMs, PlayoutLedger } from '../../src/realtime/barge-in.js';
import { Pacer } from '../../src/media/pacer.js';

t.test('audioEndMs: sum of sent frames, never past what exists, floored', async (t) => {
  t.equal(audioEndMs([20, 20, 20], 0), 0, 'nothing sent → 0, not before the first frame');
  t.equal(audioEndMs([20, 20, 20], 2), 40);
  t.equal(audioEndMs([20, 20, 7.5], 3), 47, 'a short last frame counts its own length, floored');
  t.equal(audioEndMs([20, 20], 9), 40, 'more sent than queued is clamped');
  t.equal(audioEndMs([20, 20], -3), 0);
  t.throws(() => audioEndMs([20], 0.5), TypeError);
});

t.test('ledger: the earliest unfinished item is truncated at its sent frames', async (t) => {
  const l = new PlayoutLedger(20);
  for (let i = 0; i < 5; i++) l.queued('a', 0);
  for (let i = 0; i < 10; i++) l.queued('b', 0);
  l.queued('b', 0, 12);
  for (let i = 0; i < 5; i++) l.sent('a');
  t.same(l.truncation(), { itemId: 'b', contentIndex: 0, audioEndMs: 0, unplayedMs: 212 }, 'a played in full; nothing of b yet → b at 0');
  for (let i = 0; i < 3; i++) l.sent('b');
  t.same(l.truncation(), { itemId: 'b', contentIndex: 0, audioEndMs: 60, unplayedMs: 152 });
  t.same(l.flush(), [{ itemId: 'b', contentIndex: 0, audioEndMs: 60, unplayedMs: 152 }]);
  t.equal(l.truncation(), null, 'after the flush nothing is left to cut');
  t.equal(l.queued('b', 0), false, 'late audio of a truncated item is refused');
  t.equal(l.queued('c', 0), true);
  t.throws(() => l.sent('zzz'), TypeError);
  l.sent('c');
  t.throws(() => l.sent('c'), TypeError, 'cannot send more than was queued');
  l.prune();
  t.equal(l.size, 0, 'finished items are forgotten');
  t.equal(l.queued('b', 0), false, 'even after pruning');
  t.throws(() => l.queued('d', 0, 25), TypeError);
});

t.test('with the real pacer: barge-in mid-item cuts at exactly the frames that left', async (t) => {
  const pacer = new Pacer({ ssrc: 1, payloadType: 0, timestampPerFrame: 160, startMs: 0, initialSequence: 0, initialTimestamp: 0 });
  const ledger = new PlayoutLedger(20);
  const frame = new Uint8Array(160);
  for (let i = 0; i < 25; i++) if (ledger.queued('item_1', 0)) pacer.enqueue(frame, 'item_1');
  for (let i = 0; i < 25; i++) if (ledger.queued('item_2', 0)) pacer.enqueue(frame, 'item_2');
  // 700 ms of slots: item_1's 25 frames and 10 of item_2's have left.
  for (let now = 0; now <= 690; now += 10) for (const p of pacer.take(now)) ledger.sent(p.tag!);
  // speech_started arrives now.
  const cut = ledger.truncation();
  t.same(cut, { itemId: 'item_2', contentIndex: 0, audioEndMs: 200, unplayedMs: 300 });
  t.equal(pacer.flush(), 15);
  ledger.flush();
  // Deltas of item_2 still in flight from the model are dropped, not queued.
  t.equal(ledger.queued('item_2', 0), false);
  t.same(pacer.take(1000), [], 'nothing more leaves');
});

t.test('truncateAtSent: an item whose converted frames all went out is cut at what was sent, and refused after', async (t) => {
  const l = new PlayoutLedger(20);
  l.queued('item_a', 0);
  l.queued('item_a', 0);
  l.sent('item_a');
  l.sent('item_a');
  t.equal(l.truncation(), null, 'nothing queued is unsent');
  t.same(l.truncateAtSent('item_a'), { itemId: 'item_a', contentIndex: 0, audioEndMs: 40, unplayedMs: 0 });
  t.equal(l.isTruncated('item_a'), true);
  t.equal(l.queued('item_a', 0), false, 'later audio of the item is refused');
  t.same(l.truncateAtSent('item_never_sent'), { itemId: 'item_never_sent', contentIndex: 0, audioEndMs: 0, unplayedMs: 0 });
});

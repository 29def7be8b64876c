import t from 'tap';
import { RtpReceiverStats, RtpSourceStats } from '../../src/media/rtp/stats.js';

t.test('interarrival jitter matches a hand computation of RFC 3550 A.8', async (t) => {
  // 8 kHz, 20 ms packets (160 timestamp units), arriving at 0, 20, 45, 60, 80 ms.
  // Arrivals in timestamp units: 0, 160, 360, 480, 640.
  // D: -, 0, 40, -40, 0  →  J: 0, 0, 2.5, 2.5 + (40 - 2.5)/16 = 4.84375, 4.84375 × 15/16 = 4.541015625
  const s = new RtpSourceStats(0x1234, 8000);
  const arrivals = [0, 20, 45, 60, 80];
  arrivals.forEach((ms, i) => s.record(1000 + i, 0xfffffe00 + 160 * i, ms)); // also crosses the timestamp wrap
  t.equal(s.jitter, 4.541015625);
  t.equal(s.toJSON().jitterMs, 4.541015625 / 8);
  t.equal(s.toJSON().lost, 0);
  t.equal(s.toJSON().expected, 5);
});

t.test('loss, duplicates and late (reordered) packets', async (t) => {
  const s = new RtpSourceStats(1, 8000);
  const seqs = [10, 11, 13, 12, 12, 15];
  seqs.forEach((q, i) => s.record(q, q * 160, i * 20));
  const j = s.toJSON();
  t.equal(j.received, 6, 'every packet counts as received, duplicates included');
  t.equal(j.expected, 6, '10..15');
  t.equal(j.lost, 1, '14 never came');
  t.equal(j.duplicated, 1);
  t.equal(j.late, 1, '12 arrived after 13');
  t.equal(j.highestSequence, 15);
});

t.test('sequence wrap does not count as loss', async (t) => {
  const s = new RtpSourceStats(1, 8000);
  [65534, 65535, 0, 1].forEach((q, i) => s.record(q, i * 160, i * 20));
  t.equal(s.expected, 4);
  t.equal(s.lost, 0);
  t.equal(s.toJSON().highestSequence, 65537, 'extended: one cycle plus 1');
});

t.test('a lone stray sequence jump is ignored; two in a row restart the count (A.1)', async (t) => {
  const lone = new RtpSourceStats(1, 8000);
  [100, 101, 40000, 102].forEach((q, i) => lone.record(q, i * 160, i * 20));
  t.equal(lone.expected, 3);
  t.equal(lone.lost, 0);
  t.equal(lone.restarts, 0);
  t.equal(lone.stray, 1);

  const restart = new RtpSourceStats(1, 8000);
  [100, 101, 40000, 40001, 40003].forEach((q, i) => restart.record(q, i * 160, i * 20));
  t.equal(restart.restarts, 1);
  t.equal(restart.expected, 2 + 3, '100..101, then 40001..40003');
  t.equal(restart.lost, 1, '40002');
});

t.test('fraction lost per report interval (A.3)', async (t) => {
  const s = new RtpSourceStats(1, 8000);
  [10, 11, 13].forEach((q, i) => s.record(q, q * 160, i * 20));
  t.same(s.intervalLoss(), { expected: 4, lost: 1, fractionLost: 0.25 });
  [14, 15].forEach((q, i) => s.record(q, q * 160, 100 + i * 20));
  t.same(s.intervalLoss(), { expected: 2, lost: 0, fractionLost: 0 });
});

t.test('receiver stats across an SSRC change', async (t) => {
  const r = new RtpReceiverStats(8000);
  t.same(r.toJSON().ssrc, null);
  [1, 2, 3].forEach((q, i) => r.record({ ssrc: 0xaaaa, sequenceNumber: q, timestamp: q * 160 }, i * 20));
  [500, 502].forEach((q, i) => r.record({ ssrc: 0xbbbb, sequenceNumber: q, timestamp: 9000 + q * 160 }, 100 + i * 40));
  const j = r.toJSON();
  t.equal(j.ssrc, 0xbbbb);
  t.equal(j.ssrcChanges, 1);
  t.equal(j.received, 5);
  t.equal(j.expected, 3 + 3);
  t.equal(j.lost, 1);
  t.equal(j.sources.length, 2);
  t.equal(j.sources[0]!.ssrc, 0xaaaa);
  t.equal(JSON.parse(JSON.stringify(r)).received, 5, 'toJSON is a plain object');
  t.throws(() => new RtpReceiverStats(0), TypeError);
});

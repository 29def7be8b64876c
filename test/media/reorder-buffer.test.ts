import t from 'tap';
import { ReorderBuffer, type ReorderFrame, type ReorderInput } from '../../src/media/reorder-buffer.js';

/** Packet i of a stream with `ptimeMs` packets at 8 kHz; its payload's first byte names it. */
function pkt(i: number, o: { ssrc?: number; seq0?: number; ts0?: number; ptimeMs?: number } = {}): ReorderInput {
  const per = 8 * (o.ptimeMs ?? 20);
  return {
    ssrc: o.ssrc ?? 0x1111,
    sequenceNumber: ((o.seq0 ?? 1000) + i) & 0xffff,
    timestamp: ((o.ts0 ?? 50_000) + per * i) >>> 0,
    payload: Uint8Array.of(i & 0xff),
  };
}
const show = (f: ReorderFrame): string => (f.kind === 'audio' ? String(f.payload[0]) : `-${f.samples}`);
function push(rb: ReorderBuffer, p: ReorderInput, at: number): string[] {
  rb.push(p, at);
  const out: string[] = [];
  for (let f = rb.takeReady(); f !== null; f = rb.takeReady()) out.push(show(f));
  return out;
}
const rb = (o = {}): ReorderBuffer => new ReorderBuffer({ clockRate: 8000, reorderMs: 40, ...o });

t.test('in order: every packet is ready the moment it arrives, whatever its duration', async (t) => {
  for (const ptimeMs of [10, 20, 30, 60]) {
    const b = rb();
    for (let i = 0; i < 50; i++) t.same(push(b, pkt(i, { ptimeMs }), i * ptimeMs), [String(i)], `${ptimeMs} ms packet ${i}`);
    t.same(b.takeOverdue(10_000), [], 'nothing overdue');
    t.equal(b.toJSON().lost, 0);
  }
});

t.test('a reordered pair waits only for the missing packet, then both go in order', async (t) => {
  const b = rb();
  t.same(push(b, pkt(0), 0), ['0']);
  t.same(push(b, pkt(2), 40), []);
  t.same(b.takeOverdue(60), [], 'inside the reorder window');
  t.same(push(b, pkt(1), 61), ['1', '2']);
  t.equal(b.toJSON().lost, 0);
});

t.test('a lost packet is given up after the window, replaced by silence as long as the gap', async (t) => {
  const b = rb();
  push(b, pkt(0, { ptimeMs: 30 }), 0);
  push(b, pkt(1, { ptimeMs: 30 }), 30);
  t.same(push(b, pkt(3, { ptimeMs: 30 }), 90), []);
  t.same(b.takeOverdue(129).map(show), []);
  t.same(b.takeOverdue(130).map(show), ['-240'], '30 ms of silence (240 samples) for one lost 30 ms packet');
  const ready: string[] = [];
  for (let f = b.takeReady(); f !== null; f = b.takeReady()) ready.push(show(f));
  t.same(ready, ['3']);
  t.same(push(b, pkt(2, { ptimeMs: 30 }), 140), [], 'the lost packet arriving now is late');
  t.same(b.toJSON(), { received: 4, played: 3, lost: 1, late: 1, duplicates: 0, restarts: 0, held: 0, concealedMs: 30 });
});

t.test('a long gap is concealed with at most maxConcealMs of silence', async (t) => {
  const b = rb({ maxConcealMs: 100 });
  push(b, pkt(0), 0);
  push(b, pkt(30), 600);
  t.same(b.takeOverdue(640).map(show), ['-800']);
  t.equal(b.toJSON().lost, 29);
});

t.test('duplicates, sequence wrap, SSRC change and a sequence restart', async (t) => {
  const b = rb();
  t.same(push(b, pkt(0, { seq0: 65534 }), 0), ['0']);
  t.same(push(b, pkt(0, { seq0: 65534 }), 1), [], 'duplicate of a played packet is late');
  t.same(push(b, pkt(1, { seq0: 65534 }), 20), ['1']);
  t.same(push(b, pkt(2, { seq0: 65534 }), 40), ['2'], 'across the 16-bit wrap');
  t.same(push(b, pkt(0, { ssrc: 2, seq0: 7 }), 60), ['0'], 'a new SSRC starts over at once');
  t.same(push(b, pkt(1, { ssrc: 2, seq0: 7 }), 80), ['1']);
  t.same(push(b, pkt(0, { ssrc: 2, seq0: 30_000 }), 100), ['0'], 'a big sequence jump restarts the stream');
  t.equal(b.toJSON().restarts, 2);
  b.push(pkt(2, { ssrc: 2, seq0: 30_000 }), 120);
  b.push(pkt(2, { ssrc: 2, seq0: 30_000 }), 121);
  t.equal(b.toJSON().duplicates, 1, 'a duplicate of a held packet');
});

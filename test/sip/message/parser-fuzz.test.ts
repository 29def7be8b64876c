/**
 * Bounded mutation fuzzing of the parser, the stream framer and the header value parsers over the
 * RFC 4475 messages that parse (plus two ordinary dialog messages). The long run is
 * `node dist/test/fuzz/sip-parser-fuzz.js --iterations 1000000 --seed N`.
 */

import t from 'tap';
import { parseMessage } from '../../../src/sip/embedded/message/index.js';
import { runFuzz, mutateOnce, prng, FuzzFailure } from '../../fuzz/sip-mutator.js';
import { fixtureNames, loadFixture } from './fixtures.js';

function corpus(): Buffer[] {
  const out: Buffer[] = [];
  for (const name of fixtureNames()) {
    const b = loadFixture(name);
    try {
      parseMessage(b);
      out.push(b);
    } catch {
      // only valid messages seed the mutations; the invalid ones are covered by rfc4475.test
    }
  }
  return out;
}

t.test('mutations are deterministic for a seed', async (t) => {
  const c = corpus();
  const a = prng(7);
  const b = prng(7);
  for (let i = 0; i < 200; i++) {
    const src = c[i % c.length]!;
    t.same(mutateOnce(src, a, c)[0], mutateOnce(src, b, c)[0]);
  }
});

t.test('20 000 mutated messages: only SipParseError, round trips hold, heap stays bounded', async (t) => {
  const c = corpus();
  t.equal(c.length, 28, 'corpus of the RFC 4475 messages that parse');
  const before = process.memoryUsage().heapUsed;
  const started = Date.now();
  const stats = runFuzz({ iterations: 20_000, seed: 4475, corpus: c });
  const ms = Date.now() - started;
  const growth = process.memoryUsage().heapUsed - before;
  t.equal(stats.iterations, 20_000);
  t.ok(stats.parsed > 1000, `a good share still parses (${stats.parsed})`);
  t.ok((stats.rejected['400'] ?? 0) > 1000, `many are rejected with 400 (${stats.rejected['400']})`);
  t.ok((stats.rejected['513'] ?? 0) > 0, 'huge values hit the size limit (513)');
  t.ok(stats.framed > 1000, `the framer cut messages out of the mutated streams (${stats.framed})`);
  t.ok(growth < 64 * 1024 * 1024, `heap growth ${Math.round(growth / 1024 / 1024)} MiB stays under 64 MiB`);
  t.comment(`fuzz: ${JSON.stringify(stats)} in ${ms} ms`);
});

t.test('a failure report carries what is needed to replay it', async (t) => {
  const f = new FuzzFailure('boom', 1, 2, Buffer.from('x'), ['flip×1']);
  t.match(f.message, /seed 1, iteration 2, ops flip×1\); input base64: eA==/);
});

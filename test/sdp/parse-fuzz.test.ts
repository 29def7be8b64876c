import t from 'tap';
import { SdpError, negotiate, parseSdp, serializeSdp, LocalSdpSession } from '../../src/sdp/index.js';
import * as offers from './offers.js';

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const ITERATIONS = 3000;

t.test('mutated offers: only SdpError escapes, and whatever parses serialises and negotiates', async (t) => {
  const rnd = prng(0x5d9);
  const seeds = Object.values(offers);
  const alphabet = ' =:/\r\n0123456789abcxyzAVPRTmcoa.-\0';
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    let text = seeds[Math.floor(rnd() * seeds.length)]!;
    const edits = 1 + Math.floor(rnd() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rnd() * text.length);
      const kind = rnd();
      if (kind < 0.25) text = text.slice(0, at); // truncation
      else if (kind < 0.6) text = text.slice(0, at) + alphabet[Math.floor(rnd() * alphabet.length)] + text.slice(at + 1); // byte flip
      else if (kind < 0.8) {
        // duplicate a line
        const lines = text.split('\r\n');
        const k = Math.floor(rnd() * lines.length);
        lines.splice(k, 0, lines[k] ?? '');
        text = lines.join('\r\n');
      } else text = text.slice(0, at) + 'x'.repeat(Math.floor(rnd() * 5000)) + text.slice(at); // huge value
    }
    let sd;
    try {
      sd = parseSdp(text);
    } catch (err) {
      if (!(err instanceof SdpError)) {
        t.fail(`iteration ${i}: ${String(err)} escaped for ${JSON.stringify(text.slice(0, 200))}`);
        return;
      }
      rejected++;
      continue;
    }
    parsed++;
    const written = serializeSdp(sd);
    t.same(parseSdp(written), sd, `iteration ${i}: round trip`);
    const r = negotiate(sd, { local: { address: '192.0.2.10', port: 40000 }, session: new LocalSdpSession({ sessionId: '1' }) });
    if (r.ok) parseSdp(r.answer);
  }
  t.ok(parsed > 100, `a good share still parsed (${parsed})`);
  t.ok(rejected > 100, `a good share was rejected (${rejected})`);
});

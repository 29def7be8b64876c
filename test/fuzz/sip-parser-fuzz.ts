/**
 * Long mutation fuzz run of the SIP message layer (not a tap test):
 *
 *   node dist/test/fuzz/sip-parser-fuzz.js --iterations 1000000 --seed 42
 *
 * Exits 0 with a summary, or 1 with a replayable report (seed, iteration, base64 input).
 * Progress and heap use are printed every 10 000 iterations so a leak shows as a rising line.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseMessage } from '../../src/sip/embedded/message/index.js';
import { runFuzz, FuzzFailure } from './sip-mutator.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
  },
});
const iterations = Number(values.iterations);
const seed = Number(values.seed);
if (!Number.isInteger(iterations) || iterations <= 0 || !Number.isInteger(seed)) {
  console.error('usage: sip-parser-fuzz.js --iterations N --seed N');
  process.exit(2);
}

const dir = fileURLToPath(new URL('../../../test/fixtures/rfc4475/', import.meta.url));
const corpus: Buffer[] = [];
for (const f of readdirSync(dir).filter((n) => n.endsWith('.dat')).sort()) {
  const b = readFileSync(dir + f);
  try {
    parseMessage(b);
    corpus.push(b);
  } catch {
    // invalid fixtures do not seed mutations
  }
}

console.log(`fuzzing ${iterations} iterations, seed ${seed}, corpus ${corpus.length} messages`);
const started = Date.now();
try {
  const stats = runFuzz({
    iterations,
    seed,
    corpus,
    onProgress: (done) => {
      const heap = Math.round(process.memoryUsage().heapUsed / 1024 / 1024);
      console.log(`${done} done, ${Math.round((done / (Date.now() - started)) * 1000)}/s, heap ${heap} MiB`);
    },
  });
  console.log(`ok: ${JSON.stringify(stats)} in ${Date.now() - started} ms`);
} catch (err) {
  if (err instanceof FuzzFailure) {
    console.error(`FAIL: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

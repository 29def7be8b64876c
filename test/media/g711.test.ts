import t from 'tap';
import { nativeMedia } from '../../src/media/native.js';
import * as ref from '../../src/media/codecs/reference/g711.js';
import { createCodec, UnsupportedCodecError } from '../../src/media/codecs/create-codec.js';

const native = nativeMedia();
const ALL_LINEAR = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);

/**
 * G.711 reconstruction levels written from the standard's tables rather than from any codec
 * code: μ-law (Table 2a) on the 14-bit scale, segment e, step s: (2s + 33)·2^e − 33, scaled
 * ×4 to 16 bits; A-law (Table 1a) on the 13-bit scale: segment 0: 2s + 1, segment e ≥ 1:
 * (2s + 33)·2^(e−1), scaled ×8 to 16 bits. The code is transmitted inverted (μ-law) or with
 * the even bits inverted (A-law); bit 7 set means positive.
 */
function ituUlaw(code: number): number {
  const c = ~code & 0xff;
  const e = (c >> 4) & 7;
  const s = c & 15;
  const mag = ((2 * s + 33) * 2 ** e - 33) * 4;
  return c & 0x80 ? -mag : mag;
}
function ituAlaw(code: number): number {
  const c = code ^ 0x55;
  const e = (c >> 4) & 7;
  const s = c & 15;
  const mag = (e === 0 ? 2 * s + 1 : (2 * s + 33) * 2 ** (e - 1)) * 8;
  return c & 0x80 ? mag : -mag;
}

t.test('decode: all 256 codes match the ITU tables (native and reference)', async (t) => {
  const nu = native.ulawDecode(ALL_CODES);
  const na = native.alawDecode(ALL_CODES);
  let bad = 0;
  for (let c = 0; c < 256; c++) {
    if (nu[c] !== ituUlaw(c) || ref.ulawToLinear(c) !== ituUlaw(c)) bad++;
    if (na[c] !== ituAlaw(c) || ref.alawToLinear(c) !== ituAlaw(c)) bad++;
  }
  t.equal(bad, 0);
  // A few values as printed in the usual tables.
  t.same([nu[0x00], nu[0x80], nu[0xff], nu[0x7f], nu[0xf0]], [-32124, 32124, 0, 0, 120]);
  t.same([na[0xd5], na[0x55], na[0xaa], na[0x2a]], [8, -8, 32256, -32256]);
});

t.test('encode: all 65536 inputs, native equals the TypeScript reference', async (t) => {
  const nu = native.ulawEncode(ALL_LINEAR);
  const na = native.alawEncode(ALL_LINEAR);
  const ru = ref.ulawEncode(ALL_LINEAR);
  const ra = ref.alawEncode(ALL_LINEAR);
  let du = 0;
  let da = 0;
  for (let i = 0; i < 65536; i++) {
    if (nu[i] !== ru[i]) du++;
    if (na[i] !== ra[i]) da++;
  }
  t.equal(du, 0, 'μ-law');
  t.equal(da, 0, 'A-law');
  t.same([...ref.ulawDecode(ref.ulawEncode(Int16Array.of(1000)))], [...native.ulawDecode(native.ulawEncode(Int16Array.of(1000)))]);
});

t.test('encode picks the nearest level and is monotonic, for every input', async (t) => {
  for (const [name, enc, dec, lsb] of [
    ['μ-law', native.ulawEncode, native.ulawDecode, 4],
    ['A-law', native.alawEncode, native.alawDecode, 8],
  ] as const) {
    const y = dec(enc(ALL_LINEAR));
    let worst = 0;
    let nonMonotonic = 0;
    let farFromLevel = 0;
    for (let i = 0; i < 65536; i++) {
      const x = ALL_LINEAR[i]!;
      const v = y[i]!;
      if (i > 0 && v < y[i - 1]!) nonMonotonic++;
      // Step size of the segment v is in is the distance to its neighbour level; the error
      // may not exceed half of it, plus the input's own truncation to the law's resolution.
      const step = Math.abs(x) < 64 ? 2 * lsb : Math.max(2 * lsb, 2 ** Math.floor(Math.log2(Math.abs(v) || 1)) / 8);
      const err = Math.abs(v - x);
      worst = Math.max(worst, err / step);
      if (err > step / 2 + lsb && Math.abs(x) < 32000) farFromLevel++;
    }
    t.equal(nonMonotonic, 0, `${name}: decoded level never decreases as the input grows`);
    t.equal(farFromLevel, 0, `${name}: every input lands within half a step of its level`);
  }
});

t.test('round trips: code → level → same code; saturation at full scale', async (t) => {
  const u = native.ulawEncode(native.ulawDecode(ALL_CODES));
  const a = native.alawEncode(native.alawDecode(ALL_CODES));
  const uMismatch = [...ALL_CODES].filter((c) => u[c] !== c);
  t.same(uMismatch, [0x7f], 'μ-law: only the negative zero maps to positive zero');
  t.equal([...ALL_CODES].filter((c) => a[c] !== c).length, 0, 'A-law: every code');
  t.same([...native.ulawEncode(Int16Array.of(32767, -32768))], [0x80, 0x00]);
  t.same([...native.alawEncode(Int16Array.of(32767, -32768))], [0xaa, 0x2a]);
});

t.test('Into variants write into caller buffers; wrong types are TypeErrors', async (t) => {
  const pcm = Int16Array.of(0, 100, -100, 30000);
  const out = new Uint8Array(8);
  t.equal(native.ulawEncodeInto(pcm, out), 4);
  t.same([...out.subarray(0, 4)], [...native.ulawEncode(pcm)]);
  const back = new Int16Array(4);
  t.equal(native.alawDecodeInto(native.alawEncode(pcm), back), 4);
  t.same([...back], [...native.alawDecode(native.alawEncode(pcm))]);
  t.throws(() => native.ulawEncodeInto(pcm, new Uint8Array(2)), RangeError);
  t.throws(() => native.ulawEncode(new Uint8Array(4) as unknown as Int16Array), TypeError);
  t.throws(() => native.alawDecode(new Int16Array(4) as unknown as Uint8Array), TypeError);
  t.throws(() => (native.ulawEncode as unknown as () => void)(), TypeError);
});

t.test('PCMU and PCMA codecs', async (t) => {
  const pcmu = createCodec('PCMU');
  const pcma = createCodec('pcma');
  t.equal(pcmu.staticPayloadType, 0);
  t.equal(pcma.staticPayloadType, 8);
  t.equal(pcmu.samplesPerFrame, 160);
  t.equal(pcmu.timestampPerFrame, 160);
  const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i / 5)));
  t.same([...pcmu.encode(frame)], [...ref.ulawEncode(frame)]);
  t.same([...pcma.decode(pcma.encode(frame))], [...ref.alawDecode(ref.alawEncode(frame))]);
  t.throws(() => createCodec('G729'), UnsupportedCodecError);
});

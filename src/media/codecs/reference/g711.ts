/**
 * G.711 in plain TypeScript, written from the segment/quantisation rules of ITU-T G.711
 * (μ-law: 8 segments of 16 steps on a biased 14-bit magnitude; A-law: 8 segments on a 13-bit
 * magnitude, even bits inverted). This is the reference the native codecs are tested and
 * benchmarked against; production code uses the native addon.
 *
 * 16-bit linear input is scaled as the common C implementations do (spandsp, the Sun
 * reference): μ-law works on |x| + 0x84 with the 16-bit value, A-law on the 16-bit value with
 * negative numbers taken as -x - 1.
 */

const ULAW_BIAS = 0x84;
const ALAW_AMI = 0x55;

/** Index of the highest set bit (x > 0). */
function topBit(x: number): number {
  return 31 - Math.clz32(x);
}

export function linearToUlaw(sample: number): number {
  let linear = sample;
  let mask: number;
  if (linear >= 0) {
    linear = ULAW_BIAS + linear;
    mask = 0xff;
  } else {
    linear = ULAW_BIAS - linear;
    mask = 0x7f;
  }
  const seg = topBit(linear | 0xff) - 7;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((linear >> (seg + 3)) & 0x0f)) ^ mask;
}

export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

export function linearToAlaw(sample: number): number {
  let linear = sample;
  let mask: number;
  if (linear >= 0) {
    mask = ALAW_AMI | 0x80;
  } else {
    mask = ALAW_AMI;
    linear = -linear - 1;
  }
  const seg = topBit(linear | 0xff) - 7;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((linear >> (seg === 0 ? 4 : seg + 3)) & 0x0f)) ^ mask;
}

export function alawToLinear(code: number): number {
  const a = (code ^ ALAW_AMI) & 0xff;
  const seg = (a & 0x70) >> 4;
  let i = (a & 0x0f) << 4;
  i = seg === 0 ? i + 8 : (i + 0x108) << (seg - 1);
  return a & 0x80 ? i : -i;
}

export function ulawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = linearToUlaw(pcm[i] ?? 0);
  return out;
}

export function ulawDecode(payload: Uint8Array): Int16Array {
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = ulawToLinear(payload[i] ?? 0);
  return out;
}

export function alawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = linearToAlaw(pcm[i] ?? 0);
  return out;
}

export function alawDecode(payload: Uint8Array): Int16Array {
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = alawToLinear(payload[i] ?? 0);
  return out;
}

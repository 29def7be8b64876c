import t from 'tap';
import { nativeMedia } from '../../src/media/native.js';
import { createCodec } from '../../src/media/codecs/create-codec.js';
import { alignedSnr, concat, sine } from './dsp-helpers.js';

t.test('G.722 round trip of a 1 kHz sine keeps a high SNR', async (t) => {
  const codec = createCodec('G722');
  t.equal(codec.sampleRate, 16000);
  t.equal(codec.clockRate, 8000, 'RFC 3551: the RTP clock of G.722 is 8000 Hz');
  t.equal(codec.samplesPerFrame, 320);
  t.equal(codec.timestampPerFrame, 160);
  const input = sine(1000, 16000, 16000, 10000);
  const out: Int16Array[] = [];
  for (let o = 0; o < input.length; o += 320) {
    const payload = codec.encode(input.subarray(o, o + 320));
    t.equal(payload.length, 160, '64 kbit/s: 160 bytes per 20 ms') || t.fail('size');
    out.push(codec.decode(payload));
  }
  const decoded = concat(out);
  t.equal(decoded.length, input.length);
  const { snrDb, lag } = alignedSnr(input, decoded, 1600, 8000, 64);
  t.ok(snrDb > 30, `SNR ${snrDb.toFixed(1)} dB at a delay of ${lag} samples (threshold 30 dB)`);
  codec.destroy();
  codec.destroy();
  t.throws(() => codec.encode(new Int16Array(320)), /after destroy/);
});

t.test('G.722 state is per instance and carries across frames', async (t) => {
  const native = nativeMedia();
  const input = sine(440, 16000, 3200, 8000);
  const whole = new native.G722Encoder().encode(input);
  const enc = new native.G722Encoder();
  const parts: number[] = [];
  for (let o = 0; o < input.length; o += 320) parts.push(...enc.encode(input.subarray(o, o + 320)));
  t.same(parts, [...whole], 'frame by frame equals one block: the ADPCM state carried over');
  const fresh = new native.G722Encoder().encode(input.subarray(320, 640));
  t.notSame([...fresh], [...whole.subarray(160, 320)], 'a fresh encoder differs: state matters');
  t.throws(() => enc.encode(new Int16Array(3)), RangeError);
  t.throws(() => enc.encode(new Uint8Array(4) as unknown as Int16Array), TypeError);
  enc.destroy();
  const dec = new native.G722Decoder();
  t.equal(dec.decode(new Uint8Array(160)).length, 320);
  dec.destroy();
  t.throws(() => dec.decode(new Uint8Array(160)), /after destroy/);
});

import t from 'tap';
import { createCodec, SUPPORTED_CODECS } from '../../src/media/codecs/create-codec.js';
import { concealmentToc, OpusCodec, OpusPayloadError } from '../../src/media/codecs/opus.js';
import { alignedSnr, concat, db, rms, sine, toneAmplitude } from './dsp-helpers.js';

/** Encodes `input` frame by frame and decodes each packet, as a call's two legs would. */
function roundTrip(codec: OpusCodec, input: Int16Array): { decoded: Int16Array; packetBytes: number[] } {
  const out: Int16Array[] = [];
  const packetBytes: number[] = [];
  for (let o = 0; o < input.length; o += codec.samplesPerFrame) {
    const packet = codec.encode(input.subarray(o, o + codec.samplesPerFrame));
    packetBytes.push(packet.length);
    out.push(codec.decode(packet));
  }
  return { decoded: concat(out), packetBytes };
}

t.test('opus round trip of a 440 Hz sine at 24 kHz keeps the tone', async (t) => {
  const codec = createCodec('opus') as OpusCodec;
  t.ok(codec instanceof OpusCodec);
  t.equal(codec.name, 'opus');
  t.equal(codec.staticPayloadType, null, 'opus has a dynamic payload type');
  t.equal(codec.clockRate, 48000, 'RFC 7587: the RTP clock of opus is 48000 Hz');
  t.equal(codec.sampleRate, 24000, 'PCM at the model rate by default, no resampler');
  t.equal(codec.samplesPerFrame, 480);
  t.equal(codec.timestampPerFrame, 960);

  const input = sine(440, 24000, 24000, 10000); // one second, 50 frames
  const { decoded, packetBytes } = roundTrip(codec, input);
  t.equal(decoded.length, input.length, '480 samples out for each 20 ms packet');
  t.ok(packetBytes.every((n) => n > 1 && n < 200), `packets are compressed (${Math.min(...packetBytes)}-${Math.max(...packetBytes)} bytes)`);
  // Encoder look-ahead and decoder filters delay the output (about 11 ms here); compare the
  // second half of the second, after the encoder has settled, at the best lag up to 20 ms.
  // Opus is perceptual, not waveform-exact like G.722, so the bar is lower: 25 dB.
  const { snrDb, lag } = alignedSnr(input, decoded, 9600, 12000, 480);
  t.ok(snrDb > 25, `SNR ${snrDb.toFixed(1)} dB at a delay of ${lag} samples (threshold 25 dB)`);
  t.ok(lag > 0, 'the codec delay was found and aligned for');
  const tail = decoded.subarray(9600);
  const tone = toneAmplitude(tail, 440, 24000);
  t.ok(Math.abs(db(tone / 10000)) < 1, `440 Hz comes back at ${tone.toFixed(0)} of 10000 (within 1 dB)`);
  const off = toneAmplitude(tail, 1000, 24000);
  t.ok(off < tone / 100, `no energy where there was none: 1 kHz at ${off.toFixed(1)} (40 dB down)`);
  codec.destroy();
});

t.test('decoding straight to 8, 16 and 48 kHz gives 20 ms of that rate per packet', async (t) => {
  for (const sampleRate of [8000, 16000, 48000]) {
    const codec = createCodec('opus', { sampleRate });
    t.equal(codec.sampleRate, sampleRate);
    t.equal(codec.samplesPerFrame, sampleRate / 50);
    t.equal(codec.timestampPerFrame, 960, 'the RTP clock stays 48 kHz whatever the PCM rate');
    const input = sine(440, sampleRate, sampleRate / 2, 8000);
    const { decoded } = roundTrip(codec as OpusCodec, input);
    t.equal(decoded.length, input.length);
    const tone = toneAmplitude(decoded.subarray(sampleRate / 4), 440, sampleRate);
    t.ok(Math.abs(db(tone / 8000)) < 1, `${sampleRate} Hz: 440 Hz at ${tone.toFixed(0)} of 8000`);
    codec.destroy();
  }
});

t.test('packets from a 48 kHz encoder decode at 24 kHz: the two sides need not agree on a rate', async (t) => {
  const sender = new OpusCodec({ sampleRate: 48000 });
  const receiver = new OpusCodec({ sampleRate: 24000 });
  const input = sine(440, 48000, 48000, 10000);
  const out: Int16Array[] = [];
  for (let o = 0; o < input.length; o += 960) {
    const pcm = receiver.decode(sender.encode(input.subarray(o, o + 960)));
    t.equal(pcm.length, 480) || t.fail('frame size');
    out.push(pcm);
  }
  const tone = toneAmplitude(concat(out).subarray(12000), 440, 24000);
  t.ok(Math.abs(db(tone / 10000)) < 1, `440 Hz at ${tone.toFixed(0)} of 10000`);
  sender.destroy();
  receiver.destroy();
});

t.test('two instances are independent', async (t) => {
  const input = sine(440, 24000, 4800, 10000);
  const reference = new OpusCodec();
  const expected = input.length / 480;
  const referencePackets: Uint8Array[] = [];
  for (let i = 0; i < expected; i++) referencePackets.push(reference.encode(input.subarray(i * 480, (i + 1) * 480)));

  // Interleave a second encoder fed something else: the first one's packets must not change.
  const a = new OpusCodec();
  const b = new OpusCodec();
  const noise = Int16Array.from({ length: 480 }, (_, i) => ((i * 7919) % 2001) - 1000);
  for (let i = 0; i < expected; i++) {
    const packet = a.encode(input.subarray(i * 480, (i + 1) * 480));
    b.encode(noise);
    t.same([...packet], [...referencePackets[i]!], `frame ${i} unchanged by the other instance`) || t.fail('stop');
  }
  // And a decoder that has seen the stream differs from a fresh one: state is per instance.
  const warm = new OpusCodec();
  for (const p of referencePackets.slice(0, -1)) warm.decode(p);
  const last = referencePackets.at(-1)!;
  t.notSame([...warm.decode(last)], [...b.decode(last)], 'decoder state is kept per instance');
  for (const c of [reference, a, b, warm]) c.destroy();
});

t.test('packet loss is concealed one 20 ms frame at a time', async (t) => {
  const codec = new OpusCodec();
  t.same([...codec.conceal()], new Array(480).fill(0), 'before any packet: 20 ms of silence');
  const input = sine(440, 24000, 24000, 10000);
  for (let o = 0; o < 12000; o += 480) codec.decode(codec.encode(input.subarray(o, o + 480)));
  const concealed = codec.conceal();
  t.equal(concealed.length, 480, 'libopus PLC for 20 ms, not the 120 ms node-opus would give');
  t.ok(rms(concealed) > 1000, `the concealment continues the tone (RMS ${rms(concealed).toFixed(0)}) rather than a gap`);
  const viaEmpty = codec.decode(new Uint8Array(0));
  t.equal(viaEmpty.length, 480, 'an empty payload is a lost packet too');
  // The stream goes on normally after the loss.
  const after: Int16Array[] = [];
  for (let o = 12960; o < 24000; o += 480) after.push(codec.decode(codec.encode(input.subarray(o, o + 480))));
  const tone = toneAmplitude(concat(after).subarray(4800), 440, 24000);
  t.ok(Math.abs(db(tone / 10000)) < 1, `after the loss 440 Hz is back at ${tone.toFixed(0)} of 10000`);
  codec.destroy();
});

t.test('concealment TOC keeps mode, bandwidth and channels and asks for 20 ms (RFC 6716 §3.1)', async (t) => {
  // [last packet's TOC, expected concealment TOC]
  const cases: Array<[number, number, string]> = [
    [(0 << 3) | 0b011, (1 << 3) | 0, 'SILK NB 10 ms, code 3 → SILK NB 20 ms, code 0'],
    [(11 << 3) | 0b100, (9 << 3) | 0b100, 'SILK WB 60 ms stereo → SILK WB 20 ms stereo'],
    [(14 << 3) | 0b001, (15 << 3) | 0, 'hybrid FB 10 ms → hybrid FB 20 ms'],
    [(28 << 3) | 0, (31 << 3) | 0, 'CELT FB 2.5 ms → CELT FB 20 ms'],
    [(19 << 3) | 0, (19 << 3) | 0, 'CELT NB 20 ms stays'],
  ];
  for (const [last, want, what] of cases) t.equal(concealmentToc(last), want, what);
});

t.test('bad input is refused with a clear error, never handed to libopus', async (t) => {
  const codec = new OpusCodec();
  t.throws(() => codec.encode(new Int16Array(100)), RangeError, 'a frame length libopus would reject (it would abort the process)');
  t.throws(() => codec.encode(new Uint8Array(960) as unknown as Int16Array), TypeError);
  t.throws(() => codec.decode(new Int16Array(4) as unknown as Uint8Array), TypeError);
  // TOC code 3 (arbitrary frame count) with a frame count of zero is malformed (RFC 6716 §3.2.5).
  t.throws(() => codec.decode(Uint8Array.of(0x03, 0x00)), OpusPayloadError);
  t.equal(codec.decode(codec.encode(new Int16Array(240))).length, 240, '10 ms frames are accepted too');
  t.throws(() => new OpusCodec({ sampleRate: 44100 }), RangeError);
  t.throws(() => createCodec('opus', { sampleRate: 22050 }), RangeError);
  t.throws(() => new OpusCodec({ bitrate: 10 }), RangeError);
  t.throws(() => new OpusCodec({ complexity: 11 }), RangeError);
  const tone = sine(440, 24000, 480, 10000);
  const simple = new OpusCodec({ complexity: 0 });
  const full = new OpusCodec({ complexity: 10 });
  t.notSame([...simple.encode(tone)], [...full.encode(tone)], 'the complexity option reaches the encoder');
  simple.destroy();
  full.destroy();
  const low = new OpusCodec({ bitrate: 8000 });
  const lowBytes = low.encode(sine(440, 24000, 480, 10000)).length;
  t.ok(lowBytes <= 8000 / 8 / 50 + 3, `8 kbit/s gives about 20 bytes per 20 ms (got ${lowBytes})`);
  low.destroy();
  codec.destroy();
});

t.test('destroy is idempotent and the codec refuses use afterwards', async (t) => {
  const codec = createCodec('opus');
  const packet = codec.encode(new Int16Array(480));
  codec.destroy();
  codec.destroy();
  t.throws(() => codec.encode(new Int16Array(480)), /after destroy/);
  t.throws(() => codec.decode(packet), /after destroy/);
  t.throws(() => (codec as OpusCodec).conceal(), /after destroy/);
});

t.test('createCodec knows opus, whatever the case', async (t) => {
  t.ok(SUPPORTED_CODECS.includes('opus'));
  for (const name of ['opus', 'OPUS', 'Opus']) {
    const codec = createCodec(name);
    t.equal(codec.name, 'opus');
    codec.destroy();
  }
  const pcmu = createCodec('PCMU', { sampleRate: 24000 });
  t.equal(pcmu.sampleRate, 8000, 'the option only concerns opus');
});

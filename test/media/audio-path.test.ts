import t from 'tap';
import { DownlinkAudio, UplinkAudio, isPassThrough } from '../../src/media/audio-path.js';
import { createCodec } from '../../src/media/codecs/create-codec.js';

function sine(rate: number, ms: number, hz = 440, amp = 8000): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  return Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate)));
}
const bytes = (pcm: Int16Array): Uint8Array => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
const rms = (pcm: Int16Array): number => Math.sqrt(pcm.reduce((a, s) => a + s * s, 0) / Math.max(1, pcm.length));

t.test('up, PCM16: a PCMU frame becomes 20 ms of 24 kHz PCM16 (960 bytes) at the same level', async (t) => {
  const up = new UplinkAudio({ codec: 'PCMU', modelFormat: 'pcm16' });
  const codec = createCodec('PCMU');
  const tone = sine(8000, 200);
  const out: Int16Array[] = [];
  for (let i = 0; i < 10; i++) {
    const b = up.convert(codec.encode(tone.subarray(i * 160, (i + 1) * 160)));
    t.equal(b.length, 960);
    out.push(new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  }
  const tail = Int16Array.from(out.slice(5).flatMap((x) => [...x]));
  t.ok(Math.abs(rms(tail) - 8000 / Math.SQRT2) < 600, `level kept (rms ${rms(tail).toFixed(0)})`);
  // The resampler's filter still holds the tone's tail for the first silent frame or so.
  for (let i = 0; i < 3; i++) up.convert(null);
  const silent = up.convert(null);
  t.equal(silent.length, 960);
  t.ok(new Int16Array(silent.buffer.slice(silent.byteOffset, silent.byteOffset + silent.byteLength)).every((s) => Math.abs(s) < 50), 'silence frames are zeros once the filter has emptied');
  up.destroy();
});

t.test('up, pass-through: G.711 bytes go to the model untouched; silence is the codec silence byte', async (t) => {
  const up = new UplinkAudio({ codec: 'PCMA', modelFormat: 'pcma' });
  const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
  t.equal(up.convert(payload), payload, 'the same bytes, no copy');
  t.ok(up.convert(null).every((b) => b === 0xd5));
  t.throws(() => new UplinkAudio({ codec: 'G722', modelFormat: 'pcmu' }), /cannot pass through/);
  t.equal(isPassThrough('pcmu', 'pcmu'), true);
  t.equal(isPassThrough('PCMU', 'pcma'), false);
});

t.test('down, PCM16: deltas of any length become whole 20 ms frames; the end is padded and says how much audio it holds', async (t) => {
  const down = new DownlinkAudio({ codec: 'PCMU', modelFormat: 'pcm16' });
  const pcm = bytes(sine(24000, 130)); // 6.5 frames
  // Split at odd byte offsets: a sample straddles two deltas.
  const frames = [...down.push(pcm.subarray(0, 1001)), ...down.push(pcm.subarray(1001, 4001)), ...down.push(pcm.subarray(4001))];
  t.equal(frames.length, 6);
  t.ok(frames.every((f) => f.payload.length === 160 && f.audioMs === 20));
  const last = down.end();
  t.ok(last !== null);
  t.ok(last!.audioMs > 5 && last!.audioMs < 15, `padded last frame carries ${last!.audioMs.toFixed(1)} ms`);
  t.equal(down.end(), null, 'nothing pending after end');
  const decoded = createCodec('PCMU').decode(frames[4]!.payload);
  t.ok(Math.abs(rms(decoded) - 8000 / Math.SQRT2) < 800, 'level kept through resampling and encoding');
  down.destroy();
});

t.test('down, pass-through: μ-law bytes are cut into 160-byte frames; reset forgets the partial frame', async (t) => {
  const down = new DownlinkAudio({ codec: 'PCMU', modelFormat: 'pcmu' });
  const frames = down.push(new Uint8Array(400).fill(7));
  t.equal(frames.length, 2);
  t.ok(frames[0]!.payload.every((b) => b === 7));
  down.reset();
  t.equal(down.end(), null);
  down.push(new Uint8Array(40).fill(1));
  const end = down.end()!;
  t.equal(end.audioMs, 5);
  t.ok(end.payload.subarray(40).every((b) => b === 0xff), 'padded with μ-law silence');
});

t.test('up, Opus: decodes straight to 24 kHz (no resampler); a missing frame is concealed by libopus, not zeroed', async (t) => {
  const up = new UplinkAudio({ codec: 'opus', modelFormat: 'pcm16' });
  const enc = createCodec('opus');
  const tone = sine(24000, 400);
  let last: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < 20; i++) {
    last = up.convert(enc.encode(tone.subarray(i * 480, (i + 1) * 480)));
    t.equal(last.length, 960, '20 ms at 24 kHz');
  }
  const concealed = up.convert(null);
  t.equal(concealed.length, 960);
  const pcm = new Int16Array(concealed.buffer.slice(concealed.byteOffset, concealed.byteOffset + concealed.byteLength));
  t.ok(rms(pcm) > 1000, `the lost frame continues the tone (rms ${rms(pcm).toFixed(0)}), it is not silence`);
  up.destroy();
  enc.destroy();
});

import t, { type Test } from 'tap';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordingWriter, type RecordingOutput, type RecordingSummary } from '../../src/calls/recording-writer.js';
import { objectAd } from '../../src/crypto/keyring.js';
import { CHUNK_LENGTH_BYTES, STREAM_MAGIC, openPushStream } from '../../src/crypto/secretstream.js';
import { PcmuCodec } from '../../src/media/codecs/g711.js';
import { ErasureService } from '../../src/privacy/erasure-service.js';
import { RecordingService } from '../../src/privacy/recording-service.js';
import { recordingStreamReader } from '../../src/app/recordings.js';
import { CallRecordsService } from '../../src/tenancy/call-records-service.js';
import { makeProvisioning } from '../helpers/store.js';

/**
 * Recordings: the writer (stereo, caller left and agent right, encrypted chunk by chunk with
 * secretstream into a real file), decryption back to WAV, tampered and truncated files, a failing
 * or slow disk stopping only the recording, and erasure of the key row and the file.
 */

const RATE = 8000;
const tone = (hz: number, ms: number, amp = 8000): Int16Array => {
  const n = (RATE * ms) / 1000;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / RATE));
  return out;
};

async function setup(t: Test) {
  const p = await makeProvisioning();
  t.teardown(() => {
    p.close();
    rmSync(p.dir, { recursive: true, force: true });
  });
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot', recording: true });
  const calls = new CallRecordsService(p.store, p.keyring, p.clock, 'test');
  const callId = 'call_rec1';
  const at = new Date(p.clock.now()).toISOString();
  calls.insert({ id: callId, accountId: a.id, agentId: agent.id, trunkId: null, numberE164: '+14155550100', sipCallId: 's1', fromUri: 'sip:+15551234567@x', startedAt: at });
  const dir = join(p.dir, 'recordings');
  const unlinked: string[] = [];
  const service = new RecordingService(
    p.store,
    p.keyring,
    recordingStreamReader(p.sodium),
    p.clock,
    'test',
    dir,
    (path) => {
      unlinked.push(path);
      rmSync(path, { force: true });
    },
  );
  /** A writer as the daemon builds it, on a real file; `output` may be replaced to inject faults. */
  const writer = async (output?: (real: RecordingOutput) => RecordingOutput, opts: { maxPendingBytes?: number } = {}) => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, a.id), { recursive: true });
    const fh = await open(join(dir, a.id, `${callId}.krec`), 'wx', 0o600);
    const real: RecordingOutput = { write: async (b) => void (await fh.write(b)), close: () => fh.close() };
    const dk = p.keyring.newDataKey(a.id, p.store.accounts.wrappedKey(a.id)!, callId, 'recording');
    p.store.recordings.insert({ accountId: a.id, callId, wrappedKey: dk.wrapped, file: `${a.id}/${callId}.krec`, createdAt: at });
    const cipher = openPushStream(p.sodium, dk.key, objectAd(a.id, callId, 'recording'));
    p.keyring.wipe(dk.key);
    let ended: RecordingSummary | null = null;
    const codec = new PcmuCodec();
    const w = new RecordingWriter({
      rate: RATE,
      clockRate: 8000,
      payloadType: 0,
      decodeCaller: (x) => codec.decode(x),
      decodeAgent: (x) => codec.decode(x),
      cipher,
      output: output ? output(real) : real,
      chunkMs: 200,
      ...opts,
      onEnd: (s) => {
        ended = s;
        p.store.recordings.finish(a.id, callId, s.status === 'failed' ? 'failed' : 'complete', s.failure, s.bytes);
      },
    });
    return { w, codec, ended: () => ended, file: join(dir, a.id, `${callId}.krec`) };
  };
  return { p, a, callId, dir, service, writer, unlinked };
}

/** Feeds 1 s: the caller talks (440 Hz) for the first half, the agent (1000 Hz) for the second. */
function converse(w: RecordingWriter, codec: PcmuCodec): { caller: Int16Array; agent: Int16Array } {
  const caller = tone(440, 500);
  const agent = tone(1000, 500);
  for (let f = 0; f < 25; f++) w.inbound({ kind: 'audio', payload: codec.encode(caller.subarray(f * 160, (f + 1) * 160)), arrivalMs: 1000 + (f + 1) * 20 });
  for (let f = 0; f < 25; f++) {
    w.inbound({ kind: 'silence', payload: null, samples: 160, arrivalMs: 1500 + (f + 1) * 20 });
    w.outbound(0, codec.encode(agent.subarray(f * 160, (f + 1) * 160)), 1500 + (f + 1) * 20);
    w.outbound(101, new Uint8Array([1, 0, 0, 160]), 1500 + (f + 1) * 20); // a DTMF event: not audio
  }
  return { caller, agent };
}

const energy = (s: Int16Array): number => s.reduce((e, x) => e + x * x, 0) / Math.max(1, s.length);

t.test('stereo WAV, caller left and agent right, encrypted on disk, decrypted and audited', async (t) => {
  const { p, a, callId, service, writer } = await setup(t);
  const { w, codec, ended, file } = await writer();
  const { caller } = converse(w, codec);
  const s = await w.close();
  t.match(s, { status: 'complete', failure: null });
  t.ok(s.seconds >= 0.95 && s.seconds <= 1.2, `${s.seconds} s recorded`);
  t.same(ended(), s, 'onEnd got the summary');
  t.equal(await w.close(), s, 'close is idempotent');

  const onDisk = readFileSync(file);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.ok(onDisk.subarray(0, STREAM_MAGIC.length).equals(Buffer.from(STREAM_MAGIC)), 'the file starts with the stream magic');
  t.notOk(onDisk.includes('RIFF') || onDisk.includes('WAVE'), 'no clear WAV header on disk');
  t.notOk(onDisk.includes(Buffer.from(codec.decode(codec.encode(caller.subarray(1600, 1760))).buffer)), 'no clear PCM on disk');

  const out = join(p.dir, 'out.wav');
  const r = await service.decryptTo('alpha', callId, out);
  t.match(r, { account: 'alpha', callId, status: 'complete' });
  const wav = readFileSync(out);
  t.equal(wav.toString('ascii', 0, 4), 'RIFF');
  t.equal(wav.readUInt32LE(4), wav.length - 8, 'RIFF size filled in');
  t.equal(wav.readUInt16LE(22), 2, 'stereo');
  t.equal(wav.readUInt32LE(24), 8000);
  t.equal(wav.readUInt32LE(40), wav.length - 44, 'data size filled in');
  const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
  const left = pcm.filter((_, i) => i % 2 === 0);
  const right = pcm.filter((_, i) => i % 2 === 1);
  const half = Math.floor(left.length / 2);
  t.ok(energy(left.subarray(0, half)) > 1e6, 'the caller is on the left in the first half');
  t.ok(energy(right.subarray(0, half - 200)) < 1e3, 'and the right is silent then');
  t.ok(energy(right.subarray(half + 200)) > 1e6, 'the agent is on the right in the second half');
  t.ok(energy(left.subarray(half + 200)) < 1e3, 'and the left is silent then');
  t.equal(statSync(out).mode & 0o777, 0o600, 'the clear WAV is created 0600');
  await t.rejects(service.decryptTo('alpha', callId, out), { code: 'KALEM_ERR_INVALID_ARGUMENT', message: /already exists/ }, 'never overwrites');
  t.match(p.store.audit.list({ accountId: a.id, limit: 5 }).find((e) => e.action === 'call.recording.read'), { target: callId, details: { bytes: wav.length } });
});

t.test('a tampered or truncated recording is reported as such and nothing is written', async (t) => {
  const { p, callId, service, writer } = await setup(t);
  const { w, codec, file } = await writer();
  converse(w, codec);
  await w.close();
  const good = readFileSync(file);
  const out = join(p.dir, 'out.wav');

  const flipped = Buffer.from(good);
  flipped[flipped.length - 30]! ^= 0x01;
  writeFileSync(file, flipped);
  await t.rejects(service.decryptTo('alpha', callId, out), { code: 'KALEM_ERR_RECORDING_TAMPERED' });
  t.notOk(existsSync(out), 'no partial output left');

  writeFileSync(file, good.subarray(0, good.length - 40));
  await t.rejects(service.decryptTo('alpha', callId, out), { code: 'KALEM_ERR_RECORDING_TRUNCATED', message: /ends before its final chunk/ });
  t.notOk(existsSync(out));

  // Cut exactly at a chunk boundary before the final chunk: every chunk authenticates, the end is missing.
  let off = STREAM_MAGIC.length + 24;
  const bounds: number[] = [];
  while (off < good.length) {
    bounds.push(off);
    off += CHUNK_LENGTH_BYTES + good.readUInt32BE(off);
  }
  writeFileSync(file, good.subarray(0, bounds.at(-1)));
  await t.rejects(service.decryptTo('alpha', callId, out), { code: 'KALEM_ERR_RECORDING_TRUNCATED' }, 'a clean cut before the final chunk is truncation');

  writeFileSync(file, good);
  t.match(await service.decryptTo('alpha', callId, out), { status: 'complete' }, 'the intact file opens');
  t.equal(readdirSync(p.dir).filter((f) => f === 'out.wav').length, 1);
});

t.test('a write error (full disk) or a disk that does not keep up stops the recording, not the caller of the writer', async (t) => {
  const { callId, p, a, writer } = await setup(t);
  let writes = 0;
  const { w, codec } = await writer((real) => ({
    write: async (b) => {
      if (++writes > 3) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      await real.write(b);
    },
    close: () => real.close(),
  }));
  t.doesNotThrow(() => converse(w, codec), 'feeding never throws');
  const s = await w.close();
  t.match(s, { status: 'failed', failure: /^ENOSPC/ });
  t.match(p.store.recordings.get(a.id, callId), { status: 'failed', failure: /^ENOSPC/ }, 'the recording row says so');
  t.doesNotThrow(() => w.inbound({ kind: 'audio', payload: new Uint8Array(160), arrivalMs: 9999 }), 'and later audio is ignored');
});

t.test('a stalled disk: the queue is bounded, the recording gives up', async (t) => {
  const { writer } = await setup(t);
  let release: () => void = () => undefined;
  const stalled = new Promise<void>((r) => (release = r));
  const { w, codec } = await writer((real) => ({ write: async (b) => { await stalled; await real.write(b); }, close: () => real.close() }), { maxPendingBytes: 4096 });
  converse(w, codec);
  t.match(w.summary(), { status: 'failed', failure: /did not keep up/ }, 'failed while the disk stalls, without waiting for it');
  release();
  t.match(await w.close(), { status: 'failed' });
});

t.test('erasure: the key row and the file go; byte level, the wrapped key is in no database file', async (t) => {
  const { p, a, callId, dir, service, writer, unlinked } = await setup(t);
  const { w, codec, file } = await writer();
  converse(w, codec);
  await w.close();
  const wrapped = Buffer.from(p.store.recordings.get(a.id, callId)!.wrappedKey);
  const erasure = new ErasureService(p.store, p.keyring, p.clock, 'test', service);
  t.match(erasure.deleteCall('alpha', callId), { recordings: 1, walTruncated: true });
  t.same(unlinked, [file]);
  t.notOk(existsSync(file), 'the file is unlinked');
  t.equal(p.store.recordings.get(a.id, callId), undefined);
  for (const f of readdirSync(p.dir).filter((x) => x.startsWith('kalem.db'))) t.notOk(readFileSync(join(p.dir, f)).includes(wrapped), `the wrapped recording key is not in ${f}`);
  await t.rejects(service.decryptTo('alpha', callId, join(p.dir, 'x.wav')), { code: 'KALEM_ERR_NO_RECORDING' });
  void dir;
});

import t from 'tap';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordingWriter, type RecordingOutput } from '../../src/calls/recording-writer.js';
import { objectAd } from '../../src/crypto/keyring.js';
import { openPushStream } from '../../src/crypto/secretstream.js';
import { PcmuCodec } from '../../src/media/codecs/g711.js';
import { RecordingService } from '../../src/privacy/recording-service.js';
import { recordingStreamReader } from '../../src/app/recordings.js';
import { CallRecordsService } from '../../src/tenancy/call-records-service.js';
import { makeProvisioning } from '../helpers/store.js';

/**
 * RecordingService.openStream (the admin API's streamed download, added beside the CLI's
 * decryptTo): the same WAV bytes as decryptTo but for the two sizes a stream cannot know, audited
 * on open, and a tampered chunk ends the stream with an error instead of unauthenticated audio.
 */
t.test('openStream: the same audio as decryptTo, audited, tampering stops it', async (t) => {
  const p = await makeProvisioning();
  t.teardown(() => {
    p.close();
    rmSync(p.dir, { recursive: true, force: true });
  });
  const a = p.provisioning.createAccount({ name: 'alpha' });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot', recording: true });
  const at = new Date(p.clock.now()).toISOString();
  const callId = 'call_stream1';
  new CallRecordsService(p.store, p.keyring, p.clock, 'test').insert({
    id: callId, accountId: a.id, agentId: agent.id, trunkId: null, numberE164: '+14155550100', sipCallId: 's1', fromUri: 'sip:+15551234567@x', startedAt: at,
  });
  const dir = join(p.dir, 'recordings');
  const service = new RecordingService(
    p.store,
    p.keyring,
    recordingStreamReader(p.sodium),
    p.clock,
    'api-token:tok_x:test',
    dir,
    (path) => rmSync(path, { force: true }),
  );
  // One second of a recorded call, written as the daemon writes it.
  await mkdir(join(dir, a.id), { recursive: true });
  const file = join(dir, a.id, `${callId}.krec`);
  const fh = await open(file, 'wx', 0o600);
  const output: RecordingOutput = { write: async (b) => void (await fh.write(b)), close: () => fh.close() };
  const dk = p.keyring.newDataKey(a.id, p.store.accounts.wrappedKey(a.id)!, callId, 'recording');
  p.store.recordings.insert({ accountId: a.id, callId, wrappedKey: dk.wrapped, file: `${a.id}/${callId}.krec`, createdAt: at });
  const cipher = openPushStream(p.sodium, dk.key, objectAd(a.id, callId, 'recording'));
  p.keyring.wipe(dk.key);
  const codec = new PcmuCodec();
  const w = new RecordingWriter({
    rate: 8000, clockRate: 8000, payloadType: 0,
    decodeCaller: (x) => codec.decode(x), decodeAgent: (x) => codec.decode(x),
    cipher, output, chunkMs: 200,
    onEnd: (s) => p.store.recordings.finish(a.id, callId, s.status === 'failed' ? 'failed' : 'complete', s.failure, s.bytes),
  });
  const tone = new Int16Array(160).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  for (let f = 0; f < 50; f++) {
    w.inbound({ kind: 'audio', payload: codec.encode(tone), arrivalMs: 1000 + (f + 1) * 20 });
    w.outbound(0, codec.encode(tone), 1000 + (f + 1) * 20);
  }
  await w.close();

  const collect = async (chunks: AsyncGenerator<Uint8Array>): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const c of chunks) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  };
  const streamed = await collect((await service.openStream('alpha', callId)).chunks);
  const out = join(p.dir, 'out.wav');
  await service.decryptTo('alpha', callId, out);
  const file2 = readFileSync(out);
  t.equal(streamed.length, file2.length, 'as many bytes as the file the CLI writes');
  t.equal(streamed.readUInt32LE(4), 0xffffffff, 'RIFF size unknown in a stream');
  t.equal(streamed.readUInt32LE(40), 0xffffffff, 'data size unknown in a stream');
  t.ok(streamed.subarray(44).equals(file2.subarray(44)) && streamed.subarray(8, 40).equals(file2.subarray(8, 40)), 'every other byte the same');
  const audit = p.store.audit.list({ accountId: a.id, limit: 5 }).filter((e) => e.action === 'call.recording.read');
  t.match(audit.at(-1), { actor: 'api-token:tok_x:test', target: callId, details: { streamed: true } }, 'the streamed read is audited with its actor');

  // One byte changed in the last chunk: the audio before it may flow, the stream then fails.
  const bytes = readFileSync(file);
  bytes[bytes.length - 5]! ^= 0x01;
  writeFileSync(file, bytes);
  const tampered = await service.openStream('alpha', callId);
  await t.rejects(collect(tampered.chunks), { code: 'KALEM_ERR_RECORDING_TAMPERED' });
  await t.rejects(service.openStream('alpha', 'call_nope'), { code: 'KALEM_ERR_UNKNOWN_CALL' });
  await t.rejects(service.openStream('beta', callId), { code: 'KALEM_ERR_UNKNOWN_ACCOUNT' });
});

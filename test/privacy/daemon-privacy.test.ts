import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TestGateway, loopbackConfig } from '../helpers/gateway.js';
import { KALEM_BIN } from '../helpers/kalem-cli.js';
import { runSipp } from '../helpers/sipp.js';
import { until } from '../media-e2e/helpers.js';
import { AGENT_NUMBER, realtimeCdrs, realtimeGateway } from '../realtime-e2e/helpers.js';

/**
 * The data lifecycle against a real daemon and real calls: SIPp (Debian sip-tester) as the
 * carrier, the REAL managed rtpengine, the gateway daemon in this process, and the OpenAI Realtime
 * STAND-IN (test/stand-ins/openai-realtime.ts, not OpenAI). The CLI runs as its own process on
 * the daemon's live database.
 */

const CALLER = '+14155550999'; // SIPp's From in uac-invite-bye.xml
const AGENT_WORDS = 'PLANTED agent words about the quince order';

function kalem(configPath: string, args: string[]) {
  const r = spawnSync(process.execPath, [KALEM_BIN, '-c', configPath, ...args], { encoding: 'utf8', env: { ...process.env, KALEM_CONFIG: '', CREDENTIALS_DIRECTORY: '' }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function dbFiles(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).filter((f) => f.startsWith('kalem.db')).map((f) => [f, readFileSync(join(dir, f))]));
}

t.test('a real call: caller hashed and sealed, usage adds up, erasure by caller, no content in the logs', async (t) => {
  const { gw, standIn, plantedKey } = await realtimeGateway({ standIn: { defaultResponse: { kind: 'audio', source: 'tone', durationMs: 800, transcript: AGENT_WORDS } } });
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 9000, timeoutS: 40 });
  t.equal(run.code, 0, `SIPp call succeeded ${run.errors}`);
  await until('the CDR', () => Boolean(realtimeCdrs(gw).at(-1)?.end_reason));
  const callId = realtimeCdrs(gw).at(-1)!.id;
  const conn = standIn.latest;
  t.same(conn.session.audio?.input?.transcription, { model: 'gpt-4o-mini-transcribe' }, 'an agent that stores transcripts asks for the caller\'s transcription');

  // The caller: a keyed hash and a sealed value, nowhere in clear.
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  const row = db.prepare('SELECT caller_hash, caller_sealed FROM calls WHERE id = ?').get(callId) as { caller_hash: Buffer | null; caller_sealed: Buffer | null };
  const usage = db.prepare('SELECT * FROM call_usage WHERE call_id = ?').get(callId) as Record<string, number | string>;
  db.close();
  t.equal(row.caller_hash?.length, 32, 'a 32-byte keyed hash');
  t.ok((row.caller_sealed?.length ?? 0) > 40, 'and the From URI sealed');
  for (const [f, bytes] of dbFiles(gw.dir)) t.notOk(bytes.includes(CALLER.slice(1)), `the caller's number is not in clear in ${f}`);
  const shown = JSON.parse(kalem(gw.configPath, ['--json', 'calls', 'show', 'acme', callId]).stdout) as { fromUri: string };
  t.match(shown.fromUri, new RegExp(`^sip:\\${CALLER}@127\\.0\\.0\\.1`), 'the operator sees it');

  // Usage: the stand-in's response.done counts, summed; seconds from answer to BYE.
  const sent = conn.usageSent;
  t.ok(sent.length >= 1, `the stand-in sent ${sent.length} response.done with usage`);
  t.match(usage, {
    account_id: /^acc_/,
    number_e164: AGENT_NUMBER,
    input_tokens: sent.reduce((s, u) => s + (u.input_tokens ?? 0), 0),
    output_tokens: sent.reduce((s, u) => s + (u.output_tokens ?? 0), 0),
    input_audio_tokens: sent.reduce((s, u) => s + (u.input_token_details?.audio_tokens ?? 0), 0),
    cached_tokens: sent.reduce((s, u) => s + (u.input_token_details?.cached_tokens ?? 0), 0),
  });
  t.ok(Number(usage['billable_seconds']) >= 9 && Number(usage['billable_seconds']) <= 11, `billable seconds ${usage['billable_seconds']} for a ~9 s call`);
  t.ok(Math.abs(Number(usage['model_audio_in_ms']) - conn.audio.durationMs) <= 1, `model audio in ${usage['model_audio_in_ms']} ms = what the stand-in received`);
  t.ok(Number(usage['model_audio_out_ms']) >= 800, `model audio out ${usage['model_audio_out_ms']} ms`);

  // The stored transcript's words appear in no log line (nor the planted OpenAI key).
  const tr = JSON.parse(kalem(gw.configPath, ['--json', 'calls', 'transcript', 'acme', callId]).stdout) as Array<{ role: string; text: string }>;
  t.ok(tr.some((x) => x.role === 'agent' && x.text.includes('quince')), 'the agent words were stored');
  const callerTurns = tr.filter((x) => x.role === 'caller');
  t.ok(callerTurns.length >= 1, 'and the caller\'s speech (as the stand-in transcribed it)');
  const logs = gw.logs.join('\n');
  t.notOk(logs.includes('quince'), 'no agent words in the logs');
  for (const c of callerTurns) t.notOk(logs.includes(c.text), `no caller speech in the logs ("${c.text.slice(0, 20)}…")`);
  t.notOk(logs.includes(plantedKey), 'no secret in the logs');

  // A right-to-erasure request, through the CLI, while the daemon runs.
  const erased = kalem(gw.configPath, ['--json', 'calls', 'erase', 'acme', '--caller', CALLER]);
  t.equal(erased.code, 0, erased.stderr);
  t.match(JSON.parse(erased.stdout), { totals: { calls: 1, transcripts: 1, callerFields: 1 }, walTruncated: true });
  t.equal(kalem(gw.configPath, ['calls', 'transcript', 'acme', callId]).code, 1, 'the transcript is gone');
  const usageAfter = JSON.parse(kalem(gw.configPath, ['--json', 'usage', 'acme']).stdout) as { calls: Array<{ callId: string; inputTokens: number }> };
  t.same(usageAfter.calls.map((c) => [c.callId, c.inputTokens]), [[callId, usage['input_tokens']]], 'the usage row stays');
});

t.test('an agent that stores no transcripts: session.update asks OpenAI for no input transcription, nothing is stored', async (t) => {
  const { gw, standIn } = await realtimeGateway({ agent: { storeTranscripts: false } });
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 2000, timeoutS: 30 });
  t.equal(run.code, 0, run.errors);
  t.same(standIn.violations, []);
  const updates = standIn.latest.received.filter((e) => e.type === 'session.update');
  t.ok(updates.length >= 1);
  for (const u of updates) t.notOk(JSON.stringify(u).includes('transcription'), 'no input_audio_transcription / audio.input.transcription in session.update');
  t.equal(standIn.latest.session.audio?.input?.transcription ?? null, null, 'the session the stand-in holds transcribes nothing');
  await until('the CDR', () => Boolean(realtimeCdrs(gw).at(-1)?.end_reason));
  const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
  t.equal(db.prepare('SELECT COUNT(*) FROM call_transcripts').pluck().get(), 0);
  db.close();
});

t.test('the daemon\'s sweeper removes what is past its window, audits it and counts it in /metrics', async (t) => {
  const gw = new TestGateway(loopbackConfig('', '[rtpengine]\nmode = "off"\n'));
  t.teardown(() => gw.stop());
  await gw.provision((app) => {
    const a = app.provisioning.createAccount({ name: 'acme', retention: { transcriptsDays: 30 } });
    const agent = app.provisioning.createAgent('acme', { name: 'bot' });
    for (const [id, at] of [['call_old', '2020-01-01T10:00:00.000Z'], ['call_new', new Date().toISOString()]] as const) {
      app.callRecords.insert({ id, accountId: a.id, agentId: agent.id, trunkId: null, numberE164: '+14155550100', sipCallId: id, fromUri: 'sip:+15551234567@x', startedAt: at });
      app.callRecords.finish(a.id, id, { answeredAt: at, endedAt: at, endReason: 'remote-bye', hangupBy: 'caller', details: {} });
      app.callRecords.storeTranscript(a.id, id, [{ role: 'caller', text: 'hello', at }]);
    }
    // As if stored long ago.
    app.store.db.prepare("UPDATE call_transcripts SET created_at = '2020-01-01T10:05:00.000Z' WHERE call_id = 'call_old'").run();
  });
  await gw.start();
  await until('the first sweep', () => gw.records('retention sweep removed expired call data').length > 0, 15_000);
  t.match(gw.records('retention sweep removed expired call data')[0], { transcripts: 1, recordings: 0, cdrs: 0, walTruncated: true });
  const { port } = gw.daemon.apiAddress()!;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /^kalem_retention_swept_total\{kind="transcripts"\} 1$/m, '/metrics counts the items swept');
  await gw.provision((app) => {
    t.equal(app.callRecords.callRecord('acme', 'call_old').hasTranscript, false, 'the old transcript is gone');
    t.equal(app.callRecords.callRecord('acme', 'call_new').hasTranscript, true, 'the recent one stays');
    t.match(app.provisioning.listAudit('acme', 5).find((e) => e.action === 'retention.sweep'), { actor: 'daemon', details: { transcripts: 1, trigger: 'daemon' } });
  });
});

t.test('a recorded call: stereo WAV encrypted on disk, decrypted by the CLI (caller left, agent right), erased with the call', async (t) => {
  const { gw, standIn } = await realtimeGateway({ agent: { recording: true }, standIn: { defaultResponse: { kind: 'audio', source: 'tone', durationMs: 1500, transcript: 'Hello there.' } } });
  const outDir = mkdtempSync(join(tmpdir(), 'kalem-rec-out-'));
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
    rmSync(outDir, { recursive: true, force: true });
  });
  // A consent announcement: 1 s of 1500 Hz, mono 16-bit 24 kHz, set through the CLI.
  const annPath = join(outDir, 'announcement.wav');
  writeFileSync(annPath, monoWav24k(1500, 1000));
  writeFileSync(join(outDir, 'stereo.wav'), Buffer.concat([monoWav24k(1500, 100).subarray(0, 22), Buffer.from([2, 0]), monoWav24k(1500, 100).subarray(24)]));
  const bad = kalem(gw.configPath, ['agent', 'update', 'acme', 'assistant', '--recording-announcement', join(outDir, 'stereo.wav')]);
  t.equal(bad.code, 2, 'a WAV of the wrong shape is a usage error');
  t.match(bad.stderr, /--recording-announcement: .* must be mono 16-bit PCM at 24000 Hz/);
  const set = kalem(gw.configPath, ['agent', 'update', 'acme', 'assistant', '--recording-announcement', annPath]);
  t.equal(set.code, 0, set.stderr);
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 5000, timeoutS: 30 });
  t.equal(run.code, 0, run.errors);
  await until('the recording to be closed', () => {
    const db = new Database(join(gw.dir, 'kalem.db'), { readonly: true });
    try {
      return (db.prepare("SELECT COUNT(*) FROM call_recordings WHERE status <> 'recording'").pluck().get() as number) === 1;
    } finally {
      db.close();
    }
  });
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.match((cdr.details as { recording?: unknown }).recording, { status: 'recorded', failure: null }, 'the CDR says the call was recorded');
  const accountDir = readdirSync(join(gw.dir, 'recordings'))[0]!;
  const file = join(gw.dir, 'recordings', accountDir, `${cdr.id}.krec`);
  const onDisk = readFileSync(file);
  t.ok(onDisk.length > 8000 * 4 * 4, `${onDisk.length} bytes encrypted on disk`);
  t.notOk(onDisk.includes('RIFF'), 'no clear WAV on disk');
  t.equal(statSync(file).mode & 0o777, 0o600);

  const out = join(outDir, 'call.wav');
  const dec = kalem(gw.configPath, ['calls', 'recording', 'acme', cdr.id, '--out', out]);
  t.equal(dec.code, 0, dec.stderr);
  t.match(dec.stdout, /wrote .*call\.wav: \d+(\.\d)? s of stereo audio/);
  const wav = readFileSync(out);
  t.equal(wav.readUInt16LE(22), 2, 'stereo');
  const rate = wav.readUInt32LE(24);
  t.equal(rate, 8000, 'at the G.711 rate of the call');
  const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
  const seconds = pcm.length / 2 / rate;
  t.ok(seconds > 4 && seconds < 7, `${seconds.toFixed(1)} s recorded for a ~5 s call`);
  const rms = (ch: number) => Math.sqrt(pcm.filter((_, i) => i % 2 === ch).reduce((e, x) => e + x * x, 0) / (pcm.length / 2));
  t.ok(rms(0) > 300, `the caller's speech is on the left (rms ${rms(0).toFixed(0)})`);
  t.ok(rms(1) > 300, `what the caller heard is on the right (rms ${rms(1).toFixed(0)})`);
  const right = pcm.filter((_, i) => i % 2 === 1);
  const onset = right.findIndex((x) => Math.abs(x) > 1000);
  const zcr = (from: number, n: number) => {
    let z = 0;
    for (let i = from + 1; i < from + n; i++) if ((right[i - 1]! < 0) !== (right[i]! < 0)) z++;
    return (z * rate) / n;
  };
  // The announcement plays first on the right, whole: about ten 100 ms windows of 1500 Hz.
  // (SIPp's caller talks from the first second, so the agent's own first words are cut by barge-in.)
  t.ok(onset >= 0 && onset < rate, `right channel audio starts at ${(onset / rate).toFixed(2)} s`);
  t.ok(Math.abs(zcr(onset + 1600, 4000) - 3000) < 300, `it is the announcement (${zcr(onset + 1600, 4000).toFixed(0)} zero crossings/s ≈ 1500 Hz)`);
  let windows = 0;
  for (let i = onset; i + 800 <= right.length; i += 800) if (Math.abs(zcr(i, 800) - 3000) < 300) windows++;
  t.ok(windows >= 7 && windows <= 11, `${windows} windows of 100 ms carry it: the whole 1 s announcement`);

  const del = kalem(gw.configPath, ['--json', 'calls', 'delete', 'acme', cdr.id]);
  t.match(JSON.parse(del.stdout), { recordings: 1 });
  t.notOk(existsSync(file), 'the encrypted file is gone');
  t.equal(kalem(gw.configPath, ['calls', 'recording', 'acme', cdr.id, '--out', join(outDir, 'again.wav')]).code, 1, 'and nothing is left to decrypt');
});

/** A mono 16-bit WAV at 24 kHz of one tone (what --recording-announcement takes). */
function monoWav24k(hz: number, ms: number): Buffer {
  const n = (24_000 * ms) / 1000;
  const b = Buffer.alloc(44 + 2 * n);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + 2 * n, 4);
  b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(24_000, 24);
  b.writeUInt32LE(48_000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / 24_000)), 44 + 2 * i);
  return b;
}

t.test('a recording that cannot be written: the call goes on, the CDR says why', async (t) => {
  const { gw, standIn } = await realtimeGateway({ agent: { recording: true } });
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  // The recordings directory cannot be created: a file is in its way (as a full or read-only disk would refuse it).
  writeFileSync(join(gw.dir, 'recordings'), 'not a directory');
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 2000, timeoutS: 30 });
  t.equal(run.code, 0, `the call itself succeeded ${run.errors}`);
  t.ok(standIn.latest.audio.durationMs > 1000, 'caller audio reached the model');
  await until('the CDR', () => Boolean(realtimeCdrs(gw).at(-1)?.end_reason));
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.equal(cdr.end_reason, 'remote-bye');
  t.match((cdr.details as { recording?: unknown }).recording, { status: 'failed', failure: /^not started: cannot create its file \(ENOTDIR\)$/ });
  t.ok(gw.records('recording not started: cannot create its file').length === 1, 'and the log says so');
});

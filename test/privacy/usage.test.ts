import t from 'tap';
import { rmSync } from 'node:fs';
import { CallRecordsService } from '../../src/tenancy/call-records-service.js';
import { ErasureService } from '../../src/privacy/erasure-service.js';
import { RetentionService } from '../../src/privacy/retention-service.js';
import { UsageMeter } from '../../src/privacy/usage-meter.js';
import { UsageService } from '../../src/privacy/usage-service.js';
import { makeProvisioning } from '../helpers/store.js';

/** Usage rows apart from content: what a finished call writes, and that no erasure or retention touches them. */

async function setup() {
  const p = await makeProvisioning();
  const calls = new CallRecordsService(p.store, p.keyring, p.clock, 'test');
  const usage = new UsageService(p.store, p.clock);
  const cleanup = () => {
    p.close();
    rmSync(p.dir, { recursive: true, force: true });
  };
  return { p, calls, usage, cleanup };
}

t.test('UsageMeter sums the usage of every response.done', async (t) => {
  const m = new UsageMeter();
  m.add(undefined);
  m.add({ input_tokens: 100, output_tokens: 40, input_token_details: { audio_tokens: 90, text_tokens: 10, cached_tokens: 64 }, output_token_details: { audio_tokens: 35, text_tokens: 5 } });
  m.add({ input_tokens: 7, output_tokens: 3 });
  m.add({ input_tokens: -5, output_tokens: Number.NaN });
  t.same(m.toJSON(), { inputTokens: 107, outputTokens: 43, inputAudioTokens: 90, outputAudioTokens: 35, inputTextTokens: 10, outputTextTokens: 5, cachedTokens: 64 });
});

t.test('a finished call writes its usage row; erasure, retention and account deletion leave it', async (t) => {
  const { p, calls, usage, cleanup } = await setup();
  t.teardown(cleanup);
  const a = p.provisioning.createAccount({ name: 'alpha', retention: { cdrDays: 1 } });
  const agent = p.provisioning.createAgent('alpha', { name: 'bot' });
  const start = (id: string, at: string) =>
    calls.insert({ id, accountId: a.id, agentId: agent.id, trunkId: null, numberE164: '+14155550100', sipCallId: id, fromUri: 'sip:+15551234567@x', startedAt: at });
  start('call_u1', '2026-11-03T10:00:00.000Z');
  calls.finish(a.id, 'call_u1', {
    answeredAt: '2026-11-03T10:00:01.000Z',
    endedAt: '2026-11-03T10:01:01.200Z',
    endReason: 'remote-bye',
    hangupBy: 'caller',
    details: { realtime: { audioFormat: 'pcm16', appendedBytes: 48_000 * 50, framesDown: 1500, tokens: { inputTokens: 500, outputTokens: 300, inputAudioTokens: 480, outputAudioTokens: 290, inputTextTokens: 20, outputTextTokens: 10, cachedTokens: 128 } } },
  });
  start('call_u2', '2026-11-20T10:00:00.000Z');
  calls.finish(a.id, 'call_u2', { answeredAt: null, endedAt: '2026-11-20T10:00:03.000Z', endReason: 'cancelled', hangupBy: 'caller', details: {} });
  calls.storeTranscript(a.id, 'call_u1', [{ role: 'caller', text: 'hi', at: '2026-11-03T10:00:02.000Z' }]);

  const nov = usage.period('2026-11-01', '2026-11-30');
  t.same(nov, { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' }, 'a date-only --to includes its day');
  const before = usage.forAccount('alpha', nov);
  t.same(before.calls[0], {
    callId: 'call_u1', accountId: a.id, agentId: agent.id, numberE164: '+14155550100', startedAt: '2026-11-03T10:00:00.000Z',
    billableSeconds: 61, modelAudioInMs: 50_000, modelAudioOutMs: 30_000, inputTokens: 500, outputTokens: 300, inputAudioTokens: 480,
    outputAudioTokens: 290, inputTextTokens: 20, outputTextTokens: 10, cachedTokens: 128,
  }, 'seconds from answer rounded up, audio from bytes appended and frames played, tokens as summed');
  t.match(before.calls[1], { callId: 'call_u2', billableSeconds: 0, inputTokens: 0 }, 'an unanswered call bills nothing');
  t.match(before.totals, { calls: 2, billableSeconds: 61, inputTokens: 500 });
  t.same(usage.forAccount('alpha', usage.period('2026-11-10', '2026-11-30')).calls.map((c) => c.callId), ['call_u2'], 'the period filters');
  t.notOk(JSON.stringify(before).includes('5551234567'), 'no caller in a usage row');

  const erasure = new ErasureService(p.store, p.keyring, p.clock, 'test');
  erasure.eraseCaller('alpha', '+15551234567');
  p.clock.advance(Date.parse('2026-12-01T00:00:00.000Z') - p.clock.now());
  t.equal(new RetentionService(p.store, p.clock, 'test').runAll().totals.cdrs, 2, 'the CDRs are swept');
  erasure.deleteAccount('alpha');
  const after = usage.summary(nov);
  t.same(after.accounts.map((x) => [x.accountId, x.account, x.calls, x.billableSeconds]), [[a.id, null, 2, 61]], 'the usage rows survive it all (the account shown by id once deleted)');

  t.throws(() => usage.period('yesterday'), { code: 'KALEM_ERR_INVALID_ARGUMENT', message: '--from takes a date (2026-11-01) or an ISO 8601 time (got "yesterday")' });
  t.throws(() => usage.period('2026-11-05', '2026-11-01'), { code: 'KALEM_ERR_INVALID_ARGUMENT', message: /must be after --from/ });
  t.throws(() => usage.forAccount('nobody', nov), { code: 'KALEM_ERR_UNKNOWN_ACCOUNT' });
});

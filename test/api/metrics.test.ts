import t from 'tap';
import { FakeClock } from '../../src/core/clock.js';
import { CALL_OUTCOMES, Metrics, rejectionOutcome } from '../../src/api/metrics.js';

// The Metrics facade on its own (the HTTP exposition is in http-server.test.ts).

t.test('Metrics facade keeps labels bounded and arguments sane', async (t) => {
  const metrics = new Metrics({ defaultMetrics: false });
  t.equal(rejectionOutcome(403), 'rejected_403');
  t.equal(rejectionOutcome(599), 'rejected_5xx');
  t.equal(rejectionOutcome(603), 'rejected_6xx');
  t.throws(() => metrics.callRejected(200), TypeError);
  t.throws(() => metrics.rtpPackets({ lost: -1 }), TypeError);
  t.throws(() => metrics.realtimeError('oops' as never), TypeError);
  const tracker = metrics.callStarted();
  tracker.firstAgentAudio(); // before answer: ignored, nothing to measure from
  tracker.rejected(503);
  const json = await metrics.registry.getMetricsAsJSON();
  const values = json.find((m) => m.name === 'kalem_calls_total')!.values;
  t.equal(values.find((v) => v.labels.outcome === 'rejected_503')?.value, 1);
  t.equal(json.find((m) => m.name === 'kalem_first_agent_audio_seconds')!.values.find((v) => (v as { metricName?: string }).metricName === 'kalem_first_agent_audio_seconds_count')?.value, 0);
  t.equal(json.find((m) => m.name === 'kalem_calls_active')!.values[0]?.value, 0);
  t.equal(values.length, 13, 'one series per outcome, no more');
});

t.test('a call tracker measures from INVITE to answer and from answer to first audio', async (t) => {
  const clock = new FakeClock();
  const metrics = new Metrics({ clock, defaultMetrics: false });
  const call = metrics.callStarted();
  clock.advance(250);
  call.answered();
  clock.advance(5000);
  call.answered(); // once only
  call.firstAgentAudio();
  call.firstAgentAudio();
  call.ended('cancelled');
  call.rejected(500); // already over: ignored
  const json = await metrics.registry.getMetricsAsJSON();
  const series = (name: string, metricName: string): number | undefined =>
    json.find((m) => m.name === name)?.values.find((v) => (v as { metricName?: string }).metricName === metricName)?.value;
  t.equal(series('kalem_invite_answer_seconds', 'kalem_invite_answer_seconds_count'), 1);
  t.equal(series('kalem_invite_answer_seconds', 'kalem_invite_answer_seconds_sum'), 0.25);
  t.equal(series('kalem_first_agent_audio_seconds', 'kalem_first_agent_audio_seconds_sum'), 5);
  const calls = json.find((m) => m.name === 'kalem_calls_total')!.values;
  t.equal(calls.find((v) => v.labels.outcome === 'cancelled')?.value, 1);
  t.equal(calls.find((v) => v.labels.outcome === 'rejected_5xx')?.value, 0);
  t.equal(calls.reduce((n, v) => n + v.value, 0), 1, 'one call, one outcome');
  t.same(calls.map((v) => v.labels.outcome).sort(), [...CALL_OUTCOMES].sort());
});

t.test('an unanswered call ended without an outcome counts as failed', async (t) => {
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.callStarted().ended();
  const calls = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'kalem_calls_total')!.values;
  t.equal(calls.find((v) => v.labels.outcome === 'failed')?.value, 1);
});

import t from 'tap';
import { request } from 'node:http';
import { FakeClock } from '../../src/core/clock.js';
import { ApiServer, type HealthResult } from '../../src/api/http-server.js';
import { Metrics } from '../../src/api/metrics.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format 0.0.4: every line is a HELP, a TYPE, or a sample
 * `name{label="value",...} number`; every sample belongs to a family declared by TYPE before it.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = new RegExp(`^# (HELP|TYPE) (${name}) (.*)$`).exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3]!)) throw new Error(`bad TYPE: ${line}`);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`not a Prometheus line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      labelRe.lastIndex = 0;
      let consumed = 0;
      for (let lm = labelRe.exec(m[2]); lm; lm = labelRe.exec(m[2])) {
        labels[lm[1]!] = lm[2]!;
        consumed = labelRe.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    // Prometheus reads values with Go's ParseFloat: NaN and ±Inf in any letter case.
    const special = /^([+-]?)(inf|nan)$/i.exec(m[3]!);
    const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(m[3]);
    if (Number.isNaN(value) && !special) throw new Error(`bad value: ${line}`);
    const family = [...types.keys()].find((f) => m[1] === f || (types.get(f) === 'histogram' && /^(_bucket|_sum|_count)$/.test(m[1]!.slice(f.length)) && m[1]!.startsWith(f)));
    if (!family) throw new Error(`sample before its TYPE: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

t.test('/metrics is Prometheus text and counts a simulated call', async (t) => {
  const clock = new FakeClock();
  const metrics = new Metrics({ clock });
  const server = new ApiServer({ port: 0, metrics });
  await server.listen();
  t.teardown(() => server.close());
  const { address, port } = server.address();
  t.equal(address, '127.0.0.1', 'loopback by default');
  t.ok(port > 0);

  const before = parsePrometheus((await call(port, '/metrics')).body);
  t.equal(value(before.samples, 'kalem_calls_total', { outcome: 'answered' }), 0, 'outcomes exported at 0 from the start');
  t.equal(value(before.samples, 'kalem_calls_active'), 0);

  // One answered call: INVITE, 1.5 s to answer, agent audio 0.4 s later, media, hang-up.
  const call1 = metrics.callStarted();
  clock.advance(1500);
  call1.answered();
  clock.advance(400);
  call1.firstAgentAudio();
  metrics.rtpPackets({ received: 250, sent: 248, lost: 2 });
  metrics.rtpJitter(12);
  const during = parsePrometheus((await call(port, '/metrics')).body);
  t.equal(value(during.samples, 'kalem_calls_active'), 1, 'active while in progress');
  call1.ended();
  call1.ended('failed'); // a second end is ignored
  metrics.callRejected(404);
  metrics.callRejected(480);
  metrics.realtimeError('server');
  metrics.realtimeReconnect();

  const reply = await call(port, '/metrics');
  t.equal(reply.status, 200);
  t.match(reply.headers['content-type'], /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  const { types, samples } = parsePrometheus(reply.body);
  t.equal(types.get('kalem_calls_total'), 'counter');
  t.equal(types.get('kalem_invite_answer_seconds'), 'histogram');
  t.equal(value(samples, 'kalem_calls_active'), 0);
  t.equal(value(samples, 'kalem_calls_total', { outcome: 'answered' }), 1);
  t.equal(value(samples, 'kalem_calls_total', { outcome: 'failed' }), 0, 'the second end did not count');
  t.equal(value(samples, 'kalem_calls_total', { outcome: 'rejected_404' }), 1);
  t.equal(value(samples, 'kalem_calls_total', { outcome: 'rejected_4xx' }), 1, '480 folded into its class');
  t.equal(value(samples, 'kalem_invite_answer_seconds_count'), 1);
  t.equal(value(samples, 'kalem_invite_answer_seconds_sum'), 1.5);
  t.equal(value(samples, 'kalem_invite_answer_seconds_bucket', { le: '1' }), 0);
  t.equal(value(samples, 'kalem_invite_answer_seconds_bucket', { le: '2' }), 1);
  t.equal(value(samples, 'kalem_first_agent_audio_seconds_sum'), 0.4);
  t.equal(value(samples, 'kalem_rtp_packets_received_total'), 250);
  t.equal(value(samples, 'kalem_rtp_packets_sent_total'), 248);
  t.equal(value(samples, 'kalem_rtp_packets_lost_total'), 2);
  t.equal(value(samples, 'kalem_rtp_jitter_seconds_sum'), 0.012);
  t.equal(value(samples, 'kalem_realtime_errors_total', { kind: 'server' }), 1);
  t.equal(value(samples, 'kalem_realtime_reconnects_total'), 1);
  t.equal(types.get('kalem_nodejs_eventloop_lag_seconds'), 'gauge', 'event-loop lag');
  t.ok(value(samples, 'kalem_process_resident_memory_bytes')! > 0, 'process metrics');

  // Cross-check with prom-client's own view of the same registry.
  const json = await metrics.registry.getMetricsAsJSON();
  const callsJson = json.find((m) => m.name === 'kalem_calls_total');
  t.same(
    callsJson?.values.find((v) => v.labels.outcome === 'answered')?.value,
    1,
    'prom-client agrees',
  );
  t.notOk(samples.some((s) => !s.name.startsWith('kalem_')), 'every series carries the kalem_ prefix');
});

t.test('/healthz: 200 when every check passes, 503 naming the failing one', async (t) => {
  let database: HealthResult = { ok: true };
  const server = new ApiServer({
    port: 0,
    metrics: new Metrics({ defaultMetrics: false }),
    checkTimeoutMs: 200,
    checks: {
      sip: async () => ({ ok: true, detail: 'udp 127.0.0.1:5060' }),
      database: async () => database,
    },
  });
  await server.listen();
  t.teardown(() => server.close());
  const { port } = server.address();

  const ok = await call(port, '/healthz');
  t.equal(ok.status, 200);
  t.match(ok.headers['content-type'], /^application\/json/);
  t.same(JSON.parse(ok.body), { status: 'ok', failing: [], checks: { sip: { ok: true, detail: 'udp 127.0.0.1:5060' }, database: { ok: true } } });

  database = { ok: false, detail: 'integrity check failed' };
  const bad = await call(port, '/healthz');
  t.equal(bad.status, 503);
  const body = JSON.parse(bad.body);
  t.equal(body.status, 'fail');
  t.same(body.failing, ['database']);
  t.same(body.checks.database, { ok: false, detail: 'integrity check failed' });
  t.same(body.checks.sip.ok, true);
});

t.test('/healthz: a throwing or hanging check fails by name, within the check timeout', async (t) => {
  const server = new ApiServer({
    port: 0,
    metrics: new Metrics({ defaultMetrics: false }),
    checkTimeoutMs: 100,
    checks: {
      rtpengine: () => new Promise<HealthResult>(() => {}),
      sip: async () => {
        throw new Error('no listener on udp');
      },
    },
  });
  await server.listen();
  t.teardown(() => server.close());
  const reply = await call(server.address().port, '/healthz');
  t.equal(reply.status, 503);
  const body = JSON.parse(reply.body);
  t.same(body.failing, ['rtpengine', 'sip']);
  t.match(body.checks.rtpengine.detail, /no answer within 100 ms/);
  t.equal(body.checks.sip.detail, 'no listener on udp');
});

t.test('unknown paths 404, other methods 405 with Allow; HEAD works', async (t) => {
  const server = new ApiServer({ port: 0, metrics: new Metrics({ defaultMetrics: false }) });
  await server.listen();
  t.teardown(() => server.close());
  const { port } = server.address();
  t.equal((await call(port, '/')).status, 404);
  t.equal((await call(port, '/metrics/extra')).status, 404);
  t.equal((await call(port, '/metrics?name[]=x')).status, 200, 'a query string is ignored');
  const post = await call(port, '/metrics', 'POST');
  t.equal(post.status, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  t.equal((await call(port, '/healthz', 'DELETE')).status, 405);
  const head = await call(port, '/healthz', 'HEAD');
  t.equal(head.status, 200, 'no checks: healthy');
  t.equal(head.body, '', 'HEAD has no body');
});

t.test('close() is idempotent, frees the port, and a bind error is reported', async (t) => {
  const metrics = new Metrics({ defaultMetrics: false });
  const a = new ApiServer({ port: 0, metrics });
  await a.listen();
  const { port } = a.address();
  const b = new ApiServer({ port, metrics });
  await t.rejects(b.listen(), { code: 'EADDRINUSE' });
  const first = a.close();
  t.equal(a.close(), first, 'same promise');
  await first;
  await t.rejects(call(port, '/metrics'), { code: 'ECONNREFUSED' }, 'port closed');
  await b.close();
  t.throws(() => new ApiServer({ port: -1, metrics }), TypeError, 'disabled (-1) is the caller’s decision');
});

t.test('a client that never finishes its request is cut off by the request timeout', async (t) => {
  const { connect } = await import('node:net');
  const server = new ApiServer({ port: 0, metrics: new Metrics({ defaultMetrics: false }), requestTimeoutMs: 300 });
  await server.listen();
  t.teardown(() => server.close());
  const socket = connect(server.address().port, '127.0.0.1');
  socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // headers never end
  const started = Date.now();
  const got = await new Promise<string>((resolve) => {
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolve(data));
  });
  t.match(got, /^HTTP\/1\.1 408/, 'answered 408 Request Timeout');
  t.ok(Date.now() - started < 5000, 'within the configured limit, not the default');
});

/**
 * The kb_search tool on its own: KbLookup (output, latency budget, the call's close aborting a
 * search in flight) and its dispatch by CallTools with the filler. The search function here is
 * a small async function standing in for KnowledgeService.search (the service itself is tested
 * in knowledge.test.ts and, on a call, in kb-call-e2e.test.ts).
 */
import t from 'tap';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { CallTools } from '../../src/calls/call-tools.js';
import type { RealtimeBridge } from '../../src/calls/realtime-bridge.js';
import { buildSessionConfig } from '../../src/realtime/session-config.js';
import { KbLookup, KB_SEARCH_TOOL, type KbSearchFn } from '../../src/tools/kb-search.js';
import { DEFAULT_AGENT, type Agent } from '../../src/tenancy/model.js';

const log = createLogger({ level: 'silent' });
// systemClock's timers are unref'd (the daemon's sockets keep it alive); here nothing else would.
const keepAlive = setInterval(() => undefined, 1000);
t.teardown(() => clearInterval(keepAlive));
const bases = [{ id: 'kb_1', name: 'faq' }];

function lookup(search: KbSearchFn, timeoutMs = 2000): KbLookup {
  return new KbLookup({ search, accountId: 'acc_1', bases, k: 3, minScore: 0.2, timeoutMs, clock: systemClock, log });
}

/** Resolves when the signal aborts (a search that would never finish on its own). */
const untilAborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));

t.test('results go back with their source names; the account, bases, k and floor are passed through', async (t) => {
  const seen: unknown[] = [];
  const l = lookup(async (accountId, baseIds, query, o) => {
    seen.push({ accountId, baseIds, query, k: o.k, minScore: o.minScore });
    return [{ score: 0.8123, text: 'We are open Monday to Friday.', source: 'hours.md' }];
  });
  const r = await l.run({ query: '  when are you open  ' }, new AbortController().signal);
  t.equal(r.ok, true);
  t.same(JSON.parse(r.output), { results: [{ source: 'hours.md', text: 'We are open Monday to Friday.', score: 0.812 }] });
  t.same(seen, [{ accountId: 'acc_1', baseIds: ['kb_1'], query: 'when are you open', k: 3, minScore: 0.2 }]);
  t.equal(r.note, '1 passage(s)', 'the note for the transcript and CDR holds no chunk text');
  const none = await lookup(async () => []).run({ query: 'x' }, new AbortController().signal);
  t.match(JSON.parse(none.output), { results: [], note: /do not guess/ });
  const bad = await l.run({ q: 'x' }, new AbortController().signal);
  t.same([bad.ok, JSON.parse(bad.output)], [false, { error: 'call kb_search with a non-empty "query"' }]);
});

t.test('a search past the latency budget is abandoned (its signal aborted) and the model is told', async (t) => {
  let aborted = false;
  const l = lookup(async (_a, _b, _q, o) => {
    o.signal.addEventListener('abort', () => (aborted = true));
    return untilAborted(o.signal);
  }, 150);
  const r = await l.run({ query: 'slow' }, new AbortController().signal);
  t.equal(r.ok, false);
  t.equal(r.note, 'timeout');
  t.match(JSON.parse(r.output).error, /did not answer in time/);
  t.equal(aborted, true, 'the search underneath was aborted, not left running');
  t.equal(l.pending, 0);
});

t.test('the call closing aborts the lookups in flight and refuses new ones', async (t) => {
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const l = lookup(async (_a, _b, _q, o) => {
    started();
    return untilAborted(o.signal);
  });
  const result = l.run({ query: 'q' }, new AbortController().signal);
  await running;
  t.equal(l.pending, 1);
  l.close();
  l.close();
  const r = await result;
  t.same([r.ok, r.note], [false, 'cancelled']);
  t.equal(l.pending, 0);
  const after = await l.run({ query: 'q' }, new AbortController().signal);
  t.same([after.ok, after.note], [false, 'call closed']);
  // The tool call's own signal (the Realtime session dropped) aborts it too.
  const l2 = lookup(async (_a, _b, _q, o) => untilAborted(o.signal));
  const ac = new AbortController();
  const p = l2.run({ query: 'q' }, ac.signal);
  ac.abort();
  t.equal((await p).note, 'cancelled');
});

t.test('CallTools offers kb_search, dispatches it, and plays the filler while a slow search runs', async (t) => {
  const played: string[] = [];
  const stopped: string[] = [];
  const recorded: Array<[string, boolean]> = [];
  // The few bridge methods CallTools uses around a tool (the real bridge is in test/realtime).
  const bridge = {
    playPcm: (_pcm: Int16Array, tag: string) => played.push(tag),
    stopPcm: (tag: string) => stopped.push(tag),
    recordTool: (name: string, ok: boolean) => recorded.push([name, ok]),
  } as unknown as RealtimeBridge;
  const kb = lookup(async () => {
    await new Promise((r) => setTimeout(r, 400));
    return [{ score: 0.9, text: 'Open 9 to 5.', source: 'hours.md' }];
  });
  const deps: ConstructorParameters<typeof CallTools>[0] = {
    clock: systemClock,
    log,
    accountId: 'acc_1',
    callId: 'call_1',
    refer: async () => ({ status: 603, reason: 'Declined' }),
    transferred: () => undefined,
    openWebhookSecret: () => undefined,
    wipe: (b) => b.fill(0),
    webhook: { timeoutMs: 1000, maxResponseBytes: 1024, fillerAfterMs: 100 },
  };
  const tools = new CallTools({ ...deps, kb });
  t.same(tools.definitions().map((d) => d.name), [KB_SEARCH_TOOL]);
  const out = await tools.run({ callId: 'c1', name: KB_SEARCH_TOOL, arguments: '{"query":"hours"}', itemId: 'i', responseId: 'r', signal: new AbortController().signal }, bridge);
  t.same(JSON.parse(out).results[0].source, 'hours.md');
  t.ok(played.length >= 1, `the caller heard filler while the search took 400 ms (${played.length} burst(s))`);
  t.same(stopped, ['filler:c1'], 'and it stopped once the answer was there');
  t.same(recorded, [[KB_SEARCH_TOOL, true]]);

  const without = new CallTools(deps);
  t.same(without.definitions(), [], 'no bases, no tool');
  const refused = await without.run({ callId: 'c2', name: KB_SEARCH_TOOL, arguments: '{"query":"x"}', itemId: 'i', responseId: 'r', signal: new AbortController().signal }, bridge);
  t.match(JSON.parse(refused).error, /no knowledge base/);
});

t.test('the session offers kb_search after the built-ins; a webhook cannot take its name', async (t) => {
  const agent = { ...DEFAULT_AGENT, id: 'a', accountId: 'acc', name: 'a', createdAt: '', updatedAt: '' } as Agent;
  const kb = lookup(async () => []);
  const s = buildSessionConfig(agent, { extraTools: [kb.definition] });
  t.same(s.tools?.map((x) => (x as { name: string }).name), ['end_call', 'send_dtmf', 'kb_search']);
  const params = (s.tools![2] as { parameters: { required: string[] } }).parameters;
  t.same(params.required, ['query']);
  const shadow = { ...agent, tools: { ...agent.tools, webhooks: [{ name: 'kb_search', description: '', parameters: { type: 'object' }, url: 'https://x.example' }] } };
  t.throws(() => buildSessionConfig(shadow), TypeError);
});

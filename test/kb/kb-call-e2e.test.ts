import t, { type Test } from 'tap';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { openKnowledge } from '../../src/app/knowledge.js';
import { openProvisioning } from '../../src/app/open-app.js';
import { runSipp } from '../helpers/sipp.js';
import { until } from '../media-e2e/helpers.js';
import { AGENT_NUMBER, realtimeCdrs, realtimeGateway } from '../realtime-e2e/helpers.js';
import { OpenAIEmbeddingsStandIn } from '../stand-ins/openai-embeddings.js';
import { HOURS_MD } from './helpers.js';

/**
 * A realtime gateway whose account `acme` has a knowledge base `faq` holding HOURS_MD, linked to
 * the agent `assistant`, with the embeddings stand-in behind it (`kbToml`: more `[kb]` lines).
 * Everything it starts is stopped when `t` ends.
 */
async function gatewayWithFaq(t: Test, kbToml: string) {
  const embeddings = await OpenAIEmbeddingsStandIn.start({ apiKey: 'set-below' });
  t.teardown(() => embeddings.close());
  const { gw, standIn, plantedKey } = await realtimeGateway({
    rest: `\n[kb]\nembeddings_base_url = "${embeddings.baseURL}"\n${kbToml}\n`,
  });
  embeddings.acceptKey(plantedKey);
  t.teardown(async () => {
    await gw.stop();
    await standIn.close();
  });
  const app = await openProvisioning({ configPath: gw.configPath, logDestination: { write: () => true } as never });
  const kb = openKnowledge(app);
  try {
    kb.knowledge.createBase('acme', 'faq');
    const file = join(gw.dir, 'hours.md');
    writeFileSync(file, HOURS_MD);
    await kb.knowledge.addDocuments('acme', 'faq', [file]);
    kb.knowledge.linkAgent('acme', 'assistant', ['faq']);
  } finally {
    await kb.close();
    app.close();
  }
  return { gw, standIn, embeddings, plantedKey };
}

/**
 * A caller asks, the agent looks it up: SIPp (the carrier, real), the REAL managed rtpengine, the
 * gateway daemon in this process, its knowledge base on sqlite-vec, the OpenAI Realtime STAND-IN
 * (which plays the model deciding to call kb_search) and the OpenAI embeddings STAND-IN. The
 * function output the Realtime stand-in receives must hold the opening-hours chunk.
 */
t.test('SIPp call → the model calls kb_search → the opening-hours chunk comes back as the function output', async (t) => {
  // A shared, loaded test box: the search budget is not what this test is about.
  const { gw, standIn, embeddings, plantedKey } = await gatewayWithFaq(t, 'search_min_score = 0.1\nsearch_timeout_ms = 15000');
  const queriesBefore = embeddings.requests.length;

  let asked = false;
  standIn.on('received', (conn, ev) => {
    if (ev.type === 'input_audio_buffer.append' && !asked) {
      asked = true;
      conn.callFunction('kb_search', JSON.stringify({ query: 'When are you open?' }));
    }
  });
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 4000, timeoutS: 40 });
  t.equal(run.code, 0, `SIPp reports the call successful${run.code === 0 ? '' : `\n${run.errors}`}`);
  t.equal(asked, true, 'the model called kb_search once caller audio flowed');
  const conn = standIn.latest;
  const tool = conn.session.tools?.find((x) => 'name' in x && x.name === 'kb_search');
  t.ok(tool, 'the session offered kb_search to the model');
  t.match((tool as { description?: string }).description ?? '', /opening hours, prices/, 'its description says when to use it');
  await until('the function output', () => conn.functionOutputs.length === 1, 10_000);
  const out = JSON.parse(conn.functionOutputs[0]!.output) as { results: Array<{ source: string; text: string; score: number }> };
  t.ok(Array.isArray(out.results), `the output is results, not an error: ${conn.functionOutputs[0]!.output.slice(0, 200)}`);
  t.ok(out.results.length >= 1, `${out.results.length} passage(s) came back`);
  t.equal(out.results[0]!.source, 'hours.md', 'with its source name');
  t.match(out.results[0]!.text, /We are open Monday to Friday from 8 am to 6 pm/, 'the top passage is the opening-hours chunk');
  t.notOk(out.results.some((r) => r.text.includes('Whitening')), 'the prices chunk scored below the floor');
  t.equal(embeddings.requests.length, queriesBefore + 1, 'the query was embedded once, on the account\'s own key');
  await until('the CDR', () => Boolean(realtimeCdrs(gw).at(-1)?.end_reason));
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.same(cdr.details.realtime?.toolCalls.map((c) => [c.name, c.ok]), [['kb_search', true]]);
  t.same(standIn.violations, [], 'every Realtime event the gateway sent was valid');
  t.same(embeddings.violations, [], 'every embeddings request was valid');
  const logs = gw.logs.join('\n');
  t.notOk(logs.includes(plantedKey), 'the planted key appears in no log line');
  t.notOk(logs.includes('Monday to Friday'), 'nor does the knowledge-base text');
});

t.test('the call ends while kb_search waits on a slow embeddings API: the lookup is aborted with the call, its request cancelled', async (t) => {
  const { gw, standIn, embeddings } = await gatewayWithFaq(t, 'search_timeout_ms = 30000');
  // The query's embedding would take 60 s; the caller hangs up after about 3 s.
  embeddings.delayAnswers(60_000);
  let asked = false;
  standIn.on('received', (conn, ev) => {
    if (ev.type === 'input_audio_buffer.append' && !asked) {
      asked = true;
      conn.callFunction('kb_search', JSON.stringify({ query: 'When are you open?' }));
    }
  });
  const started = Date.now();
  const run = await runSipp({ scenario: 'uac-invite-bye.xml', target: `127.0.0.1:${gw.port('udp')}`, transport: 'u1', service: AGENT_NUMBER, pauseMs: 3000, timeoutS: 40 });
  t.equal(run.code, 0, `SIPp reports the call successful${run.code === 0 ? '' : `\n${run.errors}`}`);
  t.equal(asked, true);
  await until('the embeddings request is abandoned', () => embeddings.abandoned === 1, 15_000);
  t.ok(Date.now() - started < 30_000, 'long before the slow answer or the budget: the call\'s close cancelled it');
  await until('the CDR', () => Boolean(realtimeCdrs(gw).at(-1)?.end_reason));
  const cdr = realtimeCdrs(gw).at(-1)!;
  t.equal(cdr.end_reason, 'remote-bye');
  t.notOk(cdr.details.realtime?.toolCalls.some((c) => c.ok), 'no tool call completed (the call ended first)');
  t.same(embeddings.violations, []);
});

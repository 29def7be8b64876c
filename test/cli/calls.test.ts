import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openProvisioning } from '../../src/app/open-app.js';
import type { TranscriptTurn } from '../../src/tenancy/model.js';
import { KalemSandbox } from '../helpers/kalem-cli.js';

/**
 * `kalem calls list|show|transcript` through the built binary. The CDRs and transcripts are
 * written in this process through the same composition root the daemon uses (openProvisioning →
 * CallRecordsService.storeTranscript), then read back by the CLI in a child process.
 */

const PLANTED = 'PLANTED-transcript-phrase-marzipan-93c2';

const turns: TranscriptTurn[] = [
  { role: 'agent', text: 'Hello, Acme support.', at: '2026-11-25T10:00:01.200Z' },
  { role: 'caller', text: `Please note ${PLANTED}`, at: '2026-11-25T10:00:04.000Z' },
  { role: 'agent', text: 'Of course, I will', at: '2026-11-25T10:00:08.000Z', truncated: true },
  { role: 'caller', text: 'evil \u001b[31mred\u001b[0m\nsecond line', at: '2026-11-25T10:00:10.000Z' },
  { role: 'dtmf', text: '1#', at: '2026-11-25T10:00:12.000Z' },
];

/** Writes CDRs (and one transcript) as the call path would, then closes the database. */
async function seed(k: KalemSandbox) {
  const app = await openProvisioning({ configPath: k.configPath, env: {}, logDestination: { write: () => undefined } });
  try {
    const acme = app.provisioning.account('acme');
    const agent = app.provisioning.agent('acme', 'support');
    const other = app.provisioning.createAccount({ name: 'other' });
    const otherAgent = app.provisioning.createAgent('other', { name: 'bot' });
    const cdr = (accountId: string, agentId: string, id: string, startedAt: string, endMs: number | null) => {
      app.callRecords.insert({ id, accountId, agentId, trunkId: 'trk_test', numberE164: '+14155550100', sipCallId: `${id}@carrier`, fromUri: 'sip:+15551234567@carrier.example', startedAt });
      if (endMs !== null) {
        app.callRecords.finish(accountId, id, {
          answeredAt: new Date(Date.parse(startedAt) + 800).toISOString(),
          endedAt: new Date(Date.parse(startedAt) + endMs).toISOString(),
          endReason: 'remote-bye',
          hangupBy: 'caller',
          details: { media: { received: 3250, sent: 3249 } },
        });
      }
    };
    cdr(acme.id, agent.id, 'call_withtext', '2026-11-25T10:00:00.000Z', 65_000);
    cdr(acme.id, agent.id, 'call_notext', '2026-11-25T09:00:00.000Z', 3_725_000);
    cdr(acme.id, agent.id, 'call_ongoing', '2026-11-25T11:00:00.000Z', null);
    cdr(other.id, otherAgent.id, 'call_otherco', '2026-11-25T10:30:00.000Z', 5_000);
    if (!app.callRecords.storeTranscript(acme.id, 'call_withtext', turns)) throw new Error('transcript not stored');
    app.callRecords.storeTranscript(other.id, 'call_otherco', [{ role: 'caller', text: 'other company', at: '2026-11-25T10:30:01.000Z' }]);
  } finally {
    app.close();
  }
}

t.test('kalem calls list, show and transcript', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic('acme', 'support');
  await seed(k);

  // list: a table, newest first, with durations formatted and the ongoing call marked '-'.
  const list = k.run(['calls', 'list', 'acme']);
  t.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+STARTED\s+NUMBER\s+DURATION\s+END_REASON\s+HANGUP_BY$/);
  t.same(lines.slice(1).map((l) => l.split(/\s+/)), [
    ['call_ongoing', '2026-11-25T11:00:00.000Z', '+14155550100', '-', '-', '-'],
    ['call_withtext', '2026-11-25T10:00:00.000Z', '+14155550100', '1:05', 'remote-bye', 'caller'],
    ['call_notext', '2026-11-25T09:00:00.000Z', '+14155550100', '1:02:05', 'remote-bye', 'caller'],
  ]);
  t.notMatch(list.stdout, /call_otherco/, 'another account\'s calls are not listed');
  t.same(k.run(['calls', 'list', 'acme', '--limit', '1']).stdout.trimEnd().split('\n').length, 2, '--limit 1: header and one row');
  const badLimit = k.run(['calls', 'list', 'acme', '--limit', '0']);
  t.equal(badLimit.code, 2, 'a bad limit is a usage error');
  t.match(badLimit.stderr, /expected a whole number of at least 1/);

  const listJson = JSON.parse(k.run(['--json', 'calls', 'list', 'acme']).stdout) as Array<Record<string, unknown>>;
  t.same(listJson.map((c) => [c.id, c.hasTranscript]), [['call_ongoing', false], ['call_withtext', true], ['call_notext', false]]);
  t.same(Object.keys(listJson[1]!).sort(), [
    'accountId', 'agentId', 'answeredAt', 'details', 'endReason', 'endedAt', 'fromUri', 'hangupBy', 'hasRecording', 'hasTranscript', 'id', 'numberE164', 'sipCallId', 'startedAt', 'trunkId',
  ]);

  // show: every field, details pretty-printed on their own lines.
  const show = k.run(['calls', 'show', 'acme', 'call_withtext']);
  t.equal(show.code, 0, show.stderr);
  for (const re of [
    /^id:\s+call_withtext$/m, /^agent:\s+agt_/m, /^trunk:\s+trk_test$/m, /^number:\s+\+14155550100$/m,
    /^from:\s+sip:\+15551234567@carrier\.example$/m, /^sip_call_id:\s+call_withtext@carrier$/m,
    /^started:\s+2026-11-25T10:00:00\.000Z$/m, /^answered:\s+2026-11-25T10:00:00\.800Z$/m, /^ended:\s+2026-11-25T10:01:05\.000Z$/m,
    /^duration:\s+1:05$/m, /^end_reason:\s+remote-bye$/m, /^hangup_by:\s+caller$/m, /^transcript:\s+yes/m,
    /^details:\n  \{\n    "media": \{\n      "received": 3250,\n      "sent": 3249\n    \}\n  \}$/m,
  ]) {
    t.match(show.stdout, re);
  }
  t.notOk(show.stdout.includes(PLANTED), 'show does not reveal transcript text');
  const showJson = JSON.parse(k.run(['--json', 'calls', 'show', 'acme', 'call_withtext']).stdout) as Record<string, unknown>;
  t.match(showJson, { id: 'call_withtext', trunkId: 'trk_test', hangupBy: 'caller', hasTranscript: true, details: { media: { received: 3250, sent: 3249 } } });
  t.same(showJson, listJson[1], 'show --json is the same record list --json gives');

  // transcript: one line per turn, (cut) on the truncated one, terminal escapes defused.
  const tr = k.run(['calls', 'transcript', 'acme', 'call_withtext']);
  t.equal(tr.code, 0, tr.stderr);
  t.same(tr.stdout.trimEnd().split('\n'), [
    '10:00:01  agent   Hello, Acme support.',
    `10:00:04  caller  Please note ${PLANTED}`,
    '10:00:08  agent   Of course, I will (cut)',
    '10:00:10  caller  evil \\u{1b}[31mred\\u{1b}[0m ⏎ second line',
    '10:00:12  dtmf    1#',
  ]);
  t.notOk(tr.stdout.includes('\u001b'), 'no raw escape character reaches the terminal');
  const trJson = JSON.parse(k.run(['--json', 'calls', 'transcript', 'acme', 'call_withtext']).stdout) as TranscriptTurn[];
  t.same(trJson, turns, '--json gives the exact turns');

  // Each read is audited; list and show are not; the audit row has no transcript text.
  const audit = JSON.parse(k.run(['--json', 'audit', 'list', '--account', 'acme']).stdout) as Array<{ action: string; target: string; actor: string; details: unknown }>;
  const reads = audit.filter((e) => e.action === 'call.transcript.read');
  t.equal(reads.length, 2, 'one audit row per transcript read (text and --json)');
  t.match(reads[0], { target: 'call_withtext', actor: /^cli:/, details: { turns: 5 } });
  t.equal(audit.filter((e) => e.action.startsWith('call.')).length, 2, 'list and show write no audit rows');

  // The phrase the CLI just printed is still nowhere in the database files.
  for (const f of readdirSync(join(k.dir, 'var'))) {
    t.notOk(readFileSync(join(k.dir, 'var', f)).includes(PLANTED), `phrase absent from ${f}`);
  }
  t.notOk(k.run(['--json', 'audit', 'list']).stdout.includes(PLANTED), 'and from the audit trail');
});

t.test('unknown calls, calls of other accounts, calls without a transcript', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic('acme', 'support');
  await seed(k);
  const cases: Array<[string[], number, RegExp]> = [
    [['calls', 'show', 'acme', 'call_nope'], 1, /^kalem: no call call_nope in account acme; list them with `kalem calls list`$/m],
    [['calls', 'transcript', 'acme', 'call_nope'], 1, /^kalem: no call call_nope in account acme/m],
    [['--json', 'calls', 'transcript', 'acme', 'call_nope'], 1, /no call call_nope in account acme/],
    // Another account's call id is "no such call", not "not yours".
    [['calls', 'show', 'acme', 'call_otherco'], 1, /no call call_otherco in account acme/],
    [['calls', 'transcript', 'acme', 'call_otherco'], 1, /no call call_otherco in account acme/],
    [['calls', 'transcript', 'acme', 'call_notext'], 1, /call call_notext in account acme has no stored transcript/],
    [['calls', 'list', 'nobody'], 1, /no account nobody/],
    [['calls', 'show', 'acme'], 2, /missing required argument 'call-id'/],
  ];
  for (const [args, code, message] of cases) {
    const r = k.run(args);
    t.equal(r.code, code, `exit code of kalem ${args.join(' ')}`);
    t.match(r.stderr, message, `message of kalem ${args.join(' ')}`);
    t.equal(r.stdout, '', `nothing on stdout for kalem ${args.join(' ')}`);
  }
  const audit = JSON.parse(k.run(['--json', 'audit', 'list']).stdout) as Array<{ action: string }>;
  t.equal(audit.filter((e) => e.action === 'call.transcript.read').length, 0, 'failed reads are not recorded as reads');
  // The other account reads its own transcript with its own key.
  const own = k.run(['calls', 'transcript', 'other', 'call_otherco']);
  t.equal(own.code, 0, own.stderr);
  t.equal(own.stdout, '10:30:01  caller  other company\n');
});

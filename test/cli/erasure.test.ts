import t from 'tap';
import { openProvisioning } from '../../src/app/open-app.js';
import type { TranscriptTurn } from '../../src/tenancy/model.js';
import { KalemSandbox } from '../helpers/kalem-cli.js';

/**
 * `kalem calls delete`, `kalem calls erase --caller [--all-accounts]` and `kalem account delete`
 * through the built binary: what each removes, what stays, the counts printed and audited, and
 * that neither the output's audit rows nor the error messages carry content or the number.
 */

const PLANTED = 'PLANTED-erasure-phrase-kumquat-5d1e';
const CALLER = 'sip:+15551234567@carrier.example';

async function seed(k: KalemSandbox): Promise<void> {
  const app = await openProvisioning({ configPath: k.configPath, env: {}, logDestination: { write: () => undefined } });
  try {
    const acme = app.provisioning.account('acme');
    const agent = app.provisioning.agent('acme', 'support');
    const other = app.provisioning.createAccount({ name: 'other' });
    const otherAgent = app.provisioning.createAgent('other', { name: 'bot' });
    const turns = (id: string): TranscriptTurn[] => [{ role: 'caller', text: `${PLANTED} ${id}`, at: '2026-11-25T10:00:01.000Z' }];
    const call = (accountId: string, agentId: string, id: string, fromUri: string): void => {
      const at = '2026-11-25T10:00:00.000Z';
      app.callRecords.insert({ id, accountId, agentId, trunkId: null, numberE164: '+14155550100', sipCallId: `${id}@carrier`, fromUri, startedAt: at });
      app.callRecords.finish(accountId, id, { answeredAt: at, endedAt: at, endReason: 'remote-bye', hangupBy: 'caller', details: {} });
      app.callRecords.storeTranscript(accountId, id, turns(id));
    };
    call(acme.id, agent.id, 'call_one', CALLER);
    call(acme.id, agent.id, 'call_two', 'sip:+15551234567@other.example;user=phone');
    call(acme.id, agent.id, 'call_else', 'sip:+15559990000@carrier.example');
    call(other.id, otherAgent.id, 'call_other', CALLER);
  } finally {
    app.close();
  }
}

t.test('calls delete, calls erase --caller, --all-accounts, account delete', async (t) => {
  const k = new KalemSandbox();
  t.teardown(() => k.cleanup());
  k.provisionBasic('acme', 'support');
  await seed(k);

  const shown = JSON.parse(k.run(['--json', 'calls', 'show', 'acme', 'call_one']).stdout) as { fromUri: string };
  t.equal(shown.fromUri, CALLER, 'the operator sees the caller (opened from its sealed form)');

  // One call.
  const del = k.run(['--json', 'calls', 'delete', 'acme', 'call_else']);
  t.equal(del.code, 0, del.stderr);
  t.match(JSON.parse(del.stdout), { account: 'acme', calls: 1, transcripts: 1, recordings: 0, callerFields: 1, walTruncated: true });
  t.equal(k.run(['calls', 'transcript', 'acme', 'call_else']).code, 1, 'its transcript is gone');
  t.match(k.run(['calls', 'show', 'acme', 'call_else']).stdout, /^from:\s+-$/m, 'its caller is gone; the CDR stays');
  const again = k.run(['calls', 'delete', 'acme', 'call_else']);
  t.equal(again.code, 0);
  t.match(again.stdout, /erased call call_else of account acme: 1 call\(s\), 0 transcript\(s\), 0 recording\(s\), 0 caller field\(s\) erased/, 'a second delete finds nothing left');
  t.match(k.run(['calls', 'delete', 'acme', 'call_other']).stderr, /no call call_other in account acme/, 'another account\'s call is not reachable');

  // One caller in one account.
  const erase = k.run(['calls', 'erase', 'acme', '--caller', '+1 555 123 4567']);
  t.equal(erase.code, 0, erase.stderr);
  t.match(erase.stdout, /^acme: 2 call\(s\), 2 transcript\(s\), 0 recording\(s\), 2 caller field\(s\) erased \(caller hash [0-9a-f]{16}…\)$/m);
  t.equal(k.run(['calls', 'transcript', 'other', 'call_other']).code, 0, 'the same caller in another account is untouched');

  // Every account.
  const all = k.run(['--json', 'calls', 'erase', '--all-accounts', '--caller', 'tel:+15551234567']);
  t.equal(all.code, 0, all.stderr);
  const allJson = JSON.parse(all.stdout) as { accounts: Array<{ account: string; calls: number; callerHash: string }>; totals: { calls: number } };
  t.same(allJson.accounts.map((a) => [a.account, a.calls]), [['acme', 0], ['other', 1]]);
  t.equal(k.run(['calls', 'transcript', 'other', 'call_other']).code, 1);

  // Bad input: a clear message, a usage exit code, nothing erased.
  for (const [args, re] of [
    [['calls', 'erase', 'acme', '--caller', 'hello'], /--caller takes a phone number/],
    [['calls', 'erase', '--caller', '+15551234567'], /name one account, or give --all-accounts/],
    [['calls', 'erase', 'acme', '--all-accounts', '--caller', '+15551234567'], /name one account, or give --all-accounts/],
    [['calls', 'erase', 'acme'], /required option '--caller <number>' not specified/],
  ] as Array<[string[], RegExp]>) {
    const r = k.run(args);
    t.equal(r.code, 2, `kalem ${args.join(' ')} is a usage error`);
    t.match(r.stderr, re);
  }

  // What is stored, as account show says it.
  const show = k.run(['account', 'show', 'acme']);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /^stored for this account:$/m);
  t.match(show.stdout, /^transcripts\s+until erased\s+sealed, a data key per call \(agents: support\)$/m);
  t.match(show.stdout, /^recordings\s+not stored\s+no agent records calls$/m);
  t.match(show.stdout, /^caller numbers\s+with the CDR \(until erased\)\s+keyed hash/m);
  t.match(JSON.parse(k.run(['--json', 'account', 'show', 'acme']).stdout), { name: 'acme', dataKept: [{ kind: 'transcripts', stored: true }] });

  // Usage, operator-wide, as CSV.
  const csv = k.run(['usage', '--all-accounts', '--from', '2026-11-01', '--to', '2026-11-30', '--csv']);
  t.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trimEnd().split('\r\n');
  t.match(lines[0], /^accountId,account,calls,billableSeconds,/);
  t.same(lines.slice(1).map((l) => l.split(',').slice(1, 3)), [['acme', '3'], ['other', '1']]);
  t.match(k.run(['usage', 'acme', '--from', 'soon']).stderr, /--from takes a date/);
  t.equal(k.run(['usage', 'acme', '--all-accounts']).code, 2);

  // The account.
  const gone = k.run(['--json', 'account', 'delete', 'acme', '--yes']);
  t.equal(gone.code, 0, gone.stderr);
  t.match(JSON.parse(gone.stdout), { account: 'acme', calls: 3, transcripts: 0, callerFields: 0, walTruncated: true });
  t.equal(k.run(['account', 'show', 'acme']).code, 1);

  const after = JSON.parse(k.run(['--json', 'usage', '--all-accounts', '--from', '2026-11-01', '--to', '2026-11-30']).stdout) as { accounts: Array<{ account: string | null; calls: number }> };
  t.same(after.accounts.map((a) => [a.account, a.calls]).sort(), [[null, 3], ['other', 1]].sort(), 'the deleted account\'s usage stays (shown by id)');

  const audit = k.run(['--json', 'audit', 'list']).stdout;
  const rows = JSON.parse(audit) as Array<{ action: string; target: string; details: Record<string, unknown> }>;
  t.same(
    rows.filter((r) => /erase|delete/.test(r.action)).map((r) => r.action).sort(),
    ['account.delete', 'account.erase', 'call.erase', 'call.erase', 'caller.erase', 'caller.erase', 'caller.erase'].sort(),
    'every erasure is audited',
  );
  t.match(rows.find((r) => r.action === 'caller.erase' && r.details['calls'] === 2), { target: /^[0-9a-f]{64}$/, details: { transcripts: 2, callerFields: 2 } });
  t.notOk(audit.includes(PLANTED) || audit.includes('5551234567'), 'the audit trail holds no content and no number');
});

import { Command, Option } from '../commander.js';
import { kalemError } from '../../core/errors.js';
import type { Account } from '../../tenancy/model.js';
import { globals, withProvisioning, withReader } from '../context.js';
import { printJson, printRecord, printTable, say } from '../output.js';
import { daysOrNone, limitOrNone, oneOfValues } from '../parse.js';

const row = (a: Account) => ({
  id: a.id,
  name: a.name,
  status: a.status,
  max_calls: a.maxConcurrentCalls,
  transcripts_days: a.retention.transcriptsDays,
  recordings_days: a.retention.recordingsDays,
  cdr_days: a.retention.cdrDays,
  created: a.createdAt,
});

function retentionOptions(cmd: Command): Command {
  return cmd
    .option('--transcripts-days <n|none>', 'keep transcripts this many days (0: never store them; none: until erased)', daysOrNone)
    .option('--recordings-days <n|none>', 'keep recordings this many days (0: never store them; none: until erased)', daysOrNone)
    .option('--cdr-days <n|none>', 'keep call records this many days (0: no caller stored, CDR removed after the call; none: until erased)', daysOrNone);
}

function retentionPatch(o: { transcriptsDays?: number | null; recordingsDays?: number | null; cdrDays?: number | null }) {
  const r: { transcriptsDays?: number | null; recordingsDays?: number | null; cdrDays?: number | null } = {};
  if (o.transcriptsDays !== undefined) r.transcriptsDays = o.transcriptsDays;
  if (o.recordingsDays !== undefined) r.recordingsDays = o.recordingsDays;
  if (o.cdrDays !== undefined) r.cdrDays = o.cdrDays;
  return r;
}

export function accountCommand(): Command {
  const cmd = new Command('account').description('tenant accounts');

  retentionOptions(
    cmd
      .command('create')
      .description('create an account (it gets its own encryption key)')
      .argument('<name>', 'account name')
      .option('--max-calls <n|none>', 'most concurrent calls for this account', limitOrNone),
  ).action(async (name: string, o, c: Command) => {
    const a = await withProvisioning(c, (app) =>
      app.provisioning.createAccount({ name, maxConcurrentCalls: o.maxCalls ?? null, retention: retentionPatch(o) }),
    );
    if (globals(c).json) printJson(a);
    else say(`created account ${a.name} (${a.id})`);
  });

  cmd
    .command('list')
    .description('list accounts')
    .action(async (_o, c: Command) => {
      const list = await withReader(c, (app) => app.provisioning.listAccounts());
      if (globals(c).json) printJson(list);
      else printTable(list.map(row), ['id', 'name', 'status', 'max_calls', 'created']);
    });

  cmd
    .command('show')
    .description('show one account, and what is stored for it and for how long')
    .argument('<account>', 'account id or name')
    .action(async (ref: string, _o, c: Command) => {
      const { dataKept } = await import('../../privacy/data-inventory.js');
      const { a, kept } = await withReader(c, (app) => {
        const a = app.provisioning.account(ref);
        return { a, kept: dataKept(a, app.provisioning.listAgents(a.id)) };
      });
      if (globals(c).json) {
        printJson({ ...a, dataKept: kept });
        return;
      }
      printRecord(row(a));
      say('stored for this account:');
      printTable(kept.map((k) => ({ data: k.kind, kept: k.kept, form: k.form })), ['data', 'kept', 'form']);
    });

  retentionOptions(
    cmd
      .command('update')
      .description('change an account')
      .argument('<account>', 'account id or name')
      .option('--name <name>', 'new name')
      .addOption(new Option('--status <status>', 'active or disabled (disabled accounts get 403)').argParser(oneOfValues(['active', 'disabled'] as const)))
      .option('--max-calls <n|none>', 'most concurrent calls for this account', limitOrNone),
  ).action(async (ref: string, o, c: Command) => {
    const patch: Parameters<import('../../tenancy/provisioning-service.js').ProvisioningService['updateAccount']>[1] = {};
    if (o.name !== undefined) patch.name = o.name;
    if (o.status !== undefined) patch.status = o.status;
    if (o.maxCalls !== undefined) patch.maxConcurrentCalls = o.maxCalls;
    const retention = retentionPatch(o);
    if (Object.keys(retention).length > 0) patch.retention = retention;
    if (Object.keys(patch).length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'nothing to change; see `kalem account update --help`');
    const a = await withProvisioning(c, (app) => app.provisioning.updateAccount(ref, patch));
    if (globals(c).json) printJson(a);
    else say(`updated account ${a.name} (${a.id})`);
  });

  cmd
    .command('delete')
    .description('erase every call\'s content, then delete the account, its key and everything it owns (usage rows and the audit trail stay)')
    .argument('<account>', 'account id or name')
    .option('--yes', 'confirm: this cannot be undone')
    .action(async (ref: string, o: { yes?: boolean }, c: Command) => {
      if (!o.yes) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `deleting an account erases all its data; add --yes to confirm`);
      const r = await withProvisioning(c, async (app) => {
        // Its vectors live outside the rows the erasure cascades to (a vec0 table, a Qdrant collection).
        const kb = await (await import('./kb.js')).openKb(app);
        try {
          await kb.knowledge.dropAccount(app.provisioning.account(ref).id);
        } finally {
          await kb.close();
        }
        return app.erasure.deleteAccount(ref);
      });
      if (globals(c).json) printJson(r);
      else say(`deleted account ${r.account} (${r.accountId}); erased ${r.transcripts} transcript(s), ${r.recordings} recording(s), ${r.callerFields} caller field(s) of ${r.calls} call(s); its key is destroyed`);
    });

  return cmd;
}

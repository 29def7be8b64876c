import { Command } from '../commander.js';
import { globals, withReader } from '../context.js';
import { printJson, printTable } from '../output.js';
import { positiveInt } from '../parse.js';

export function auditCommand(): Command {
  const cmd = new Command('audit').description('the audit trail of administrative changes');
  cmd
    .command('list')
    .description('newest first')
    .option('--account <account>', 'only this account (id or name)')
    .option('--limit <n>', 'how many entries', positiveInt, 50)
    .action(async (o: { account?: string; limit: number }, c: Command) => {
      const list = await withReader(c, (app) => app.provisioning.listAudit(o.account, o.limit));
      if (globals(c).json) printJson(list);
      else
        printTable(
          list.map((e) => ({ at: e.at, actor: e.actor, account: e.accountId, action: e.action, target: e.target, details: JSON.stringify(e.details) })),
          ['at', 'actor', 'account', 'action', 'target', 'details'],
        );
    });
  return cmd;
}

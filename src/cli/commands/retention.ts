import { Command } from '../commander.js';
import { globals, withProvisioning } from '../context.js';
import { printJson, printTable, say } from '../output.js';

export function retentionCommand(): Command {
  const cmd = new Command('retention').description('retention windows: remove transcripts, recordings and CDRs older than each account keeps them');

  cmd
    .command('run')
    .description('sweep now (the daemon also sweeps on its own every 10 minutes); audited per account with counts')
    .option('--account <account>', 'only this account (id or name)')
    .action(async (o: { account?: string }, c: Command) => {
      const r = await withProvisioning(c, (app) => app.retention.runAll(o.account));
      if (globals(c).json) {
        printJson(r);
        return;
      }
      printTable(
        r.accounts.map((a) => ({ account: a.account, transcripts: a.transcripts, recordings: a.recordings, cdrs: a.cdrs })),
        ['account', 'transcripts', 'recordings', 'cdrs'],
      );
      say(`removed ${r.totals.transcripts} transcript(s), ${r.totals.recordings} recording(s), ${r.totals.cdrs} CDR(s)`);
    });

  return cmd;
}

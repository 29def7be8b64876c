import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { kalemError } from '../../core/errors.js';
import { globals, withProvisioning, withReader } from '../context.js';
import { printJson, printTable, say } from '../output.js';

/** One number per line; blank lines and `#` comments ignored. */
function readNumberFile(file: string): string[] {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l.length > 0);
}

export function numberCommand(): Command {
  const cmd = new Command('number').description('phone numbers (DIDs) and the agent that answers each');

  cmd
    .command('add')
    .description('add numbers to an account, answered by one agent (all or nothing)')
    .argument('<account>', 'account id or name')
    .argument('<agent>', 'agent id or name')
    .argument('[numbers...]', 'numbers in E.164 or international form, e.g. "+1 (415) 555-0100"')
    .option('--from-file <file>', 'read numbers from a file, one per line ("-" for stdin)')
    .option('--country <CC>', 'ISO country for numbers written in national form (e.g. GB)')
    .action(async (account: string, agent: string, numbers: string[], o: { fromFile?: string; country?: string }, c: Command) => {
      const all = [...numbers, ...(o.fromFile ? readNumberFile(o.fromFile) : [])];
      if (all.length === 0) throw kalemError('KALEM_ERR_INVALID_ARGUMENT', 'give numbers as arguments or with --from-file');
      if (o.country !== undefined && !/^[A-Z]{2}$/.test(o.country)) {
        throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `--country takes a two-letter ISO code such as US or GB (got "${o.country}")`);
      }
      const added = await withProvisioning(c, (app) => app.provisioning.addNumbers(account, agent, all, o.country));
      if (globals(c).json) printJson(added);
      else if (added.length === 1) say(`added ${added[0]!.e164}`);
      else say(`added ${added.length} numbers`);
    });

  cmd
    .command('list')
    .description('list an account\'s numbers')
    .argument('<account>', 'account id or name')
    .action(async (account: string, _o, c: Command) => {
      const list = await withReader(c, (app) => {
        const agents = new Map(app.provisioning.listAgents(account).map((a) => [a.id, a.name]));
        return app.provisioning.listNumbers(account).map((n) => ({ ...n, agentName: agents.get(n.agentId) ?? null }));
      });
      if (globals(c).json) printJson(list);
      else printTable(list.map((n) => ({ number: n.e164, agent: n.agentName, agent_id: n.agentId, added: n.createdAt })), ['number', 'agent', 'agent_id', 'added']);
    });

  cmd
    .command('remove')
    .description('remove a number from an account')
    .argument('<account>', 'account id or name')
    .argument('<number>', 'the number')
    .action(async (account: string, number: string, _o, c: Command) => {
      await withProvisioning(c, (app) => app.provisioning.removeNumber(account, number));
      say(`removed ${number}`);
    });

  return cmd;
}

import { readFileSync } from 'node:fs';
import { Command } from '../commander.js';
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

/** A realtime agent's calls need the account's OpenAI key: say so now, not at the first call. */
function warnMissing(account: string, agent: string, missing: string[]): void {
  for (const name of missing) {
    process.stderr.write(
      `kalem: warning: agent ${agent} is a realtime agent but account ${account} has no "${name}" secret: its calls will be refused (503) until \`kalem secret set ${account} ${name}\`\n`,
    );
  }
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
      const { added, missing } = await withProvisioning(c, (app) => ({
        added: app.provisioning.addNumbers(account, agent, all, o.country),
        missing: app.provisioning.missingSecretsForCalls(account, agent),
      }));
      if (globals(c).json) printJson(added);
      else if (added.length === 1) say(`added ${added[0]!.e164}`);
      else say(`added ${added.length} numbers`);
      warnMissing(account, agent, missing);
    });

  cmd
    .command('move')
    .description('give numbers of an account to another of its agents (all or nothing; calls in progress keep their agent)')
    .argument('<account>', 'account id or name')
    .argument('<agent>', 'the agent that answers them from now on')
    .argument('<numbers...>', 'the numbers')
    .option('--country <CC>', 'ISO country for numbers written in national form (e.g. GB)')
    .action(async (account: string, agent: string, numbers: string[], o: { country?: string }, c: Command) => {
      const { moved, missing } = await withProvisioning(c, (app) => ({
        moved: app.provisioning.moveNumbers(account, numbers, agent, o.country),
        missing: app.provisioning.missingSecretsForCalls(account, agent),
      }));
      if (globals(c).json) printJson(moved);
      else say(moved.length === 0 ? `nothing to move: agent ${agent} already answers them` : `moved ${moved.map((n) => n.e164).join(', ')} to ${agent}`);
      warnMissing(account, agent, missing);
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
    .option('--country <CC>', 'ISO country for a number written in national form (e.g. GB)')
    .action(async (account: string, number: string, o: { country?: string }, c: Command) => {
      await withProvisioning(c, (app) => app.provisioning.removeNumber(account, number, o.country));
      say(`removed ${number}`);
    });

  return cmd;
}

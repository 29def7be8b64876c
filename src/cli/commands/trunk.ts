import { Command } from 'commander';
import { globals, withProvisioning, withReader } from '../context.js';
import { printJson, printTable, say } from '../output.js';
import { collect, positiveInt } from '../parse.js';
import { readSecret } from '../secret-input.js';

export function trunkCommand(): Command {
  const cmd = new Command('trunk').description('carrier SIP trunks allowed to send calls to an account');

  cmd
    .command('add')
    .description('allow a carrier trunk: by source address (--cidr) and/or digest credentials')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'trunk name')
    .option('--cidr <cidr>', 'source address or range, IPv4 or IPv6 (repeatable)', collect, [])
    .option('--digest-username <user>', 'require digest authentication; the password is read from stdin or a prompt')
    .option('--max-calls <n>', 'most concurrent calls on this trunk', positiveInt)
    .action(async (account: string, name: string, o: { cidr: string[]; digestUsername?: string; maxCalls?: number }, c: Command) => {
      const password = o.digestUsername !== undefined ? await readSecret(`digest password for ${o.digestUsername}: `) : null;
      const t = await withProvisioning(c, (app) =>
        app.provisioning.addTrunk(account, {
          name,
          cidrs: o.cidr,
          digestUsername: o.digestUsername ?? null,
          digestPassword: password,
          maxConcurrentCalls: o.maxCalls ?? null,
        }),
      );
      if (globals(c).json) printJson(t);
      else say(`added trunk ${t.name} (${t.id})`);
    });

  cmd
    .command('list')
    .description('list an account\'s trunks')
    .argument('<account>', 'account id or name')
    .action(async (account: string, _o, c: Command) => {
      const list = await withReader(c, (app) => app.provisioning.listTrunks(account));
      if (globals(c).json) printJson(list);
      else
        printTable(
          list.map((t) => ({ id: t.id, name: t.name, cidrs: t.cidrs.join(','), digest_user: t.digestUsername, max_calls: t.maxConcurrentCalls })),
          ['id', 'name', 'cidrs', 'digest_user', 'max_calls'],
        );
    });

  cmd
    .command('remove')
    .description('remove a trunk')
    .argument('<account>', 'account id or name')
    .argument('<trunk>', 'trunk id or name')
    .action(async (account: string, trunk: string, _o, c: Command) => {
      await withProvisioning(c, (app) => app.provisioning.removeTrunk(account, trunk));
      say(`removed trunk ${trunk}`);
    });

  return cmd;
}

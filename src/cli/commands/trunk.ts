import { Command } from '../commander.js';
import { globals, withProvisioning, withReader } from '../context.js';
import { printJson, printTable, say } from '../output.js';
import { collect, limitOrNone, positiveInt } from '../parse.js';
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
    .option('--allow-any-source', 'allow 0.0.0.0/0 or ::/0 (every address on the internet)')
    .action(async (account: string, name: string, o: { cidr: string[]; digestUsername?: string; maxCalls?: number; allowAnySource?: boolean }, c: Command) => {
      const password = o.digestUsername !== undefined ? await readSecret(`digest password for ${o.digestUsername}: `) : null;
      const t = await withProvisioning(c, (app) =>
        app.provisioning.addTrunk(account, {
          name,
          cidrs: o.cidr,
          digestUsername: o.digestUsername ?? null,
          digestPassword: password,
          maxConcurrentCalls: o.maxCalls ?? null,
          allowAnySource: o.allowAnySource === true,
        }),
      );
      if (globals(c).json) printJson(t);
      else say(`added trunk ${t.name} (${t.id})`);
    });

  cmd
    .command('update')
    .description('change a trunk in place: its CIDRs, call limit, digest username or password (one transaction)')
    .argument('<account>', 'account id or name')
    .argument('<trunk>', 'trunk id or name')
    .option('--cidr <cidr>', 'replace the CIDR list with these (repeatable)', collect)
    .option('--add-cidr <cidr>', 'add a CIDR (repeatable)', collect)
    .option('--remove-cidr <cidr>', 'remove a CIDR (repeatable)', collect)
    .option('--allow-any-source', 'allow 0.0.0.0/0 or ::/0 (every address on the internet)')
    .option('--max-calls <n|none>', 'most concurrent calls on this trunk', limitOrNone)
    .option('--digest-username <user>', 'new digest username')
    .option('--digest-password', 'set a new digest password, read from stdin or a prompt (swapped atomically; see README)')
    .action(
      async (
        account: string,
        trunk: string,
        o: { cidr?: string[]; addCidr?: string[]; removeCidr?: string[]; allowAnySource?: boolean; maxCalls?: number | null; digestUsername?: string; digestPassword?: boolean },
        c: Command,
      ) => {
        const password = o.digestPassword ? await readSecret('new digest password: ') : undefined;
        const t = await withProvisioning(c, (app) =>
          app.provisioning.updateTrunk(account, trunk, {
            ...(o.cidr ? { cidrs: o.cidr } : {}),
            ...(o.addCidr ? { addCidrs: o.addCidr } : {}),
            ...(o.removeCidr ? { removeCidrs: o.removeCidr } : {}),
            allowAnySource: o.allowAnySource === true,
            ...(o.maxCalls !== undefined ? { maxConcurrentCalls: o.maxCalls } : {}),
            ...(o.digestUsername !== undefined ? { digestUsername: o.digestUsername } : {}),
            ...(password ? { digestPassword: password } : {}),
          }),
        );
        if (globals(c).json) printJson(t);
        else say(`updated trunk ${t.name} (${t.id}): cidrs ${t.cidrs.join(',') || '-'}, digest user ${t.digestUsername ?? '-'}, max calls ${t.maxConcurrentCalls ?? '-'}`);
      },
    );

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

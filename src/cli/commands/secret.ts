import { Command } from '../commander.js';
import { kalemError } from '../../core/errors.js';
import { globals, withProvisioning, withReader } from '../context.js';
import { printJson, printTable, say } from '../output.js';
import { readSecret } from '../secret-input.js';

export function secretCommand(): Command {
  const cmd = new Command('secret').description(
    'an account\'s own credentials (openai, twilio, stripe, webhook signing), sealed with the account key; values are read from stdin, never from arguments',
  );

  cmd
    .command('set')
    .description('store a new secret (value from stdin or a prompt that does not echo)')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'secret name, e.g. openai')
    .action(async (account: string, name: string, _o, c: Command) => {
      const value = await readSecret(`value of ${name}: `);
      const info = await withProvisioning(c, (app) => app.provisioning.setSecret(account, name, value));
      say(`stored ${info.name} version ${info.version}`);
    });

  cmd
    .command('rotate')
    .description('replace a secret with a new value (old versions are erased)')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'secret name')
    .action(async (account: string, name: string, _o, c: Command) => {
      const value = await readSecret(`new value of ${name}: `);
      const info = await withProvisioning(c, (app) => app.provisioning.rotateSecret(account, name, value));
      say(`rotated ${info.name} to version ${info.version}`);
    });

  cmd
    .command('list')
    .description('list secret names, versions and dates (never values)')
    .argument('<account>', 'account id or name')
    .action(async (account: string, _o, c: Command) => {
      const list = await withReader(c, (app) => app.provisioning.listSecrets(account));
      if (globals(c).json) printJson(list.map(({ name, version, createdAt }) => ({ name, version, createdAt })));
      else printTable(list.map((s) => ({ name: s.name, version: s.version, set_at: s.createdAt })), ['name', 'version', 'set_at']);
    });

  cmd
    .command('test')
    .description('check a stored secret against its service (openai: GET /v1/models at [realtime] base_url); prints the outcome, never the value')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'secret name (openai)')
    .action(async (account: string, name: string, _o, c: Command) => {
      if (name !== 'openai') throw kalemError('KALEM_ERR_INVALID_ARGUMENT', `only the openai secret can be tested (got "${name}")`);
      const { checkOpenAiKey } = await import('../../app/openai-key-check.js');
      const result = await withProvisioning(c, async (app) => {
        const a = app.provisioning.account(account);
        const key = app.provisioning.openSecret(a.id, 'openai');
        try {
          return await checkOpenAiKey(key, { realtimeBaseUrl: app.config.realtime.base_url, authScheme: app.config.realtime.auth_scheme });
        } finally {
          app.keyring.wipe(key);
        }
      });
      if (globals(c).json) printJson(result);
      else if (result.ok) say(`openai key of ${account}: accepted by ${result.url} (${result.models} models listed)`);
      else say(`openai key of ${account}: REFUSED by ${result.url}: ${result.status ? `HTTP ${result.status}` : 'no answer'}${result.code ? ` (${result.code})` : ''}`);
      if (!result.ok) process.exitCode = 1;
    });

  cmd
    .command('delete')
    .description('erase a secret, every version')
    .argument('<account>', 'account id or name')
    .argument('<name>', 'secret name')
    .action(async (account: string, name: string, _o, c: Command) => {
      await withProvisioning(c, (app) => app.provisioning.deleteSecret(account, name));
      say(`deleted ${name}`);
    });

  return cmd;
}

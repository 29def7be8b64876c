import { Command } from '../commander.js';
import { withConfig, withProvisioning } from '../context.js';
import { say } from '../output.js';

export function keysCommand(): Command {
  const cmd = new Command('keys').description('the master key that wraps every account key');

  cmd
    .command('init')
    .description('create a new random master key file (mode 0600); never overwrites')
    .option('--key-file <file>', 'where to write it (default: [keys] master_key_file)')
    .action(async (o: { keyFile?: string }, c: Command) => {
      const { createMasterKeyFile } = await import('../../crypto/master-key.js');
      const path = o.keyFile ?? (await withConfig(c, (app) => app.config.keys.master_key_file));
      createMasterKeyFile(path);
      say(`created master key ${path} (mode 0600). Back it up: without it no sealed secret can be opened.`);
    });

  cmd
    .command('rotate-master')
    .description('re-wrap every account key under a new master key, in one verified transaction')
    .requiredOption('--new-key-file <file>', 'the new master key (create it with `kalem keys init --key-file F`)')
    .action(async (o: { newKeyFile: string }, c: Command) => {
      const { rotateMasterKey } = await import('../../app/master-key-rotation.js');
      const { Keyring } = await import('../../crypto/keyring.js');
      const { readMasterKey } = await import('../../crypto/master-key.js');
      const { sodiumReady } = await import('../../crypto/sodium.js');
      const sodium = await sodiumReady();
      const newKey = readMasterKey({ file: o.newKeyFile });
      const newKeyring = new Keyring(sodium, newKey);
      newKey.fill(0);
      const result = await withProvisioning(c, (app) =>
        rotateMasterKey(app.store, app.keyring, newKeyring, {
          actor: app.config.audit.actor ?? 'cli',
          at: new Date(app.clock.now()).toISOString(),
        }),
      );
      say(
        `re-wrapped ${result.accounts} account key(s) under ${o.newKeyFile}. ` +
          'Now make it the master key: replace the old key file with it (or point [keys] master_key_file at it) and restart kalem.',
      );
    });

  return cmd;
}

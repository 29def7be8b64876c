import { Command } from 'commander';
import { globals, withConfig } from '../context.js';
import { printJson, say } from '../output.js';

export function configCommand(): Command {
  const cmd = new Command('config').description('the configuration file');
  cmd
    .command('check')
    .description('load and validate the config; print the effective values')
    .action(async (_o, c: Command) => {
      await withConfig(c, (app) => {
        if (globals(c).json) printJson(app.config);
        else say(`config ${app.configPath ?? '(defaults: no file)'} is valid`);
      });
    });
  cmd
    .command('example')
    .description('print a commented config file with every key at its default')
    .action(async () => {
      const { renderExampleConfig } = await import('../../config/example.js');
      process.stdout.write(renderExampleConfig());
    });
  return cmd;
}

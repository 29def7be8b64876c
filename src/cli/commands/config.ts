import { Command } from 'commander';
import { renderExampleConfig } from '../../config/example.js';
import { globals, withConfig } from '../context.js';
import { printJson, say } from '../output.js';

export function configCommand(): Command {
  const cmd = new Command('config').description('the configuration file');
  cmd
    .command('check')
    .description('load and validate the config; print the effective values')
    .action((_o, c: Command) => {
      withConfig(c, (app) => {
        if (globals(c).json) printJson(app.config);
        else say(`config ${app.configPath ?? '(defaults: no file)'} is valid`);
      });
    });
  cmd
    .command('example')
    .description('print a commented config file with every key at its default')
    .action(() => {
      process.stdout.write(renderExampleConfig());
    });
  return cmd;
}

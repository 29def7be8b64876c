import { Command } from '../commander.js';
import { globals, withConfig } from '../context.js';
import { printJson, say } from '../output.js';

export function configCommand(): Command {
  const cmd = new Command('config').description('the configuration file');
  cmd
    .command('check')
    .description('load and validate the config (types, ranges and cross-checks, as serve does); print the effective values')
    .action(async (_o, c: Command) => {
      await withConfig(c, (app) => {
        if (globals(c).json) {
          printJson({ configPath: app.configPath, config: app.config });
          return;
        }
        say(
          app.configPath === null
            ? '# no config file found: these are the built-in defaults'
            : `# ${app.configPath} is valid. Effective values (defaults filled in, relative paths resolved against its directory):`,
        );
        process.stdout.write(renderEffective(app.config as unknown as Record<string, unknown>));
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

/** The effective config as TOML: one section per table, unset optional keys as comments. */
function renderEffective(config: Record<string, unknown>, path: string[] = []): string {
  let out = '';
  const tables: Array<[string, Record<string, unknown>]> = [];
  if (path.length > 0) out += `\n[${path.join('.')}]\n`;
  for (const [k, v] of Object.entries(config)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) tables.push([k, v as Record<string, unknown>]);
    else if (v === null) out += `# ${k} (not set)\n`;
    else out += `${k} = ${JSON.stringify(v)}\n`;
  }
  for (const [k, v] of tables) out += renderEffective(v, [...path, k]);
  return out;
}

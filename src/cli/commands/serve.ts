import { Command } from 'commander';
import { runDaemon } from '../../app/daemon.js';
import { globals } from '../context.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway daemon in the foreground (systemd runs this)')
    .action(async (_o, c: Command) => {
      process.exitCode = await runDaemon({ configPath: globals(c).config });
    });
}

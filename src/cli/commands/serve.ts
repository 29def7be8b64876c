import { Command } from '../commander.js';
import { globals } from '../context.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway daemon in the foreground (systemd runs this)')
    .action(async (_o, c: Command) => {
      // The daemon (SIP engines, drachtio-srf, openai, prom-client, the HTTP API) loads only here.
      const { runDaemon } = await import('../../app/daemon.js');
      process.exitCode = await runDaemon({ configPath: globals(c).config });
    });
}

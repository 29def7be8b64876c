import { Command, CommanderError } from 'commander';
import { KalemError } from '../core/errors.js';
import { accountCommand } from './commands/account.js';
import { agentCommand } from './commands/agent.js';
import { auditCommand } from './commands/audit.js';
import { callsCommand } from './commands/calls.js';
import { configCommand } from './commands/config.js';
import { doctorCommand } from './commands/doctor.js';
import { dbCommand } from './commands/db.js';
import { kbCommand } from './commands/kb.js';
import { keysCommand } from './commands/keys.js';
import { numberCommand } from './commands/number.js';
import { secretCommand } from './commands/secret.js';
import { serveCommand } from './commands/serve.js';
import { trunkCommand } from './commands/trunk.js';
import { tokenCommand } from './commands/token.js';
import { retentionCommand } from './commands/retention.js';
import { usageCommand } from './commands/usage.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('kalem')
    .description('Kalem Gateway: SIP trunks in, OpenAI Realtime agents out, one tenant key at a time')
    .version(process.env.npm_package_version ?? '0.1.0')
    .option('-c, --config <file>', 'config file (default: $KALEM_CONFIG or /etc/kalem/kalem.toml)')
    .option('--json', 'machine-readable output for read commands')
    .showHelpAfterError('(run with --help for usage)');
  for (const sub of [
    serveCommand(),
    accountCommand(),
    agentCommand(),
    numberCommand(),
    trunkCommand(),
    secretCommand(),
    keysCommand(),
    dbCommand(),
    configCommand(),
    doctorCommand(),
    auditCommand(),
    callsCommand(),
    tokenCommand(),
    retentionCommand(),
    usageCommand(),
    kbCommand(),
  ]) {
    program.addCommand(sub);
  }
  // Every (sub)command reports usage errors through one place, so exit codes stay consistent.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 ok, 2 usage errors, 1 other failures. Errors are
 * printed as one line saying what to do; an unexpected error prints its message only (never an
 * object dump that could hold a secret) and the stack only with KALEM_DEBUG=1.
 */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
      // commander already printed its message to stderr.
      return EXIT_USAGE;
    }
    if (err instanceof KalemError) {
      process.stderr.write(`kalem: ${err.message}\n`);
      return err.kind === 'usage' ? EXIT_USAGE : EXIT_FAILURE;
    }
    const message = err instanceof Error ? err.message : 'unknown error';
    process.stderr.write(`kalem: internal error: ${message}\n`);
    if (process.env.KALEM_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return EXIT_FAILURE;
  }
}

/**
 * The `kalem` command tree.
 *
 * REGISTRATIONS STAY CHEAP. Every run of `kalem` loads this file and the module of the command
 * it runs (`--help` or a typo loads every command module, see COMMANDS), so a command module may
 * import only: ../commander.js (commander itself, loaded through require), ../parse.js,
 * ../output.js, ../context.js, core/errors.js, and `import type` of anything.
 * Whatever an action needs beyond that is loaded when the action runs:
 *
 *   .action(async (account: string, o, c: Command) => {
 *     const { doTheThing } = await import('../../some/heavy-module.js');   // here, not at the top
 *     const result = await withProvisioning(c, (app) => doTheThing(app, account));
 *     ...
 *   });
 *
 * The helpers of ../context.js (withReader, withProvisioning, withConfig, withStore) already load
 * the application (config, SQLite, libsodium) lazily. `kalem serve` imports the daemon (SIP
 * engines, drachtio-srf, openai, prom-client, fastify) inside its action. A new command is one
 * line in COMMANDS; test/cli/lazy-load.test.ts fails if
 * `kalem --help` or `kalem number list` loads a heavy package, and docs/BENCHMARKS.md has the
 * start-up figures (`kalem --help` went from 0.8 s of CPU to 0.2 s when this was done).
 */
import { Command, CommanderError } from './commander.js';
import { KalemError } from '../core/errors.js';
import { NULLABLE_PARSERS } from './parse.js';
import { printable } from './output.js';

/**
 * The commands, in the order `kalem --help` lists them. Each module is imported only when its
 * command may run: `kalem number list` loads the number module alone; help, a typo or no command
 * at all load every one (commander needs them all to list them or to suggest the right name).
 */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Command>]> = [
  ['serve', async () => (await import('./commands/serve.js')).serveCommand()],
  ['account', async () => (await import('./commands/account.js')).accountCommand()],
  ['agent', async () => (await import('./commands/agent.js')).agentCommand()],
  ['number', async () => (await import('./commands/number.js')).numberCommand()],
  ['trunk', async () => (await import('./commands/trunk.js')).trunkCommand()],
  ['secret', async () => (await import('./commands/secret.js')).secretCommand()],
  ['keys', async () => (await import('./commands/keys.js')).keysCommand()],
  ['db', async () => (await import('./commands/db.js')).dbCommand()],
  ['config', async () => (await import('./commands/config.js')).configCommand()],
  ['doctor', async () => (await import('./commands/doctor.js')).doctorCommand()],
  ['audit', async () => (await import('./commands/audit.js')).auditCommand()],
  ['calls', async () => (await import('./commands/calls.js')).callsCommand()],
  ['token', async () => (await import('./commands/token.js')).tokenCommand()],
  ['retention', async () => (await import('./commands/retention.js')).retentionCommand()],
  ['usage', async () => (await import('./commands/usage.js')).usageCommand()],
  ['kb', async () => (await import('./commands/kb.js')).kbCommand()],
];

/** The program's own options that take a value: their value is not the command's name. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['-c', '--config']);

/**
 * The command a command line names (`kalem -c x.toml --json number list` → number), or undefined
 * when it names none: only options, `help`, or a word that is no command.
 */
export function commandNamed(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return COMMANDS.some(([name]) => name === a) ? a : undefined;
  }
  return undefined;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The program, with the command `argv` names, or with every command (see COMMANDS). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('kalem')
    .description('Kalem Gateway: SIP trunks in, OpenAI Realtime agents out, one tenant key at a time')
    .version(process.env.npm_package_version ?? '0.1.0')
    .option('-c, --config <file>', 'config file (default: $KALEM_CONFIG or /etc/kalem/kalem.toml)')
    .option('--json', 'machine-readable output for read commands')
    .showHelpAfterError('(run with --help for usage)');
  const named = commandNamed(argv.slice(2));
  const wanted = named === undefined ? COMMANDS : COMMANDS.filter(([name]) => name === named);
  for (const sub of await Promise.all(wanted.map(([, load]) => load()))) program.addCommand(sub);
  program.hook('preAction', (_program, action) => {
    for (const opt of action.options) {
      const key = opt.attributeName();
      if (NULLABLE_PARSERS.has(opt.parseArg) && action.getOptionValue(key) === '') action.setOptionValue(key, null);
    }
  });
  // Every (sub)command reports usage errors through one place, so exit codes stay consistent.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 ok, 2 usage errors (a missing subcommand included),
 * 1 other failures. Errors are printed as one line saying what to do, or with `--json` as one
 * JSON object `{"error":{"code","message"}}` (both on stderr: stdout carries only results). An
 * unexpected error prints its message only (never an object dump that could hold a secret) and
 * the stack only with KALEM_DEBUG=1. A closed stdout (`kalem calls list acme | head`) ends the
 * command quietly.
 */
export async function runCli(argv: string[]): Promise<number> {
  const json = argv.slice(2).includes('--json');
  const program = await buildProgram(argv);
  let usage = '';
  if (json) {
    // commander's own messages become the JSON error below.
    const quiet = (cmd: Command): void => {
      cmd.configureOutput({ outputError: (text) => (usage += text) }).showHelpAfterError(false);
      cmd.commands.forEach(quiet);
    };
    quiet(program);
  }
  endQuietlyOnClosedStdout();
  const fail = (code: string, message: string, exit: number): number => {
    process.stderr.write(json ? JSON.stringify({ error: { code, message } }) + '\n' : `kalem: ${printable(message)}\n`);
    return exit;
  };
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; help shown because a subcommand is missing is a usage error.
      if (err.exitCode === 0) return EXIT_OK;
      if (json) {
        const message = err.code === 'commander.help' ? 'a subcommand is missing (see the help above)' : (usage || err.message).replace(/^error: /, '').trim();
        return fail('KALEM_ERR_USAGE', message, EXIT_USAGE);
      }
      return EXIT_USAGE; // commander already printed its message (or the help) to stderr.
    }
    if (err instanceof KalemError) return fail(err.code, err.message, err.kind === 'usage' ? EXIT_USAGE : EXIT_FAILURE);
    const message = err instanceof Error ? err.message : 'unknown error';
    const exit = fail('KALEM_ERR_INTERNAL', `internal error: ${message}`, EXIT_FAILURE);
    if (process.env.KALEM_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return exit;
  }
}

/**
 * A reader that stops early (`| head`, `| less` quit) closes the pipe: the next write fails with
 * EPIPE, emitted as an 'error' event that would otherwise crash with a stack trace. Nothing more
 * can reach that reader, so the command ends at once with the usual code of a closed pipe's
 * writer in a shell pipeline that did its job: 0.
 */
let stdoutGuarded = false;
function endQuietlyOnClosedStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
}

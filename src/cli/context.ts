import type { Command } from 'commander';
import type { DestinationStream } from 'pino';
import type { AppOptions, ConfiguredApp, ProvisioningApp, ReaderApp, StoreApp } from '../app/open-app.js';

/**
 * How commands reach the application: options common to every command, and helpers that open
 * what a command needs and always close it. CLI logs go to stderr, so stdout carries only output.
 *
 * The application is imported here only when a helper runs (`await import`), never at module
 * load: `kalem --help` and a mistyped option must not pay for SQLite, libsodium or pino. See
 * the note on registrations in program.ts.
 */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

const stderrLogs: DestinationStream = { write: (line: string) => void process.stderr.write(line) };

function appOptions(cmd: Command): AppOptions {
  return { configPath: globals(cmd).config, logDestination: stderrLogs };
}

/**
 * Says on stderr when no config file was found, so nobody provisions a database they did not
 * mean to (the default path, /var/lib/kalem/kalem.db) believing their config was read.
 */
function noteConfig<A extends ConfiguredApp>(app: A): A {
  if (app.configPath === null) {
    process.stderr.write('kalem: note: no config file at /etc/kalem/kalem.toml (and no --config or KALEM_CONFIG): using built-in defaults\n');
  }
  return app;
}

/** The config only (no database, no key). */
export async function withConfig<T>(cmd: Command, fn: (app: ConfiguredApp) => T | Promise<T>): Promise<T> {
  const { configureApp } = await import('../app/open-app.js');
  return fn(noteConfig(configureApp(appOptions(cmd))));
}

export async function withStore<T>(cmd: Command, fn: (app: StoreApp) => T | Promise<T>, opts = { migrateNew: true }): Promise<T> {
  const { configureApp, openStore } = await import('../app/open-app.js');
  const app = openStore(noteConfig(configureApp(appOptions(cmd))), opts);
  try {
    return await fn(app);
  } finally {
    app.close();
  }
}

/**
 * For commands that only read (`list`, `show`): the database read-only (a missing one is an
 * error, never created), no master key.
 */
export async function withReader<T>(cmd: Command, fn: (app: ReaderApp) => T | Promise<T>): Promise<T> {
  const { openReader } = await import('../app/open-app.js');
  const app = noteConfig(openReader(appOptions(cmd)));
  try {
    return await fn(app);
  } finally {
    app.close();
  }
}

/** For commands that change something or open a sealed value: the database and the master key. */
export async function withProvisioning<T>(cmd: Command, fn: (app: ProvisioningApp) => T | Promise<T>): Promise<T> {
  const { openProvisioning } = await import('../app/open-app.js');
  const app = noteConfig(await openProvisioning(appOptions(cmd)));
  try {
    return await fn(app);
  } finally {
    app.close();
  }
}

import type { Command } from 'commander';
import pino from 'pino';
import { configureApp, openProvisioning, openStore, type ConfiguredApp, type ProvisioningApp, type StoreApp } from '../app/open-app.js';

/**
 * How commands reach the application: options common to every command, and helpers that open
 * what a command needs and always close it. CLI logs go to stderr, so stdout carries only output.
 */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

const stderrLogs = (): pino.DestinationStream => pino.destination({ fd: 2, sync: true });

export function withConfig<T>(cmd: Command, fn: (app: ConfiguredApp) => T): T {
  return fn(configureApp({ configPath: globals(cmd).config, logDestination: stderrLogs() }));
}

export function withStore<T>(cmd: Command, fn: (app: StoreApp) => T, opts = { migrateNew: true }): T {
  const app = openStore(configureApp({ configPath: globals(cmd).config, logDestination: stderrLogs() }), opts);
  try {
    return fn(app);
  } finally {
    app.close();
  }
}

export async function withProvisioning<T>(cmd: Command, fn: (app: ProvisioningApp) => T | Promise<T>): Promise<T> {
  const app = await openProvisioning({ configPath: globals(cmd).config, logDestination: stderrLogs() });
  try {
    return await fn(app);
  } finally {
    app.close();
  }
}

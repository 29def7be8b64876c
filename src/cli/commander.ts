/**
 * commander, loaded through `require`. commander is a CommonJS package: imported as an ES module
 * (its esm.mjs wrapper), Node first scans its source for export names, a few milliseconds that
 * every `kalem` command paid at start-up (see "CLI start-up" in docs/BENCHMARKS.md). The CLI's
 * modules take commander from here; the values and types are commander's own.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const Command = commander.Command;
export type Command = Commander.Command;
export const CommanderError = commander.CommanderError;
export type CommanderError = Commander.CommanderError;
export const InvalidArgumentError = commander.InvalidArgumentError;
export type InvalidArgumentError = Commander.InvalidArgumentError;
export const Option = commander.Option;
export type Option = Commander.Option;

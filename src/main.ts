#!/usr/bin/env node
import { runCli } from './cli/program.js';

// The `kalem` binary: everything is a subcommand; `kalem serve` is the daemon.
process.exitCode = await runCli(process.argv);

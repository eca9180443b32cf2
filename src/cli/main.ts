#!/usr/bin/env node
// The `opencluster` command: builds the commander program, registers every command, and maps
// usage errors to exit code 2 with a one-line message.
import { Command, CommanderError } from 'commander';
import { registerServe } from './serve.js';
import { registerDataCommands } from './data-commands.js';
import { registerAtomicCommands } from './atomic-commands.js';
import { registerBatchCommands } from './batch-commands.js';
import { registerStatus } from './status.js';
import { registerLoggerCommands } from './logger-commands.js';
import { registerGamut } from './gamut.js';
import { registerPasswd } from './passwd.js';
import { UsageError } from './args.js';
import { EXIT_OK, EXIT_USAGE, errorMessage, guardOutputPipes, oneLine, packageVersion, printError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('opencluster');
  program
    .description('OpenCluster: a clustered in-memory key/value store')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${oneLine(text)}\n`) });
  registerServe(program);
  registerDataCommands(program);
  registerAtomicCommands(program);
  registerBatchCommands(program);
  registerStatus(program);
  registerLoggerCommands(program);
  registerGamut(program);
  registerPasswd(program);
  program.helpCommand(true);
  // An unknown command is "unknown command" whatever options follow it (not "unknown option").
  program.allowUnknownOption(true);
  program.allowExcessArguments(true).action((_opts: unknown, self: Command) => {
    const given = self.args[0];
    if (given === undefined) throw new UsageError('missing command (see opencluster --help)');
    throw new UsageError(given.startsWith('-') ? `unknown option "${given}" (see opencluster --help)` : `unknown command "${given}" (see opencluster --help)`);
  });
  return program;
}

/** The exit code for an error that escaped a command: help and version exit 0, all else 2. */
function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  printError(errorMessage(e));
  return EXIT_USAGE;
}

async function main(): Promise<void> {
  guardOutputPipes();
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    process.exitCode = exitCodeFor(e);
  }
}

await main();

#!/usr/bin/env node
import { ContractError } from '../contracts/validate.js';
import { formatCommandHelp, type Command } from './args.js';
import { UsageError, UserError } from './errors.js';
import { ULPWISE_VERSION } from '../version.js';
import { presetsCommand } from './commands/presets.js';
import { genCommand } from './commands/gen.js';
import { suiteCommand } from './commands/suite.js';
import { verifyCommand } from './commands/verify.js';
import { summaryCommand } from './commands/summary.js';
import { diffCommand } from './commands/diff.js';
import { explainCommand } from './commands/explain.js';
import { invarianceCommand } from './commands/invariance.js';
import { crosscheckCommand } from './commands/crosscheck.js';
import { selftestCommand } from './commands/selftest.js';

const COMMANDS: readonly Command[] = [
  presetsCommand,
  genCommand,
  suiteCommand,
  verifyCommand,
  summaryCommand,
  diffCommand,
  explainCommand,
  invarianceCommand,
  crosscheckCommand,
  selftestCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: ulpwise <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '`ulpwise help COMMAND` or `ulpwise COMMAND --help` explains a command and every option; `ulpwise --version` prints the version.',
  ].join('\n');
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command '${name}'; commands: ${COMMANDS.map((c) => c.name).join(', ')} (ulpwise --help)`);
  return command;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(ULPWISE_VERSION);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    console.log(help());
    return name ? 0 : 2;
  }
  if (name === 'help') {
    console.log(formatCommandHelp(findCommand(rest[0])));
    return 0;
  }
  const command = findCommand(name);
  // --help anywhere before a `--` separator: help, whatever else the line holds.
  const options = rest.indexOf('--') < 0 ? rest : rest.slice(0, rest.indexOf('--'));
  if (options.includes('--help') || options.includes('-h')) {
    console.log(formatCommandHelp(command));
    return 0;
  }
  return command.run(rest);
}

/** A user error's message on one line: a multi-line contract report joined with '; '. */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join('; ')
    .replace(/:;/g, ':');
}

// The one top-level catch: a user error (a flag, a file, a contract, a limit) prints one line and
// exits 2; anything else is a bug, printed as one, with exit code 70.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UserError || error instanceof ContractError) {
      console.error(`ulpwise: ${oneLine(error.message)}`);
      // ContractError (src/contracts, not a UserError subclass) is a user error too: exit 2.
      process.exitCode = error instanceof UserError ? error.exitCode : 2;
    } else {
      console.error('ulpwise: internal error (this is a bug, please report it):');
      console.error(error);
      process.exitCode = 70;
    }
  },
);

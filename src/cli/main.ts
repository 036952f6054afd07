#!/usr/bin/env node
import { ContractError } from '../contracts/validate.js';
import { SafetensorsError } from '../fixtures/safetensors.js';
import { formatCommandHelp, type Command } from './args.js';
import { UsageError } from './errors.js';
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

const COMMANDS: readonly Command[] = [presetsCommand, genCommand, suiteCommand, verifyCommand, summaryCommand, diffCommand, explainCommand, invarianceCommand, crosscheckCommand, selftestCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: ulpwise <command> [options]', '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), '',
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

// One top-level catch: expected errors print one message; anything else is a bug.
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ContractError || error instanceof SafetensorsError) {
      console.error(`ulpwise: ${error.message}`);
      process.exitCode = 2;
    } else {
      console.error('ulpwise: internal error (this is a bug, please report it):');
      console.error(error);
      process.exitCode = 70;
    }
  },
);

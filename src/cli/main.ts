#!/usr/bin/env node
import { ContractError } from '../contracts/validate.js';
import { formatCommandHelp, type Command } from './args.js';
import { UsageError, UserError } from './errors.js';
import { ULPWISE_VERSION } from '../version.js';
// Each command's module by the command's name, loaded only when that command runs: a command
// line loads its own command's dependencies, not every command's (module loading was a tenth of
// a short explain run). The listing and an unknown name load them all.
const COMMANDS: ReadonlyMap<string, () => Promise<Command>> = new Map([
  ['presets', async () => (await import('./commands/presets.js')).presetsCommand],
  ['gen', async () => (await import('./commands/gen.js')).genCommand],
  ['suite', async () => (await import('./commands/suite.js')).suiteCommand],
  ['verify', async () => (await import('./commands/verify.js')).verifyCommand],
  ['summary', async () => (await import('./commands/summary.js')).summaryCommand],
  ['diff', async () => (await import('./commands/diff.js')).diffCommand],
  ['explain', async () => (await import('./commands/explain.js')).explainCommand],
  ['invariance', async () => (await import('./commands/invariance.js')).invarianceCommand],
  ['crosscheck', async () => (await import('./commands/crosscheck.js')).crosscheckCommand],
  ['selftest', async () => (await import('./commands/selftest.js')).selftestCommand],
]);

/** Every command, in the listing's order. */
async function allCommands(): Promise<Command[]> {
  return Promise.all([...COMMANDS.values()].map((load) => load()));
}

async function help(): Promise<string> {
  const commands = await allCommands();
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: ulpwise <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '`ulpwise help COMMAND` or `ulpwise COMMAND --help` explains a command and every option; `ulpwise --version` prints the version.',
  ].join('\n');
}

async function findCommand(name: string): Promise<Command> {
  const load = COMMANDS.get(name);
  if (!load) throw new UsageError(`unknown command '${name}'; commands: ${[...COMMANDS.keys()].join(', ')} (ulpwise --help)`);
  return load();
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(ULPWISE_VERSION);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    console.log(await help());
    return name ? 0 : 2;
  }
  if (name === 'help') {
    console.log(formatCommandHelp(await findCommand(rest[0])));
    return 0;
  }
  const command = await findCommand(name);
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

import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

// Every command declares its options once, each with its help text: the parser, `--help` and
// `ulpwise help CMD` all read the same table, so no option goes unexplained.

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The value's placeholder in help (--out DIR). */
  readonly value?: string;
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface PositionalSpec {
  readonly name: string;
  readonly help: string;
}

export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options: OptionTable;
  /** Lines after the option list: examples, notes. */
  readonly notes?: readonly string[];
  run(argv: string[]): Promise<number>;
}

/** What parseArgs gives for an option table: strings, string lists (repeatable) or booleans. */
export type OptionValues<T extends OptionTable> = {
  [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : T[K]['multiple'] extends true ? string[] : string;
};

/** node:util parseArgs over a command's option table; its errors become usage errors. */
export function parseCommandArgs<T extends OptionTable>(
  options: T,
  argv: string[],
  allowPositionals: boolean,
): { values: OptionValues<T>; positionals: string[] } {
  const config = Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.multiple ? { type: o.type, multiple: true } : { type: o.type }]));
  try {
    const { values, positionals } = parseArgs({ args: argv, options: config, allowPositionals, strict: true });
    return { values: values as OptionValues<T>, positionals };
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see --help)`);
  }
}

/** `ulpwise CMD --help`: usage, summary, arguments and every option with its help. */
export function formatCommandHelp(command: Command): string {
  const lines = [`usage: ulpwise ${command.usage}`, '', command.summary];
  if (command.positionals && command.positionals.length > 0) {
    lines.push('', 'arguments:');
    const width = Math.max(...command.positionals.map((p) => p.name.length));
    for (const p of command.positionals) lines.push(`  ${p.name.padEnd(width)}  ${p.help}`);
  }
  const entries = [...Object.entries(command.options), ['help', { type: 'boolean', help: 'print this help and exit' } as OptionSpec] as const];
  const labels = entries.map(([name, o]) => `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...labels.map((l) => l.length));
  lines.push('', 'options:');
  entries.forEach(([, o], i) => lines.push(`  ${labels[i].padEnd(width)}  ${o.help}${o.multiple ? ' (repeatable)' : ''}`));
  if (command.notes && command.notes.length > 0) lines.push('', ...command.notes);
  return lines.join('\n');
}

export function intOption(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`--${name}: '${value.slice(0, 40)}' is not a non-negative integer`);
  return Number(value);
}

/** An integer flag within [min, max], named in the one-line error when outside. */
export function boundedIntOption(value: string | undefined, name: string, min: number, max: number, fallback?: number): number {
  const n = intOption(value, name, fallback);
  if (n < min || n > max) throw new UsageError(`--${name}: ${n} is outside ${min}..${max}`);
  return n;
}

export const PROGRESS_OPTION = {
  progress: { type: 'boolean', help: 'show progress on stderr even when stderr is not a terminal (a terminal always gets it)' },
} as const satisfies OptionTable;

/** How long a phase runs before its progress shows: short phases stay quiet. */
const PROGRESS_AFTER_MS = 2000;

/**
 * Progress on stderr, labelled, for phases that run longer than two seconds: one rewritten line
 * on a terminal; with `forced` (--progress) also when stderr is a pipe or file, a line every two
 * seconds. Nothing otherwise, so captured stderr holds only errors.
 */
export function progressReporter(label: string, forced = false): (done: number, total: number, detail?: string) => void {
  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  let lastPrinted = 0;
  let shown = false;
  return (done, total, detail = '') => {
    if (!tty && !forced) return;
    const now = Date.now();
    if (now - started < PROGRESS_AFTER_MS && !shown) return;
    const text = `${label} ${done}/${total} ${detail}`.trimEnd();
    if (tty) {
      process.stderr.write(`\r${text.slice(0, 120).padEnd(120)}`);
      shown = true;
      if (done === total) process.stderr.write('\n');
    } else if (done === total || now - lastPrinted >= PROGRESS_AFTER_MS) {
      process.stderr.write(`${text}\n`);
      shown = true;
      lastPrinted = now;
    }
  };
}

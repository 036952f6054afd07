import { getDispatchFamily, listDispatchFamilies } from '../../contracts/dispatch.js';
import { INPUT_GENERATOR_NAMES, isInputGeneratorName } from '../../fixtures/inputs.js';
import { LIMITS } from '../../contracts/schema.js';
import { batchInvariance, formatInvarianceReport, MAX_BATCH_SIZES, type InvarianceReport } from '../../diff/invariance.js';
import { boundedIntOption, intOption, parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { UsageError } from '../errors.js';

/** 'a..b' (inclusive), 'a,b,c' or 'a', every value within min..max: the bounds are checked before
 *  the list is built, so a hostile range cannot exhaust memory. */
export function integerList(text: string, name: string, min: number, max: number): number[] {
  const range = /^(\d{1,16})\.\.(\d{1,16})$/.exec(text);
  const listed = /^\d{1,16}(,\d{1,16})*$/.test(text);
  if (!range && !listed) throw new UsageError(`--${name}: '${text.slice(0, 40)}' is not a..b or a comma-separated list of integers`);
  const ends = range ? [Number(range[1]), Number(range[2])] : text.split(',').map(Number);
  const outside = ends.find((n) => n < min || n > max);
  if (outside !== undefined) throw new UsageError(`--${name}: ${outside} is outside ${min}..${max}`);
  if (!range) return [...new Set(ends)].sort((a, b) => a - b);
  const [from, to] = ends;
  if (to < from) throw new UsageError(`--${name}: ${text} is an empty range`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const OPTIONS = {
  preset: {
    type: 'string',
    value: 'FAMILY|PRESET',
    help: `a library's dispatch rules (${listDispatchFamilies()
      .map((f) => f.name)
      .join(', ')}) or one preset (its cub block size still follows the token count)`,
  },
  hidden: { type: 'string', value: 'H', help: 'hidden size' },
  tokens: { type: 'string', value: 'a..b', help: 'the batch sizes to compute the rows at (inclusive range, or one size)' },
  ranks: { type: 'string', value: 'N', help: 'tensor-parallel ranks (default 4, or what the family models)' },
  'ranks-range': { type: 'string', value: 'a..b|a,b,..', help: 'repeat for each of these rank counts (instead of --ranks)' },
  rows: { type: 'string', value: 'r,r,..', help: 'the watched token rows (default: first, middle and last row of the smallest batch)' },
  inputs: { type: 'string', value: 'GEN', help: `input generator: ${INPUT_GENERATOR_NAMES.join(', ')} (default random)` },
  seed: { type: 'string', value: 'S', help: 'generator seed (default 0)' },
  json: { type: 'boolean', help: 'print the reports as JSON (InvarianceReportSchema)' },
  ...PROGRESS_OPTION,
} as const;

export const invarianceCommand: Command = {
  name: 'invariance',
  usage:
    `invariance --preset FAMILY|PRESET --hidden H --tokens a..b [--ranks N | --ranks-range a..b|a,b,..] [--rows r,r,..] [--inputs GEN] [--seed S] ` +
    `[--json]`,
  summary: "recompute fixed rows at every batch size under a library's dispatch rules; report where their bits change and why",
  options: OPTIONS,
  notes: ['exit status: 0 when the watched rows keep their bits at every batch size, 1 when they change, 2 on bad input'],
  async run(argv: string[]): Promise<number> {
    const { values } = parseCommandArgs(OPTIONS, argv, false);
    if (!values.preset)
      throw new UsageError(
        `--preset is required: a dispatch family (${listDispatchFamilies()
          .map((f) => f.name)
          .join(', ')}) or a preset`,
      );
    if (!values.tokens) throw new UsageError('--tokens a..b is required');
    const family = getDispatchFamily(values.preset);
    const hidden = boundedIntOption(values.hidden, 'hidden', 1, LIMITS.hidden);
    const tokenText = /^(\d{1,16})(?:\.\.(\d{1,16}))?$/.exec(values.tokens);
    if (!tokenText) throw new UsageError(`--tokens: '${values.tokens.slice(0, 40)}' is not a..b or a single batch size`);
    const tokens = { from: Number(tokenText[1]), to: Number(tokenText[2] ?? tokenText[1]) };
    for (const n of [tokens.from, tokens.to]) if (n < 1 || n > LIMITS.tokens) throw new UsageError(`--tokens: ${n} is outside 1..${LIMITS.tokens}`);
    if (tokens.to < tokens.from) throw new UsageError(`--tokens: ${values.tokens} is an empty range`);
    // Every batch size of the range is one engine run: the span is bounded, not only its ends.
    if (tokens.to - tokens.from + 1 > MAX_BATCH_SIZES)
      throw new UsageError(`--tokens: ${values.tokens} spans ${tokens.to - tokens.from + 1} batch sizes; at most ${MAX_BATCH_SIZES} per run`);
    if (values.ranks && values['ranks-range']) throw new UsageError('give --ranks or --ranks-range, not both');
    const rankCounts = values['ranks-range']
      ? integerList(values['ranks-range'], 'ranks-range', 1, LIMITS.ranks)
      : [boundedIntOption(values.ranks, 'ranks', 1, LIMITS.ranks, family.ranks ?? 4)];
    if (family.ranks !== undefined && rankCounts.some((n) => n !== family.ranks)) throw new UsageError(`'${family.name}' models ${family.ranks} rank(s) only`);
    const inputs = values.inputs ?? 'random';
    if (!isInputGeneratorName(inputs)) throw new UsageError(`--inputs: unknown generator '${inputs}'; known: ${INPUT_GENERATOR_NAMES.join(', ')}`);
    const rows = values.rows ? integerList(values.rows, 'rows', 0, tokens.from - 1) : [...new Set([0, Math.floor((tokens.from - 1) / 2), tokens.from - 1])];
    const reports: InvarianceReport[] = [];
    for (const ranks of rankCounts) {
      reports.push(
        batchInvariance({
          family,
          ranks,
          hidden,
          tokens,
          rows,
          inputs,
          seed: intOption(values.seed, 'seed', 0),
          progress: progressReporter(`invariance tp${ranks}`, values.progress),
        }),
      );
    }
    console.log(values.json ? JSON.stringify(reports, null, 2) : reports.map(formatInvarianceReport).join('\n\n'));
    return reports.every((r) => r.changes.length === 0) ? 0 : 1;
  },
};

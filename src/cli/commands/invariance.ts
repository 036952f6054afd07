import { getDispatchFamily, listDispatchFamilies } from '../../contracts/dispatch.js';
import { INPUT_GENERATOR_NAMES, isInputGeneratorName } from '../../fixtures/inputs.js';
import { batchInvariance, formatInvarianceReport, type InvarianceReport } from '../../diff/invariance.js';
import { intOption, parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { UsageError } from '../errors.js';

/** 'a..b' (inclusive), 'a,b,c' or 'a'. */
export function integerList(text: string, name: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw new UsageError(`--${name}: ${text} is an empty range`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  if (!/^\d+(,\d+)*$/.test(text)) throw new UsageError(`--${name}: '${text}' is not a..b or a comma-separated list of integers`);
  return [...new Set(text.split(',').map(Number))].sort((a, b) => a - b);
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
    const hidden = intOption(values.hidden, 'hidden');
    if (!/^\d+(\.\.\d+)?$/.test(values.tokens)) throw new UsageError(`--tokens: '${values.tokens}' is not a..b or a single batch size`);
    const tokenCounts = integerList(values.tokens, 'tokens');
    const tokens = { from: tokenCounts[0], to: tokenCounts[tokenCounts.length - 1] };
    if (values.ranks && values['ranks-range']) throw new UsageError('give --ranks or --ranks-range, not both');
    const rankCounts = values['ranks-range'] ? integerList(values['ranks-range'], 'ranks-range') : [intOption(values.ranks, 'ranks', family.ranks ?? 4)];
    if (family.ranks !== undefined && rankCounts.some((n) => n !== family.ranks)) throw new UsageError(`'${family.name}' models ${family.ranks} rank(s) only`);
    const inputs = values.inputs ?? 'random';
    if (!isInputGeneratorName(inputs)) throw new UsageError(`--inputs: unknown generator '${inputs}'; known: ${INPUT_GENERATOR_NAMES.join(', ')}`);
    const rows = values.rows ? integerList(values.rows, 'rows') : [...new Set([0, Math.floor((tokens.from - 1) / 2), tokens.from - 1])];
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

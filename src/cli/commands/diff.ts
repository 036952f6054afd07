import { parseArgs } from 'node:util';
import { diffOutputs } from '../../diff/diff.js';
import { loadCandidate, loadGolden } from '../../diff/files.js';
import { formatDiffReport } from '../../diff/format.js';
import { diffReportHtml } from '../../diff/html.js';
import { checkWritableTarget, writeFileAtomic } from '../../fixtures/atomic.js';
import { intOption, usageErrors } from '../args.js';
import { UsageError } from '../errors.js';

/** `--rstd infer [--rstd-ulps K]`: the shift range, or null when rstd inference is off. */
export function rstdOption(rstd: string | undefined, ulps: string | undefined): number | null {
  if (rstd === undefined) {
    if (ulps !== undefined) throw new UsageError('--rstd-ulps needs --rstd infer');
    return null;
  }
  if (rstd !== 'infer') throw new UsageError(`--rstd: '${rstd}' is not a mode; use --rstd infer`);
  const k = intOption(ulps, 'rstd-ulps', 4);
  if (k < 1 || k > 64) throw new UsageError(`--rstd-ulps: ${k} is outside 1..64`);
  return k;
}

export const RSTD_OPTIONS = { rstd: { type: 'string' }, 'rstd-ulps': { type: 'string' } } as const;

export const diffCommand = {
  name: 'diff',
  usage: 'diff GOLDEN CANDIDATE [--max-ulp N] [--rstd infer [--rstd-ulps K]] [--worst N] [--json] [--html FILE]',
  summary: 'compare a kernel\'s outputs with a golden bit for bit: ULP histograms, worst elements, rows, groups, ranks',
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = usageErrors(() => parseArgs({ args: argv, options: {
      'max-ulp': { type: 'string' }, worst: { type: 'string' }, json: { type: 'boolean' }, html: { type: 'string' }, ...RSTD_OPTIONS,
    }, allowPositionals: true }));
    if (positionals.length !== 2) throw new UsageError('diff takes two files: GOLDEN CANDIDATE');
    const [goldenPath, candidatePath] = positionals;
    const options = {
      maxUlp: intOption(values['max-ulp'], 'max-ulp', 0),
      worst: intOption(values.worst, 'worst', 10),
      rstdUlps: rstdOption(values.rstd, values['rstd-ulps']),
      listLimit: 1000,
    };
    if (values.html) checkWritableTarget(values.html, '--html page');
    const golden = loadGolden(goldenPath);
    const candidate = loadCandidate(candidatePath);
    // diffOutputs returns a report already checked against DiffReportSchema.
    const report = diffOutputs(golden, candidate, candidatePath, options);
    if (values.html) writeFileAtomic(values.html, diffReportHtml(report));
    console.log(values.json ? JSON.stringify(report, null, 2) : formatDiffReport(report));
    return report.pass ? 0 : 1;
  },
};

import { parseArgs } from 'node:util';
import { explainCandidate } from '../../diff/explain.js';
import { formatExplainReport } from '../../diff/explainFormat.js';
import { loadCandidate, loadGolden } from '../../diff/files.js';
import { intOption, progressReporter, usageErrors } from '../args.js';
import { UsageError } from '../errors.js';
import { RSTD_OPTIONS, rstdOption } from './diff.js';

export const explainCommand = {
  name: 'explain',
  usage: 'explain CANDIDATE --inputs GOLDEN [--rstd infer [--rstd-ulps K]] [--top N] [--json]',
  summary: 'find the contract (preset or single-dimension variant) that reproduces a kernel\'s outputs from the golden\'s inputs',
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = usageErrors(() => parseArgs({ args: argv, options: {
      inputs: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, ...RSTD_OPTIONS,
    }, allowPositionals: true }));
    if (positionals.length !== 1) throw new UsageError('explain takes one candidate file');
    if (!values.inputs) throw new UsageError('--inputs GOLDEN is required: the golden whose inputs the candidate was computed from');
    const rstdUlps = rstdOption(values.rstd, values['rstd-ulps']);
    const top = intOption(values.top, 'top', 12);
    const golden = loadGolden(values.inputs);
    const candidate = loadCandidate(positionals[0]);
    const progress = progressReporter('explain');
    let last = '';
    // explainCandidate returns a report already checked against ExplainReportSchema.
    const report = explainCandidate(golden, candidate, positionals[0], {
      rstdUlps,
      progress: (message) => {
        last = message;
        progress(0, 1, message);
      },
    });
    progress(1, 1, last);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatExplainReport(report, top));
    return 0;
  },
};

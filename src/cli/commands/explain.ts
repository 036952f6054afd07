import type { ExplainedGolden } from '../../diff/explain.js';
import { explainOn } from '../../diff/gpuDiff.js';
import { LISTED_ELEMENTS } from '../../diff/explainRescore.js';
import type { Tensor } from '../../numerics/tensor.js';
import { formatExplainReport } from '../../diff/explainFormat.js';
import { MAX_SCORE_THREADS } from '../../diff/scoreThreads.js';
import { loadCandidate, loadGoldenInputs } from '../../diff/files.js';
import { boundedIntOption, parseCommandArgs, progressReporter, PROGRESS_OPTION, type Command } from '../args.js';
import { ENGINE_OPTION, openEngine } from '../engineOption.js';
import { UsageError } from '../errors.js';
import { RSTD_OPTIONS, rstdOption, SCALE_OPTIONS, scaleOption } from './diff.js';

const OPTIONS = {
  inputs: { type: 'string', value: 'GOLDEN', help: 'the golden whose inputs the candidate was computed from (required)' },
  top: { type: 'string', value: 'N', help: `unexplained elements listed, 1..${LISTED_ELEMENTS} (default 12; the report keeps the first ${LISTED_ELEMENTS})` },
  json: { type: 'boolean', help: 'print the report as JSON (ExplainReportSchema)' },
  threads: {
    type: 'string',
    value: 'N',
    help:
      `worker threads scoring the search's hypotheses, 0..${MAX_SCORE_THREADS}; below 2: none (default: one per core but this one, ` +
      'at most 8, and 32 MiB each within an eighth of the inputs and candidate); the report is the same',
  },
  ...RSTD_OPTIONS,
  ...SCALE_OPTIONS,
  ...PROGRESS_OPTION,
  ...ENGINE_OPTION,
} as const;

/** The golden without its outputs (explain reads its inputs; the outputs, a fifth of a quant
 *  case, are checked from the file's header and not read) and the candidate's outputs. */
function loadExplainFiles(goldenPath: string, candidatePath: string): { golden: ExplainedGolden; candidate: Map<string, Tensor> } {
  const { outputNames, ...golden } = loadGoldenInputs(goldenPath);
  return { golden, candidate: loadCandidate(candidatePath, { outputNames }) };
}

export const explainCommand: Command = {
  name: 'explain',
  usage:
    'explain CANDIDATE --inputs GOLDEN [--rstd infer [--rstd-ulps K]] [--scale infer [--scale-ulps K]] [--top N] [--json] [--threads N] ' +
    '[--engine cpu|webgpu|auto [--adapter A]]',
  summary: "find the contract (preset or single-dimension variant) that reproduces a kernel's outputs from the golden's inputs",
  positionals: [{ name: 'CANDIDATE', help: "a safetensors file with the kernel's outputs (out.* or rank{r}.out.*), computed from GOLDEN's inputs" }],
  options: OPTIONS,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(OPTIONS, argv, true);
    if (positionals.length !== 1) throw new UsageError('explain takes one candidate file');
    if (!values.inputs) throw new UsageError('--inputs GOLDEN is required: the golden whose inputs the candidate was computed from');
    const rstdUlps = rstdOption(values.rstd, values['rstd-ulps']);
    const scaleUlps = scaleOption(values.scale, values['scale-ulps']);
    const top = boundedIntOption(values.top, 'top', 1, LISTED_ELEMENTS, 12);
    const scoreThreads = values.threads === undefined ? undefined : boundedIntOption(values.threads, 'threads', 0, MAX_SCORE_THREADS);
    const { golden, candidate } = loadExplainFiles(values.inputs, positionals[0]);
    const progress = progressReporter('explain', values.progress);
    let last = '';
    // --engine webgpu runs the fitted contract and compares it on the GPU: the same report.
    const engine = await openEngine(values.engine, values.adapter);
    let report;
    try {
      // explainOn returns a report already checked against ExplainReportSchema.
      report = await explainOn(engine, golden, candidate, positionals[0], {
        rstdUlps,
        scaleUlps,
        scoreThreads,
        progress: (message) => {
          last = message;
          progress(0, 1, message);
        },
      });
    } finally {
      await engine.close();
    }
    progress(1, 1, last);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatExplainReport(report, top));
    return 0;
  },
};

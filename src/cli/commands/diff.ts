import { z } from 'zod';
import { DEFAULT_DIFF_OPTIONS } from '../../diff/diff.js';
import { diffOn } from '../../diff/gpuDiff.js';
import { loadCandidate, loadGolden } from '../../diff/files.js';
import { formatDiffReport } from '../../diff/format.js';
import { diffReportHtml } from '../../diff/html.js';
import { DiffReportSchema } from '../../diff/report.js';
import { isOutputName } from '../../diff/pairs.js';
import { DEFAULT_APPROXIMATION_ULPS } from '../../diff/scaleDeviation.js';
import { checkWritableTarget, writeFileAtomic } from '../../fixtures/atomic.js';
import { boundedIntOption, intOption, parseCommandArgs, type Command, type OptionTable } from '../args.js';
import { ENGINE_OPTION, openEngine } from '../engineOption.js';
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

/** `--scale infer [--scale-ulps K]`: the per-group scale shift range, or null when not asked
 *  (diff and explain still infer it where the contract marks the reciprocal or divide 'inferred'). */
export function scaleOption(scale: string | undefined, ulps: string | undefined): number | null {
  if (scale === undefined) {
    if (ulps !== undefined) throw new UsageError('--scale-ulps needs --scale infer');
    return null;
  }
  if (scale !== 'infer') throw new UsageError(`--scale: '${scale.slice(0, 40)}' is not a mode; use --scale infer`);
  return boundedIntOption(ulps, 'scale-ulps', 1, 64, DEFAULT_APPROXIMATION_ULPS);
}

export const SCALE_OPTIONS = {
  scale: {
    type: 'string',
    value: 'infer',
    help:
      "rerun quant groups that differ with the scale (or, quantize 'reciprocal', 1/scale) moved by up to +-K f32 ULP (v_rcp_f32, div.full.f32) " +
      "and report the groups a shift reproduces apart; on by default where the contract marks hardwareOps.reciprocal or divide 'inferred'",
  },
  'scale-ulps': { type: 'string', value: 'K', help: `the scale search range in f32 ULP, 1..64 (default ${DEFAULT_APPROXIMATION_ULPS})` },
} as const satisfies OptionTable;

export const RSTD_OPTIONS = {
  rstd: {
    type: 'string',
    value: 'infer',
    help: 'rerun rows that differ with rstd moved by up to +-K f32 ULP (a hardware rsqrt) and report the rows a shift reproduces apart',
  },
  'rstd-ulps': { type: 'string', value: 'K', help: 'the rstd search range in f32 ULP, 1..64 (default 4)' },
} as const satisfies OptionTable;

/** `--max-ulp N` or `--max-ulp out.norm=1,out.q=0` (a bare N among them is the default). */
export function maxUlpOption(text: string | undefined): { maxUlp: number; maxUlpByOutput: Record<string, number> } {
  const byOutput: Record<string, number> = {};
  let maxUlp = 0;
  for (const item of (text ?? '0').split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) {
      maxUlp = intOption(item, 'max-ulp');
      continue;
    }
    const name = item.slice(0, eq);
    if (!isOutputName(name))
      throw new UsageError(`--max-ulp ${item}: '${name}' is not an output name (out.residual, out.norm, out.q, out.scale or rank{r}.out.*)`);
    byOutput[name] = intOption(item.slice(eq + 1), `max-ulp ${name}`);
  }
  return { maxUlp, maxUlpByOutput: byOutput };
}

const OPTIONS = {
  'max-ulp': {
    type: 'string',
    value: 'N|OUT=N,..',
    help: 'pass outputs within N steps of their unit (default 0: bit-exact only); per output: out.norm=1,out.q=0 (a bare N sets the rest)',
  },
  worst: { type: 'string', value: 'N', help: `worst elements listed per output, 0..${DEFAULT_DIFF_OPTIONS.listLimit} (default 10)` },
  json: { type: 'boolean', help: 'print the report as JSON (DiffReportSchema; see --schema)' },
  html: { type: 'string', value: 'FILE', help: 'also write a self-contained HTML page of the report' },
  schema: { type: 'boolean', help: 'print the JSON Schema of the --json report and exit' },
  ...RSTD_OPTIONS,
  ...SCALE_OPTIONS,
  ...ENGINE_OPTION,
} as const;

export const diffCommand: Command = {
  name: 'diff',
  usage:
    'diff GOLDEN CANDIDATE [--max-ulp N|OUT=N,..] [--rstd infer [--rstd-ulps K]] [--scale infer [--scale-ulps K]] [--worst N] [--json] [--html FILE] ' +
    '[--engine cpu|webgpu|auto [--adapter A]] ' +
    '| diff --schema',
  summary: "compare a kernel's outputs with a golden bit for bit: ULP histograms, worst elements, rows, groups, ranks",
  positionals: [
    { name: 'GOLDEN', help: 'a golden file (ulpwise gen / suite): inputs, outputs, contract' },
    { name: 'CANDIDATE', help: "the kernel's outputs on the golden's inputs, safetensors with the golden's names (out.* or rank{r}.out.*)" },
  ],
  options: OPTIONS,
  notes: ['exit status: 0 when every output passes, 1 when one does not, 2 for a missing tensor, a shape or dtype mismatch or an unreadable file'],
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(OPTIONS, argv, true);
    if (values.schema) {
      console.log(JSON.stringify(z.toJSONSchema(DiffReportSchema), null, 2));
      return 0;
    }
    if (positionals.length !== 2) throw new UsageError('diff takes two files: GOLDEN CANDIDATE');
    const [goldenPath, candidatePath] = positionals;
    const options = {
      ...maxUlpOption(values['max-ulp']),
      // Kept elements are held in memory and printed: bounded as every other list of the report.
      worst: boundedIntOption(values.worst, 'worst', 0, DEFAULT_DIFF_OPTIONS.listLimit, DEFAULT_DIFF_OPTIONS.worst),
      rstdUlps: rstdOption(values.rstd, values['rstd-ulps']),
      scaleUlps: scaleOption(values.scale, values['scale-ulps']),
      listLimit: DEFAULT_DIFF_OPTIONS.listLimit,
    };
    if (values.html) checkWritableTarget(values.html, '--html page');
    const golden = loadGolden(goldenPath, candidatePath);
    const candidate = loadCandidate(candidatePath, golden);
    // --engine webgpu compares on the GPU and scans only the rows that differ: the same report.
    const engine = await openEngine(values.engine, values.adapter);
    let report;
    try {
      // diffOn returns a report already checked against DiffReportSchema.
      report = await diffOn(engine, golden, candidate, candidatePath, options);
    } finally {
      await engine.close();
    }
    if (values.html) writeFileAtomic(values.html, diffReportHtml(report));
    console.log(values.json ? JSON.stringify(report, null, 2) : formatDiffReport(report));
    return report.pass ? 0 : 1;
  },
};

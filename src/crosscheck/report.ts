import { join } from 'node:path';
import { z } from 'zod';
import { OUTPUT_KINDS, type OutputKind } from '../engines/io.js';
import { compareTensors } from '../diff/compare.js';
import { candidateOutputs, incompatibility, parseOutputName } from '../diff/pairs.js';
import { OutputKindSchema } from '../diff/report.js';
import { table } from '../diff/table.js';
import { addComparison, EMPTY_TALLY, OutputTallySchema, type OutputTally } from '../diff/tally.js';
import { readGolden } from '../fixtures/golden.js';
import { readSafetensors } from '../fixtures/safetensors.js';
import { candidateFileName, CaseStatusSchema, type CaseStatus } from './protocol.js';

// What `crosscheck` reports: each compared case with one tally per output kind (the ranks'
// outputs of a kind counted together), the cases the harness skipped or failed, and the
// table that shows them.

export const CROSSCHECK_SCHEMA_VERSION = 1;

export const OutputResultSchema = OutputTallySchema.extend({
  /** A golden output the candidate lacks, or holds with another dtype or shape. */
  missing: z.boolean(),
});
export type OutputResult = z.infer<typeof OutputResultSchema>;

export const CaseResultSchema = z.object({
  kernel: z.string(),
  file: z.string(),
  preset: z.string(),
  outputs: z.array(OutputResultSchema.extend({ kind: OutputKindSchema })),
  /** Every output present and bit-exact. */
  pass: z.boolean(),
});
export type CaseResult = z.infer<typeof CaseResultSchema>;

export const CrosscheckReportSchema = z.object({
  schemaVersion: z.literal(CROSSCHECK_SCHEMA_VERSION),
  suite: z.string(),
  candidates: z.string(),
  compared: z.array(CaseResultSchema),
  skipped: z.array(CaseStatusSchema),
  failed: z.array(CaseStatusSchema),
  /** Cases compared, none failed, every compared case bit-exact. */
  pass: z.boolean(),
});
export type CrosscheckReport = z.infer<typeof CrosscheckReportSchema>;

/** Compares one candidate file with its golden, output by output (rank outputs merged by kind). */
export function compareCandidate(goldenPath: string, candidatePath: string, kernel: string, file: string): CaseResult {
  const golden = readGolden(goldenPath);
  const candidate = candidateOutputs(readSafetensors(candidatePath).tensors, candidatePath);
  const byKind = new Map<OutputKind, OutputResult>();
  for (const [name, expected] of golden.outputs) {
    const kind = parseOutputName(name)!.kind;
    const previous = byKind.get(kind) ?? { ...EMPTY_TALLY, missing: false };
    const actual = candidate.get(name);
    if (!actual || incompatibility(expected, actual) !== null) {
      byKind.set(kind, { ...previous, elements: previous.elements + expected.data.length, missing: true });
      continue;
    }
    const tally: OutputTally = addComparison(previous, compareTensors(expected, actual));
    byKind.set(kind, { ...tally, missing: previous.missing });
  }
  const outputs = OUTPUT_KINDS.filter((k) => byKind.has(k)).map((kind) => ({ kind, ...byKind.get(kind)! }));
  const pass = outputs.every((o) => !o.missing && o.differing === 0);
  return { kernel, file, preset: golden.spec.preset, outputs, pass };
}

/** Compares every `ok` case's candidate in `candidateDir` with its golden in `suite`. */
export function crosscheckStatuses(suite: string, candidateDir: string, statuses: readonly CaseStatus[]): CrosscheckReport {
  const compared: CaseResult[] = [];
  const skipped: CaseStatus[] = [];
  const failed: CaseStatus[] = [];
  for (const s of statuses) {
    if (s.status === 'skipped') skipped.push(s);
    else if (s.status === 'failed') failed.push(s);
    else compared.push(compareCandidate(join(suite, s.file), join(candidateDir, candidateFileName(s.kernel, s.file)), s.kernel, s.file));
  }
  const pass = compared.length > 0 && failed.length === 0 && compared.every((c) => c.pass);
  return CrosscheckReportSchema.parse({ schemaVersion: CROSSCHECK_SCHEMA_VERSION, suite, candidates: candidateDir, compared, skipped, failed, pass });
}

function formatOutput(o: OutputResult | undefined): string {
  if (!o) return '-';
  if (o.missing) return 'MISSING';
  const exact = o.elements - o.differing;
  const share = o.differing === 0 ? '100%' : `${Math.min((100 * exact) / o.elements, 99.999).toFixed(3)}%`;
  const special = o.nanMismatches + o.infMismatches;
  return `${share} ${o.maxUlp}ulp${special > 0 ? ` +${special}nan/inf` : ''}`;
}

export function formatCrosscheckReport(report: CrosscheckReport): string {
  const header = ['kernel', 'case', 'preset', ...OUTPUT_KINDS, 'result'];
  const rows = report.compared.map((c) => [
    c.kernel,
    c.file.replace(/\.safetensors$/, ''),
    c.preset,
    ...OUTPUT_KINDS.map((k) => formatOutput(c.outputs.find((o) => o.kind === k))),
    c.pass ? 'bit-exact' : 'MISMATCH',
  ]);
  const lines = [table(header, rows, new Set())];
  for (const f of report.failed) lines.push(`FAILED ${f.kernel} ${f.file}: ${f.message}`);
  if (report.skipped.length > 0) {
    const reasons = new Map<string, number>();
    for (const s of report.skipped) {
      // The reason without the case's path, so equal reasons group.
      const reason = `${s.kernel}: ${s.message.replace(/declines \S+: /, 'declines: ')}`;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    lines.push(`skipped ${report.skipped.length} case(s):`);
    for (const [reason, count] of reasons) lines.push(`  ${count} x ${reason}`);
  }
  const exact = report.compared.filter((c) => c.pass).length;
  lines.push(
    `${exact}/${report.compared.length} compared cases bit-exact (0 ULP, every output), ${report.failed.length} failed, ${report.skipped.length} skipped`,
  );
  if (report.compared.length === 0) lines.push('nothing was compared: no case ran');
  return lines.join('\n');
}

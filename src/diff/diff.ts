import { ContractError } from '../contracts/validate.js';
import type { OutputKind } from '../engines/io.js';
import type { Tensor } from '../numerics/tensor.js';
import { compareTensors, MismatchTally, sameCode, ulpFormatOf, WorstElements } from './compare.js';
import { outputGeometry, pairOutputs, type OutputGeometry, type OutputPair } from './pairs.js';
import { checkCodesAgainstCandidateScales, inferRstd, shiftedRows, type CaseSubject, type RstdShifts } from './rstd.js';
import {
  DIFF_SCHEMA_VERSION,
  DiffReportSchema,
  type DiffReport,
  type ElementReport,
  type MismatchStats,
  type OutputReport,
  type RankDivergence,
} from './report.js';
import { decodeCode, formatCode } from './values.js';

// `ulpwise diff`: a golden's outputs against a candidate's, element by element on bits.

export interface DiffOptions {
  /** Largest |ULP| an output may show and still pass (0: bit-exact only). */
  readonly maxUlp: number;
  /** Per-output tolerances over `maxUlp`: `out.norm` covers every rank's norm output,
   *  `rank3.out.norm` that rank's only. */
  readonly maxUlpByOutput?: Readonly<Record<string, number>>;
  /** Worst elements kept per output. */
  readonly worst: number;
  /** Search rstd within +-ulps f32 ULP for rows that differ; null to skip. */
  readonly rstdUlps: number | null;
  /** Lists of rows and groups stop at this many entries. */
  readonly listLimit: number;
}

export const DEFAULT_DIFF_OPTIONS: DiffOptions = { maxUlp: 0, worst: 10, rstdUlps: null, listLimit: 1000 };

/** The tolerance of one candidate output: its own name, then its kind's rank-less name. */
function toleranceOf(pair: OutputPair, options: DiffOptions): number {
  const byName = options.maxUlpByOutput ?? {};
  return byName[pair.name] ?? byName[`out.${pair.kind}`] ?? options.maxUlp;
}

/** |candidate - golden| / |golden| in f32 values, for scales (0 when both are 0, Infinity
 *  when only the golden is); null when either side is NaN or infinite. */
function relativeError(expected: number, actual: number, dtype: Tensor['dtype']): number | null {
  const e = decodeCode(expected, dtype);
  const a = decodeCode(actual, dtype);
  if (!Number.isFinite(e) || !Number.isFinite(a)) return null;
  if (e === 0) return a === 0 ? 0 : Infinity;
  return Math.abs(a - e) / Math.abs(e);
}

export interface GoldenSubject extends CaseSubject {
  readonly outputs: ReadonlyMap<string, Tensor>;
  readonly file: string;
  readonly preset: string;
}

interface Scan {
  readonly stats: MismatchStats;
  /** Largest finite relative error over differing elements (scales only), else null. */
  readonly maxRelativeError: number | null;
  readonly histogram: Map<number, number>;
  readonly worst: ElementReport[];
  readonly rows: number[];
  readonly groups: { row: number; group: number }[];
  readonly groupCount: number;
}

/** One pass over an output: statistics, worst elements, differing rows and groups. Rows in
 *  `skipRows` are left out (rows an rstd shift explains). */
function scan(pair: OutputPair, geometry: OutputGeometry, keep: number, skipRows: ReadonlySet<number>): Scan {
  const { reference, candidate } = pair;
  const format = ulpFormatOf(reference.dtype);
  const tally = new MismatchTally(format);
  // NaN and Inf mismatches (no ULP distance) rank first.
  const worst = new WorstElements<ElementReport>(keep, (e) => (e.ulp === null ? Infinity : Math.abs(e.ulp)));
  const rows = new Set<number>();
  const groups = new Set<string>();
  const relative = pair.kind === 'scale';
  let maxRelativeError: number | null = null;
  for (let i = 0; i < reference.data.length; i++) {
    const e = reference.data[i];
    const a = candidate.data[i];
    if (sameCode(e, a, format)) continue;
    const row = geometry.rowOf(i);
    if (skipRows.has(row)) continue;
    rows.add(row);
    const group = geometry.groupOf(i);
    if (group !== null) groups.add(`${row}:${group}`);
    const { kind, ulp } = tally.add(e, a);
    const relativeErr = relative ? relativeError(e, a, reference.dtype) : null;
    if (relativeErr !== null && Number.isFinite(relativeErr)) maxRelativeError = Math.max(maxRelativeError ?? 0, relativeErr);
    if (keep > 0) {
      worst.push({
        index: i,
        rank: pair.rank,
        row,
        column: geometry.columnOf(i),
        group,
        class: kind,
        ulp,
        relativeError: relativeErr !== null && Number.isFinite(relativeErr) ? relativeErr : null,
        golden: formatCode(e, reference.dtype),
        candidate: formatCode(a, candidate.dtype),
      });
    }
  }
  const sortedGroups = [...groups]
    .map((k) => {
      const [row, group] = k.split(':').map(Number);
      return { row, group };
    })
    .sort((x, y) => x.row - y.row || x.group - y.group);
  const { differing, nanMismatches, infMismatches, maxUlp, histogram } = tally;
  return {
    stats: { differing, nanMismatches, infMismatches, maxUlp, rows: rows.size },
    maxRelativeError,
    histogram,
    worst: worst.take(),
    rows: [...rows].sort((x, y) => x - y),
    groups: sortedGroups,
    groupCount: groups.size,
  };
}

function passes(stats: MismatchStats, maxUlp: number): boolean {
  return stats.nanMismatches === 0 && stats.infMismatches === 0 && stats.maxUlp <= maxUlp;
}

function rankDivergence(pairs: readonly OutputPair[]): RankDivergence[] {
  const byKind = new Map<OutputKind, OutputPair[]>();
  for (const p of pairs) if (p.rank !== null) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p]);
  const result: RankDivergence[] = [];
  for (const [kind, ranked] of byKind) {
    if (ranked.length < 2) continue;
    const sorted = [...ranked].sort((a, b) => a.rank! - b.rank!);
    const base = sorted[0];
    result.push({
      kind,
      baseRank: base.rank!,
      ranks: sorted.slice(1).map((p) => {
        const c = compareTensors(base.candidate, p.candidate);
        return {
          rank: p.rank!,
          elements: c.elements,
          differing: c.differing,
          nanMismatches: c.nanMismatches,
          infMismatches: c.infMismatches,
          maxUlp: c.maxUlp,
        };
      }),
    });
  }
  return result;
}

export function diffOutputs(
  golden: GoldenSubject,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: DiffOptions = DEFAULT_DIFF_OPTIONS,
): DiffReport {
  const { contract, shape } = golden;
  const { pairs, unmatched } = pairOutputs(golden.outputs, candidate, shape.ranks, candidateFile);
  const unused = Object.keys(options.maxUlpByOutput ?? {}).filter((name) => !pairs.some((p) => p.name === name || `out.${p.kind}` === name));
  if (unused.length > 0) throw new ContractError(`--max-ulp: ${unused.join(', ')}: no such output here (outputs: ${pairs.map((p) => p.name).join(', ')})`);
  const rstd = options.rstdUlps === null ? null : inferRstd(golden, pairs, options.rstdUlps);
  const rstdReport = rstd ? rstd.report : null;
  const shifts: RstdShifts = rstd?.shifts ?? new Map();
  const outputs: OutputReport[] = pairs.map((pair) => {
    const geometry = outputGeometry(pair.kind, shape, contract);
    const all = scan(pair, geometry, options.worst, new Set());
    const skip = rstd ? shiftedRows(shifts, pair.rank) : null;
    const after = skip ? scan(pair, geometry, 0, skip).stats : null;
    const elements = pair.reference.data.length;
    return {
      name: pair.name,
      reference: pair.referenceName,
      kind: pair.kind,
      rank: pair.rank,
      dtype: pair.reference.dtype,
      shape: [...pair.reference.shape],
      unit: ulpFormatOf(pair.reference.dtype),
      elements,
      bitExact: elements - all.stats.differing,
      bitExactShare: elements === 0 ? 1 : (elements - all.stats.differing) / elements,
      stats: all.stats,
      maxRelativeError: all.maxRelativeError,
      histogram: [...all.histogram].sort(([a], [b]) => a - b).map(([ulp, count]) => ({ ulp, count })),
      worst: all.worst,
      differingRows: { count: all.rows.length, rows: all.rows.slice(0, options.listLimit) },
      differingGroups: pair.kind === 'q' || pair.kind === 'scale' ? { count: all.groupCount, groups: all.groups.slice(0, options.listLimit) } : null,
      afterRstd: after,
      tolerance: toleranceOf(pair, options),
      pass: passes(after ?? all.stats, toleranceOf(pair, options)),
    };
  });
  const report: DiffReport = {
    schemaVersion: DIFF_SCHEMA_VERSION,
    golden: { file: golden.file, preset: golden.preset, ranks: shape.ranks, tokens: shape.tokens, hidden: shape.hidden },
    candidate: { file: candidateFile },
    maxUlp: options.maxUlp,
    listLimit: options.listLimit,
    outputs,
    rankDivergence: rankDivergence(pairs),
    rstd: rstdReport,
    quantConsistency: checkCodesAgainstCandidateScales(golden, pairs, shifts),
    ignored: unmatched,
    pass: outputs.every((o) => o.pass),
  };
  return DiffReportSchema.parse(report);
}

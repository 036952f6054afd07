import { ContractError } from '../contracts/validate.js';
import type { OutputKind } from '../engines/io.js';
import { f32BitsFromE8m0 } from '../numerics/e8m0.js';
import { f32FromBits } from '../numerics/f32.js';
import type { Tensor } from '../numerics/tensor.js';
import type { UlpFormat } from '../numerics/ulp.js';
import { compareTensors, MismatchTally, sameCode, ulpFormatOf, WorstElements } from './compare.js';
import { outputGeometry, pairOutputs, rowRanges, type OutputGeometry, type OutputPair } from './pairs.js';
import { checkCodesAgainstCandidateScales, inferRstd, shiftedRows, type CaseSubject, type RstdShifts } from './rstd.js';
import {
  DIFF_SCHEMA_VERSION,
  DiffReportSchema,
  type CodeValue,
  type DiffReport,
  type ElementReport,
  type MismatchStats,
  type OutputReport,
  type RankDivergence,
  type ScaleInference,
} from './report.js';
import {
  DEFAULT_APPROXIMATION_ULPS,
  explainedGroupKeys,
  groupRefKey,
  inferScaleDeviations,
  scaleSlotInferred,
  type ScaleDeviations,
} from './scaleDeviation.js';
import { decodeCode, formatCode, formatUe8m0 } from './values.js';

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
  /** Search each differing quant group's scale (and reciprocal) within +-ulps f32 ULP; null:
   *  only when the golden's contract marks hardwareOps.reciprocal or divide 'inferred'. */
  readonly scaleUlps?: number | null;
  /** Lists of rows and groups stop at this many entries. */
  readonly listLimit: number;
}

export const DEFAULT_DIFF_OPTIONS: DiffOptions = { maxUlp: 0, worst: 10, rstdUlps: null, scaleUlps: null, listLimit: 1000 };

/** The tolerance of one candidate output: its own name, then its kind's rank-less name. */
function toleranceOf(pair: OutputPair, options: DiffOptions): number {
  const byName = options.maxUlpByOutput ?? {};
  return byName[pair.name] ?? byName[`out.${pair.kind}`] ?? options.maxUlp;
}

/** The codes one output is compared on: its elements, or for packed UE8M0 scale words (I32) the
 *  four exponent bytes of each word, one per group (byte g % 4 of a word is group g, lowest
 *  first, as io.ts storeScale writes them), compared in exponent steps. */
interface CodeView {
  readonly length: number;
  readonly unit: UlpFormat;
  expected(j: number): number;
  actual(j: number): number;
  row(j: number): number;
  column(j: number): number;
  group(j: number): number | null;
  format(code: number): CodeValue;
  decode(code: number): number;
}

function codeView(pair: OutputPair, geometry: OutputGeometry): CodeView {
  const { reference, candidate } = pair;
  if (reference.dtype === 'I32') {
    // j is the byte offset in the tensor's little-endian bytes: word j >> 2, byte j & 3.
    const byte = (data: Tensor['data'], j: number): number => (data[j >>> 2] >>> (8 * (j & 3))) & 0xff;
    const group = (j: number): number => geometry.groupOf(j >>> 2)! + (j & 3);
    return {
      length: reference.data.length * 4,
      unit: 'ue8m0',
      expected: (j) => byte(reference.data, j),
      actual: (j) => byte(candidate.data, j),
      row: (j) => geometry.rowOf(j >>> 2),
      column: group,
      group,
      format: formatUe8m0,
      decode: (code) => f32FromBits(f32BitsFromE8m0(code)),
    };
  }
  const dtype = reference.dtype;
  return {
    length: reference.data.length,
    unit: ulpFormatOf(dtype),
    expected: (j) => reference.data[j],
    actual: (j) => candidate.data[j],
    row: geometry.rowOf,
    column: geometry.columnOf,
    group: geometry.groupOf,
    format: (code) => formatCode(code, dtype),
    decode: (code) => decodeCode(code, dtype),
  };
}

/** |candidate - golden| / |golden| in f32 values, for scales (0 when both are 0, Infinity
 *  when only the golden is); null when either side is NaN or infinite. */
function relativeError(expected: number, actual: number, view: CodeView): number | null {
  const e = view.decode(expected);
  const a = view.decode(actual);
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

/** One pass over an output: statistics, worst elements, differing rows and groups. Elements
 *  `skip` names (rows an rstd shift explains, groups a scale shift explains) are left out, and
 *  so are those outside `ranges` (rows where the output cannot differ). */
function scan(pair: OutputPair, view: CodeView, keep: number, skip: (row: number, group: number | null) => boolean, ranges: readonly [number, number][]): Scan {
  const tally = new MismatchTally(view.unit);
  // NaN and Inf mismatches (no ULP distance) rank first.
  const worst = new WorstElements<ElementReport>(keep, (e) => (e.ulp === null ? Infinity : Math.abs(e.ulp)));
  const rows = new Set<number>();
  const groups = new Set<string>();
  const relative = pair.kind === 'scale';
  let maxRelativeError: number | null = null;
  for (const [start, end] of ranges)
    for (let j = start; j < end; j++) {
      const e = view.expected(j);
      const a = view.actual(j);
      if (sameCode(e, a, view.unit)) continue;
      const row = view.row(j);
      const group = view.group(j);
      if (skip(row, group)) continue;
      rows.add(row);
      if (group !== null) groups.add(`${row}:${group}`);
      const { kind, ulp } = tally.add(e, a);
      const relativeErr = relative ? relativeError(e, a, view) : null;
      if (relativeErr !== null && Number.isFinite(relativeErr)) maxRelativeError = Math.max(maxRelativeError ?? 0, relativeErr);
      if (keep > 0) {
        worst.push({
          index: j,
          rank: pair.rank,
          row,
          column: view.column(j),
          group,
          class: kind,
          ulp,
          relativeError: relativeErr !== null && Number.isFinite(relativeErr) ? relativeErr : null,
          golden: view.format(e),
          candidate: view.format(a),
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

/** Per-group scale inference, when asked (--scale infer) or when the golden's contract marks
 *  its reciprocal or divide 'inferred': the shared search of scaleDeviation.ts. */
function scaleInference(
  golden: GoldenSubject,
  pairs: readonly OutputPair[],
  options: DiffOptions,
  shifts: RstdShifts,
): { report: ScaleInference; deviations: ScaleDeviations } | null {
  const quant = golden.contract.quant;
  const asked = options.scaleUlps ?? null;
  if (asked !== null) {
    if (!quant) throw new ContractError(`--scale infer: the golden's contract (${golden.preset}) has no quant section`);
    if (quant.scaleLayout.kind === 'packed-ue8m0')
      throw new ContractError('--scale infer: packed UE8M0 scales are powers of two, which an f32 scale shift does not move; compare them without it');
  }
  const trigger = asked !== null ? 'flag' : 'contract';
  const ulps = asked ?? (quant && quant.scaleLayout.kind !== 'packed-ue8m0' && scaleSlotInferred(golden.contract) ? DEFAULT_APPROXIMATION_ULPS : null);
  if (ulps === null) return null;
  const deviations = inferScaleDeviations(golden, pairs, ulps, shifts);
  const { examined, explained, unexplained } = deviations;
  return { report: { ulps, examined, explained: explained.map((g) => ({ ...g })), unexplained: unexplained.map((g) => ({ ...g })), trigger }, deviations };
}

/** With rowsToScan, a candidate output named there is scanned on those token rows only: the
 *  rows where it differs from the golden's, as a GPU compare found them (src/diff/gpuDiff.ts). */
export function diffOutputs(
  golden: GoldenSubject,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: DiffOptions = DEFAULT_DIFF_OPTIONS,
  rowsToScan?: ReadonlyMap<string, readonly number[]>,
): DiffReport {
  const { contract, shape } = golden;
  const { pairs, unmatched } = pairOutputs(golden.outputs, candidate, shape.ranks, candidateFile);
  const unused = Object.keys(options.maxUlpByOutput ?? {}).filter((name) => !pairs.some((p) => p.name === name || `out.${p.kind}` === name));
  if (unused.length > 0) throw new ContractError(`--max-ulp: ${unused.join(', ')}: no such output here (outputs: ${pairs.map((p) => p.name).join(', ')})`);
  const rstd = options.rstdUlps === null ? null : inferRstd(golden, pairs, options.rstdUlps);
  const rstdReport = rstd ? rstd.report : null;
  const shifts: RstdShifts = rstd?.shifts ?? new Map();
  const scale = scaleInference(golden, pairs, options, shifts);
  const scaledGroups = explainedGroupKeys(scale && scale.deviations);
  const inferring = rstd !== null || scale !== null;
  const outputs: OutputReport[] = pairs.map((pair) => {
    const geometry = outputGeometry(pair.kind, shape, contract);
    const view = codeView(pair, geometry);
    // Only residual, norm and q outputs, row-major [tokens, hidden], are ever named in rowsToScan.
    const ranges = rowRanges(view.length, geometry.rowLength, rowsToScan?.get(pair.name));
    const all = scan(pair, view, options.worst, () => false, ranges);
    const rowsShifted = shiftedRows(shifts, pair.rank);
    const explained = (row: number, group: number | null): boolean =>
      rowsShifted.has(row) || (group !== null && scaledGroups.has(groupRefKey(pair.rank, row, group)));
    const after = inferring ? scan(pair, view, 0, explained, ranges).stats : null;
    const elements = view.length;
    return {
      name: pair.name,
      reference: pair.referenceName,
      kind: pair.kind,
      rank: pair.rank,
      dtype: pair.reference.dtype,
      shape: [...pair.reference.shape],
      unit: view.unit,
      elements,
      bitExact: elements - all.stats.differing,
      bitExactShare: elements === 0 ? 1 : (elements - all.stats.differing) / elements,
      stats: all.stats,
      maxRelativeError: all.maxRelativeError,
      histogram: [...all.histogram].sort(([a], [b]) => a - b).map(([ulp, count]) => ({ ulp, count })),
      worst: all.worst,
      differingRows: { count: all.rows.length, rows: all.rows.slice(0, options.listLimit) },
      differingGroups: pair.kind === 'q' || pair.kind === 'scale' ? { count: all.groupCount, groups: all.groups.slice(0, options.listLimit) } : null,
      afterInference: after,
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
    scale: scale && scale.report,
    quantConsistency: checkCodesAgainstCandidateScales(golden, pairs, shifts),
    ignored: unmatched,
    pass: outputs.every((o) => o.pass),
  };
  return DiffReportSchema.parse(report);
}

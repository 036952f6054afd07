import type { Contract } from '../contracts/schema.js';
import type { Tensor } from '../numerics/tensor.js';
import { runCpuEngine } from '../engines/cpu/engine.js';
import type { OutputKind } from '../engines/io.js';
import { getPath, withFields } from './dimensions.js';
import { sameCodeOf } from './compare.js';
import { RowScorer, scoreKey, spreadRows, type ApproximationOptions, type ExplainProblem } from './explainScore.js';
import { STAGE_OUTPUTS, type DimensionFit, type SearchResult } from './explainSearch.js';
import { differingRows, incompatibility, outputGeometry, parseOutputName, referenceNameFor, rowRanges, type OutputPair } from './pairs.js';
import { prefetch, scoreEach, scoring, type Scoring, type ScoreThreads } from './scoreThreads.js';
import { inferRstd, type CaseSubject, type RstdSearchScope, type RstdShifts } from './rstd.js';
import {
  DEFAULT_APPROXIMATION_ULPS,
  explainedGroupKeys,
  groupRefKey,
  inferScaleDeviations,
  scaleSlotInferred,
  type ScaleDeviations,
} from './scaleDeviation.js';
import type { RstdReport } from './report.js';
import { hexBits } from './values.js';

// The search fits on a few rows; rescoring checks the fit on every row: it runs the fitted
// contract over the whole case, lets approximate hardware slots explain what they can (a
// per-row rstd shift for an inferred rsqrt, a per-group scale shift for an inferred reciprocal
// or divide), lists the elements nothing explains, and confirms each tie on more rows.

/** Rows each tie is confirmed on (the fit itself is checked on every row). */
const TIE_ROWS = 6;
/** Rows checked for following from the candidate's own earlier output. */
const INHERITED_ROWS_CHECKED = 64;
/** Unexplained elements listed (all are counted). */
export const LISTED_ELEMENTS = 20;

export interface OutputRescore {
  readonly name: string;
  readonly elements: number;
  readonly differing: number;
  /** Differing elements in rows (rsqrt) or groups (reciprocal, divide) an approximation explains. */
  readonly approximated: number;
  /** Differing elements the fit reproduces from the candidate's own bf16 residual or norm
   *  output: they follow from an earlier wrong element. */
  readonly inherited: number;
  readonly unexplained: number;
  /** Why the output cannot be compared with the fit (not produced, other dtype or shape). */
  readonly note: string | null;
}

export interface ElementRef {
  readonly name: string;
  readonly row: number;
  readonly column: number;
  readonly expected: string;
  readonly actual: string;
}

export interface Rescore {
  /** The search's fit with its ties decided on more rows: the answer. */
  readonly contract: Contract;
  readonly outputs: readonly OutputRescore[];
  readonly rstd: RstdReport | null;
  readonly scale: ScaleDeviations | null;
  readonly unexplained: readonly ElementRef[];
  readonly unexplainedCount: number;
  /** Distinct (output, row) pairs holding an unexplained element. */
  readonly unexplainedRows: number;
  /** The search's ties that still tie on the tie rows, by path. */
  readonly ties: ReadonlyMap<string, readonly unknown[]>;
  readonly tieRows: readonly number[];
  readonly engineRuns: number;
}

const inferred = (contract: Contract, path: string): boolean => getPath(contract, path) === 'inferred';

/** The search's fit with its ties decided on the tie rows: the contract rescoring runs whole. */
export interface RefinedFit {
  readonly contract: Contract;
  readonly ties: ReadonlyMap<string, readonly unknown[]>;
  readonly tieRows: readonly number[];
  readonly engineRuns: number;
}

export async function refineFit(
  problem: ExplainProblem,
  search: SearchResult,
  options: ApproximationOptions,
  threads: ScoreThreads | null,
): Promise<RefinedFit> {
  const tieRows = spreadRows(problem.subject.shape.tokens, TIE_ROWS);
  return { ...(await refineTies(problem, search, tieRows, options, threads)), tieRows };
}

/** The refined fit's outputs over the whole case, as an engine computed them, and for each
 *  candidate output named in rowsToScan the only token rows where it can differ from its
 *  reference output (another engine compared the rest; src/diff/gpuFitted.ts); an output not
 *  named there is compared on every row. */
export interface FittedOutputs {
  readonly outputs: ReadonlyMap<string, Tensor>;
  readonly rowsToScan?: ReadonlyMap<string, readonly number[]>;
}

/** The fit run by the CPU engine over the whole case. */
export function cpuFittedOutputs(subject: CaseSubject, contract: Contract): FittedOutputs {
  return { outputs: runCpuEngine(contract, subject.shape, subject.inputs) };
}

/** The rows the rstd search must look at: every row, unless the norm and q outputs' differing
 *  rows are known (rowsToScan); then those, with the rows where a scale differs (scales are
 *  small, compared here). A row outside them differs in no output the rstd feeds, and the
 *  search passes over such a row. */
function rstdScope(pairs: readonly OutputPair[], fitted: FittedOutputs, subject: CaseSubject): RstdSearchScope {
  const rstdSide = pairs.filter((p) => p.kind !== 'residual');
  const known = rstdSide.filter((p) => p.kind !== 'scale').every((p) => fitted.rowsToScan?.has(p.name));
  if (!known) return {};
  const rows = new Set<number>();
  for (const p of rstdSide) {
    const differing =
      p.kind === 'scale' ? differingRows(p.reference, p.candidate, outputGeometry('scale', subject.shape, subject.contract)) : fitted.rowsToScan!.get(p.name)!;
    for (const m of differing) rows.add(m);
  }
  return { rows };
}

export function rescore(problem: ExplainProblem, refined: RefinedFit, options: ApproximationOptions, fitted: FittedOutputs): Rescore {
  const { shape, inputs } = problem.subject;
  const { contract, ties, tieRows } = refined;
  const subject = { contract, shape, inputs };
  const { outputs } = fitted;
  let engineRuns = 1 + refined.engineRuns;
  const pairs: OutputPair[] = [];
  const notes = new Map<string, string>();
  for (const [name, tensor] of problem.candidate) {
    const parsed = parseOutputName(name)!;
    const referenceName = referenceNameFor(name, outputs);
    const reference = referenceName === null ? null : outputs.get(referenceName)!;
    const why = reference === null ? 'not produced by the fitted contract' : incompatibility(reference, tensor, "the fitted contract's");
    if (why !== null || reference === null || referenceName === null) notes.set(name, why ?? 'not produced');
    else pairs.push({ name, referenceName, kind: parsed.kind, rank: parsed.rank, reference, candidate: tensor });
  }

  // Approximate hardware slots, each searched only when asked or when the fit names it.
  const rstdUlps = options.rstdUlps ?? (inferred(contract, 'hardwareOps.rsqrt') ? DEFAULT_APPROXIMATION_ULPS : null);
  let rstd: RstdReport | null = null;
  let shifts: RstdShifts = new Map();
  if (rstdUlps !== null) {
    const found = inferRstd(subject, pairs, rstdUlps, rstdScope(pairs, fitted, subject));
    rstd = found.report;
    shifts = found.shifts;
    engineRuns += found.engineRuns;
  }
  const scaleUlps = options.scaleUlps ?? (scaleSlotInferred(contract) ? DEFAULT_APPROXIMATION_ULPS : null);
  let scale: ScaleDeviations | null = null;
  if (scaleUlps !== null) {
    scale = inferScaleDeviations(subject, pairs, scaleUlps, shifts);
    engineRuns += scale.engineRuns;
  }
  const scaledGroups = explainedGroupKeys(scale);

  // A norm or quant row that the fit reproduces once fed the candidate's own bf16 residual or
  // norm output (where the contract reads it in bf16) follows from an earlier wrong element.
  const checked = new Map<string, boolean>();
  const followsFromOwnInput = (kind: OutputKind, row: number): boolean => {
    if (kind === 'residual') return false;
    const key = `${kind}:${row}`;
    let follows = checked.get(key);
    if (follows === undefined) {
      follows = checked.size < INHERITED_ROWS_CHECKED && new RowScorer(problem, [row]).mismatches(contract, new Set([kind])) === 0;
      checked.set(key, follows);
    }
    return follows;
  };
  const reports: OutputRescore[] = [];
  const unexplained: ElementRef[] = [];
  let unexplainedCount = 0;
  const unexplainedRows = new Set<string>();
  for (const [name, tensor] of problem.candidate) {
    const pair = pairs.find((p) => p.name === name);
    if (!pair) {
      reports.push({
        name,
        elements: tensor.data.length,
        differing: tensor.data.length,
        approximated: 0,
        inherited: 0,
        unexplained: tensor.data.length,
        note: notes.get(name)!,
      });
      unexplainedCount += tensor.data.length;
      for (let m = 0; m < shape.tokens; m++) unexplainedRows.add(`${name}:${m}`);
      continue;
    }
    const geometry = outputGeometry(pair.kind, shape, contract);
    const same = sameCodeOf(tensor.dtype);
    const rowsShifted = pair.kind === 'residual' ? new Set<number>() : new Set(shifts.get(pair.rank)?.keys() ?? []);
    let differing = 0;
    let approximated = 0;
    let inherited = 0;
    // Only residual, norm and q outputs, row-major [tokens, hidden], are ever named in rowsToScan.
    for (const [start, end] of rowRanges(tensor.data.length, geometry.rowLength, fitted.rowsToScan?.get(name)))
      for (let i = start; i < end; i++) {
        if (same(pair.reference.data[i], tensor.data[i])) continue;
        differing++;
        const row = geometry.rowOf(i);
        const group = geometry.groupOf(i);
        if (rowsShifted.has(row) || (group !== null && scaledGroups.has(groupRefKey(pair.rank, row, group)))) {
          approximated++;
          continue;
        }
        if (followsFromOwnInput(pair.kind, row)) {
          inherited++;
          continue;
        }
        unexplainedCount++;
        unexplainedRows.add(`${name}:${row}`);
        if (unexplained.length < LISTED_ELEMENTS) {
          unexplained.push({
            name,
            row,
            column: geometry.columnOf(i),
            expected: hexBits(pair.reference.data[i], tensor.dtype),
            actual: hexBits(tensor.data[i], tensor.dtype),
          });
        }
      }
    reports.push({ name, elements: tensor.data.length, differing, approximated, inherited, unexplained: differing - approximated - inherited, note: null });
  }

  return { contract, outputs: reports, rstd, scale, unexplained, unexplainedCount, unexplainedRows: unexplainedRows.size, ties, tieRows, engineRuns };
}

/** The ties of the search, decided on more rows: each tied dimension takes the value with the
 *  fewest mismatches on its own stage's outputs, then on the outputs of the stage that last
 *  searched it; the values still equal on both remain ties. A value the fit on a few rows
 *  could not tell apart is often told apart by a row it did not see. */
async function refineTies(
  problem: ExplainProblem,
  search: SearchResult,
  tieRows: readonly number[],
  approximations: ApproximationOptions,
  threads: ScoreThreads | null,
): Promise<{ contract: Contract; ties: Map<string, readonly unknown[]>; engineRuns: number }> {
  const scorer = new RowScorer(problem, tieRows, approximations);
  const observed = new Set(search.stages.flatMap((s) => s.outputs));
  const stageKinds = (stage: DimensionFit['stage']): ReadonlySet<OutputKind> => new Set(STAGE_OUTPUTS[stage].filter((k) => observed.has(k)));
  const tied = search.dimensions.filter((fit) => fit.ties.length > 0);
  if (threads) await prefetchTies(scorer, threads, search.contract, tied, stageKinds);
  let contract = search.contract;
  const ties = new Map<string, readonly unknown[]>();
  for (const fit of tied) {
    const own = stageKinds(fit.stage);
    const decided = stageKinds(fit.decidedBy);
    const options = tieOptions(contract, fit);
    // The options with the fewest mismatches: the first (the fit's value) counted exactly, the
    // others as one batch bounded by it (scoreEach), so that a count at or above the bound only
    // says the option is not among the fewest.
    const fewest = async (candidates: typeof options, kinds: ReadonlySet<OutputKind>): Promise<typeof options> => {
      if (kinds.size === 0 || candidates.length === 0) return candidates;
      const [first, ...others] = candidates;
      const firstCount = scorer.mismatches(first.c, kinds);
      const counts = [
        firstCount,
        ...(await scoreEach(
          scorer,
          threads,
          others.map((o) => o.c),
          kinds,
          firstCount + 1,
        )),
      ];
      const least = Math.min(...counts);
      return candidates.filter((_, i) => counts[i] === least);
    };
    const [chosen, ...rest] = await fewest(await fewest(options, own), decided);
    contract = chosen.c;
    ties.set(
      fit.path,
      rest.map((o) => o.value),
    );
  }
  return { contract, ties, engineRuns: scorer.runs };
}

/** A tied dimension's values, the contract's own first, each as the contract with it. */
function tieOptions(contract: Contract, fit: DimensionFit): { value: unknown; c: Contract }[] {
  return [getPath(contract, fit.path), ...fit.ties]
    .map((value) => ({ value, c: withFields(contract, { [fit.path]: value }) }))
    .filter((o): o is { value: unknown; c: Contract } => o.c !== null);
}

/** Every count refineTies makes while each dimension keeps the search's value, scored ahead on
 *  the threads in two batches (the search's contract on each kind set, whose counts bound the
 *  rest, then every other value on its dimension's kinds) instead of a batch per dimension and
 *  pass: the scorer takes a prefetched count only where refineTies asks exactly it (a dimension
 *  that moves the contract asks others, counted then). */
async function prefetchTies(
  scorer: RowScorer,
  threads: ScoreThreads,
  contract: Contract,
  tied: readonly DimensionFit[],
  stageKinds: (stage: DimensionFit['stage']) => ReadonlySet<OutputKind>,
): Promise<void> {
  const kindSets = tied.flatMap((fit) => [stageKinds(fit.stage), stageKinds(fit.decidedBy)]).filter((kinds) => kinds.size > 0);
  await prefetch(
    scorer,
    threads,
    kindSets.map((kinds) => scoring(contract, kinds, Infinity)),
  );
  const others: Scoring[] = [];
  for (const fit of tied) {
    for (const kinds of [stageKinds(fit.stage), stageKinds(fit.decidedBy)]) {
      const first = kinds.size > 0 ? scorer.known(scoreKey(contract, kinds), Infinity) : null;
      if (first === null) continue;
      for (const option of tieOptions(contract, fit).slice(1)) others.push(scoring(option.c, kinds, first + 1));
    }
  }
  await prefetch(scorer, threads, others);
}

import type { Contract, Shape } from '../contracts/schema.js';
import { checkContractForShape } from '../contracts/validate.js';
import { allReduce } from '../engines/cpu/allReduce.js';
import { afterRstd, rowScratch, runCpuEngine, type RowScratch } from '../engines/cpu/engine.js';
import { sumOfSquares } from '../engines/cpu/sumOfSquares.js';
import { checkCaseInputs, loadScale, quantGroups, scaleWords, type CaseInputs, type OutputKind } from '../engines/io.js';
import { bitsFromF32, f32FromBits } from '../numerics/f32.js';
import { decodeCode } from './values.js';
import { quantize } from '../engines/cpu/quant.js';
import { cpuCase, quantConstants, type CpuCase } from '../engines/cpu/context.js';
import { f32Arithmetic } from '../numerics/f32ops.js';
import type { Tensor } from '../numerics/tensor.js';
import { sameCode, sameCodeOf, ulpFormatOf } from './compare.js';
import { differingRows, outputGeometry, parseOutputName, rowMatches, type OutputPair } from './pairs.js';
import type { QuantConsistency, RstdReport } from './report.js';

// Real kernels compute rstd with a hardware rsqrt (about 1 ULP), so a whole row can differ from
// the correctly rounded reference. For each such row we rerun the contract with rstd moved by
// +-1, +-2, ... f32 ULP and keep the smallest shift that reproduces the candidate's row bit for
// bit in every output that depends on rstd. A row's all-reduce and sum of squares are computed
// once; each shift reruns only the stages after the rstd (RowsFromRstd).
// The same rerun with the candidate's own scales tells codes that follow from a different
// scale apart from codes that are wrong under any scale.

/** A row no rstd within the search range reproduces, but a larger shift of one sign does: the
 *  kernel's rstd is further off than an approximate rsqrt goes, so the sum of squares (or the
 *  variance) it was computed from differs. */
export const SUM_OF_SQUARES_DIFFERS = 'the sum of squares differs (reduction order?)';
export const RSTD_MISS_REASONS = ['no rstd within range', 'residual differs', SUM_OF_SQUARES_DIFFERS] as const;
/** How far beyond the search range a row's needed rstd shift is looked for: 2^22 f32 ULP is a
 *  factor of 1.5. */
const NEEDED_SHIFT_LIMIT = 2 ** 22;

/** The one sentence diff and explain print for a row rstd inference leaves unexplained. */
export function describeRstdMiss(miss: RstdReport['unexplained'][number]): string {
  if (miss.reason !== SUM_OF_SQUARES_DIFFERS || miss.shiftNeededUlp === undefined) return miss.reason;
  return `${SUM_OF_SQUARES_DIFFERS}: rstd needs a shift of ${miss.shiftNeededUlp > 0 ? '+' : ''}${miss.shiftNeededUlp} f32 ULP`;
}

export interface CaseSubject {
  readonly contract: Contract;
  readonly shape: Shape;
  readonly inputs: CaseInputs;
}

const RSTD_SIDE: ReadonlySet<OutputKind> = new Set(['norm', 'q', 'scale']);

/** rstd shifts found: candidate rank (null for rank-less outputs) -> row -> shift in f32 ULP. */
export type RstdShifts = ReadonlyMap<number | null, ReadonlyMap<number, number>>;

/** Rows of one candidate rank that an rstd shift explains. */
export function shiftedRows(shifts: RstdShifts, rank: number | null): ReadonlySet<number> {
  return new Set(shifts.get(rank)?.keys() ?? []);
}

/** value moved by `steps` f32 ULP; a non-positive or non-finite rstd is left alone. */
export function stepF32(value: number, steps: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return value;
  return f32FromBits(bitsFromF32(value) + steps);
}

function groupByRank(pairs: readonly OutputPair[]): Map<number | null, OutputPair[]> {
  const groups = new Map<number | null, OutputPair[]>();
  for (const p of pairs) groups.set(p.rank, [...(groups.get(p.rank) ?? []), p]);
  return groups;
}

export interface RstdSearchScope {
  /** Search only these token rows (explain scores a sample of rows). */
  readonly rows?: ReadonlySet<number>;
  /** Search at most this many rows, lowest first: explain probes a few before paying for all. */
  readonly rowLimit?: number;
}

export function inferRstd(
  subject: CaseSubject,
  pairs: readonly OutputPair[],
  ulps: number,
  scope: RstdSearchScope = {},
): { report: RstdReport; shifts: RstdShifts; engineRuns: number } {
  const { contract, shape } = subject;
  const pending = new Map<number | null, Set<number>>();
  const unexplained: RstdReport['unexplained'] = [];
  const inScope = scope.rows ? [...scope.rows].sort((a, b) => a - b) : Array.from({ length: shape.tokens }, (_, m) => m);
  for (const [rank, group] of groupByRank(pairs)) {
    const residual = group.find((p) => p.kind === 'residual');
    const rows = new Set<number>();
    for (const m of inScope) {
      const differs = group.some((p) => RSTD_SIDE.has(p.kind) && !rowMatches(p.reference, p.candidate, outputGeometry(p.kind, shape, contract), m));
      if (!differs) continue;
      if (residual && !rowMatches(residual.reference, residual.candidate, outputGeometry('residual', shape, contract), m))
        unexplained.push({ rank, row: m, reason: 'residual differs' });
      else rows.add(m);
    }
    pending.set(rank, rows);
  }
  let budget = scope.rowLimit ?? Infinity;
  for (const rowSet of pending.values()) {
    for (const m of [...rowSet]) {
      if (budget > 0) budget--;
      else rowSet.delete(m);
    }
  }
  const examined = [...pending.values()].reduce((n, s) => n + s.size, 0);
  const shifts = new Map<number | null, Map<number, number>>();
  const explained: RstdReport['explained'] = [];
  const groups = groupByRank(pairs);
  const rerun = examined > 0 ? new RowsFromRstd(subject) : null;
  const deltas = Array.from({ length: ulps }, (_, i) => [i + 1, -(i + 1)]).flat();
  // Shifts are tried in the order +1, -1, +2, -2, ...: a row takes the first that reproduces it.
  // Counted as one engine run per shift over the rows still unexplained (as many as the deepest
  // row needed).
  let shiftsTried = 0;
  for (const [rank, rowSet] of pending) {
    const sides = groups.get(rank)!.filter((p) => RSTD_SIDE.has(p.kind));
    for (const m of [...rowSet]) {
      const at = deltas.findIndex((delta) => rerun!.differing(sides, m, delta, true) === 0);
      shiftsTried = Math.max(shiftsTried, at < 0 ? deltas.length : at + 1);
      if (at < 0) continue;
      explained.push({ rank, row: m, deltaUlp: deltas[at] });
      if (!shifts.has(rank)) shifts.set(rank, new Map());
      shifts.get(rank)!.set(m, deltas[at]);
      rowSet.delete(m);
    }
  }
  let engineRuns = shiftsTried;
  for (const [rank, rowSet] of pending) {
    const sides = groups.get(rank)!.filter((p) => RSTD_SIDE.has(p.kind));
    const norm = sides.find((p) => p.kind === 'norm');
    for (const m of rowSet) {
      const direction = norm ? rstdDirection(norm, outputGeometry('norm', shape, contract), m) : 0;
      if (direction === 0) {
        unexplained.push({ rank, row: m, reason: 'no rstd within range' });
        continue;
      }
      const found = neededShift(rerun!, sides, m, direction, ulps);
      engineRuns += found.engineRuns;
      unexplained.push(
        found.shift === null ? { rank, row: m, reason: 'no rstd within range' } : { rank, row: m, reason: SUM_OF_SQUARES_DIFFERS, shiftNeededUlp: found.shift },
      );
    }
  }
  const byRankRow = (a: { rank: number | null; row: number }, b: { rank: number | null; row: number }) => (a.rank ?? -1) - (b.rank ?? -1) || a.row - b.row;
  return { report: { ulps, examined, explained: explained.sort(byRankRow), unexplained: unexplained.sort(byRankRow) }, shifts, engineRuns };
}

/** +1 when every differing norm element of the row is what a larger rstd gives (further from
 *  zero), -1 when every one is what a smaller rstd gives, 0 when they disagree (then no single
 *  rstd reproduces the row: the norm is rstd times a factor that does not depend on rstd, so
 *  every magnitude moves the same way with it). */
function rstdDirection(norm: OutputPair, geometry: ReturnType<typeof outputGeometry>, row: number): -1 | 0 | 1 {
  const format = ulpFormatOf(norm.reference.dtype);
  let up = 0;
  let down = 0;
  for (let k = 0; k < geometry.rowLength; k++) {
    const i = geometry.indexOf(row, k);
    const reference = norm.reference.data[i];
    const candidate = norm.candidate.data[i];
    if (sameCode(reference, candidate, format)) continue;
    // bf16 bits: same sign, larger magnitude bits = further from zero.
    if ((reference & 0x8000) !== (candidate & 0x8000)) return 0;
    if ((candidate & 0x7fff) > (reference & 0x7fff)) up++;
    else down++;
  }
  if (up > 0 && down === 0) return 1;
  if (down > 0 && up === 0) return -1;
  return 0;
}

/** A shift past the search range, in the row's direction, that reproduces the row; null when
 *  none up to NEEDED_SHIFT_LIMIT does. The count of the row's differing elements falls as the
 *  shift nears the kernel's rstd and rises past it: doubling outward brackets the least count,
 *  a ternary search narrows the bracket, and the few shifts left are tried one by one. */
function neededShift(
  rerun: RowsFromRstd,
  sides: readonly OutputPair[],
  row: number,
  direction: 1 | -1,
  ulps: number,
): { shift: number | null; engineRuns: number } {
  let engineRuns = 0;
  const remaining = (delta: number): number => {
    engineRuns++;
    return rerun.differing(sides, row, delta, false);
  };
  const tried: { distance: number; remaining: number }[] = [];
  for (let distance = ulps + 1; distance <= NEEDED_SHIFT_LIMIT; distance *= 2) {
    tried.push({ distance, remaining: remaining(direction * distance) });
    const n = tried.length;
    if (tried[n - 1].remaining === 0 || (n > 1 && tried[n - 1].remaining > tried[n - 2].remaining)) break;
  }
  const b = tried.reduce((best, t, i) => (t.remaining < tried[best].remaining ? i : best), 0);
  let lo = b > 0 ? tried[b - 1].distance : ulps + 1;
  let hi = b + 1 < tried.length ? tried[b + 1].distance : tried[b].distance;
  while (hi - lo > 8) {
    const m1 = lo + Math.floor((hi - lo) / 3);
    const m2 = hi - Math.floor((hi - lo) / 3);
    if (remaining(direction * m1) <= remaining(direction * m2)) hi = m2;
    else lo = m1;
  }
  for (let distance = lo; distance <= hi; distance++) {
    if (remaining(direction * distance) === 0) return { shift: direction * distance, engineRuns };
  }
  return { shift: tried[b].remaining === 0 ? direction * tried[b].distance : null, engineRuns };
}

/** A case's rows rerun from the rstd on, for the rstd search: each (output rank, row)'s
 *  all-reduce and sum of squares computed once, then, for each rstd shift tried, only the stages
 *  after the rstd (the engine's afterRstd: normalize, group scale, quantize) into one row's
 *  buffers, compared with the candidate's row. */
class RowsFromRstd {
  private readonly c: CpuCase;
  private readonly scratch: RowScratch;
  private readonly residual: Uint16Array;
  private readonly norm: Uint16Array;
  private readonly codes: Uint8Array;
  /** Every word of out.scale (a row's scales sit apart in column-major layouts); only the words
   *  of the row last computed are read. */
  private readonly scales: Uint32Array;
  /** The row whose all-reduce and reproducible rstd are held, per output rank. */
  private readonly held = new Map<number, { row: number; x: Float32Array; rstd: number }>();

  constructor(subject: CaseSubject) {
    const { contract, inputs } = subject;
    const shape = checkContractForShape(contract, subject.shape);
    checkCaseInputs(contract, shape, inputs);
    this.c = cpuCase(contract, shape, inputs);
    this.scratch = rowScratch(this.c);
    this.residual = new Uint16Array(shape.hidden);
    this.norm = new Uint16Array(shape.hidden);
    const q = this.c.quant;
    this.codes = new Uint8Array(q ? shape.hidden : 0);
    this.scales = new Uint32Array(q ? scaleWords(q.quant.scaleLayout, shape.tokens, q.groups) : 0);
  }

  /** Elements of the row, over the outputs `sides`, that the contract with the row's rstd moved
   *  by `delta` f32 ULP does not reproduce (with stopAtFirst: 0 or 1, whether any). */
  differing(sides: readonly OutputPair[], row: number, delta: number, stopAtFirst: boolean): number {
    let n = 0;
    let computed: number | null = null;
    for (const p of sides) {
      // The output rank the pair's reference output belongs to (rank 0 for a rank-less one).
      const outputRank = parseOutputName(p.referenceName)?.rank ?? 0;
      if (outputRank !== computed) {
        this.compute(outputRank, row, delta);
        computed = outputRank;
      }
      n += this.differingInRow(p, row, stopAtFirst);
      if (stopAtFirst && n > 0) return n;
    }
    return n;
  }

  private compute(outputRank: number, row: number, delta: number): void {
    const { c } = this;
    let held = this.held.get(outputRank);
    if (held?.row !== row) {
      const x = held?.x ?? new Float32Array(c.shape.hidden);
      allReduce(c, row, outputRank, x, this.residual);
      held = { row, x, rstd: sumOfSquares(c, x) };
      this.held.set(outputRank, held);
    }
    const quantOut = c.quant ? { codes: this.codes, codesOffset: 0, scales: this.scales } : null;
    afterRstd(c, row, held.x, stepF32(held.rstd, delta), this.scratch, this.norm, quantOut);
  }

  private differingInRow(p: OutputPair, row: number, stopAtFirst: boolean): number {
    const { shape, contract } = this.c;
    const geometry = outputGeometry(p.kind, shape, contract);
    const same = sameCodeOf(p.reference.dtype);
    // norm and q rows were computed at offset 0; scale words sit where out.scale holds them.
    const computed = p.kind === 'norm' ? this.norm : p.kind === 'q' ? this.codes : this.scales;
    const offset = p.kind === 'scale' ? 0 : row * shape.hidden;
    let n = 0;
    for (let k = 0; k < geometry.rowLength; k++) {
      const i = geometry.indexOf(row, k);
      if (same(computed[i - offset], p.candidate.data[i])) continue;
      n++;
      if (stopAtFirst) return n;
    }
    return n;
  }
}

/** The codes a candidate's quantizer gives for the rows listed: from the candidate's own
 *  bf16 norm output when the quantizer reads exactly that (quant.input 'bf16'), else from the
 *  golden's inputs rerun with the rstd shifts found. Either way under the candidate's scales. */
function requantize(
  subject: CaseSubject,
  q: OutputPair,
  scale: OutputPair,
  norm: OutputPair | undefined,
  rows: readonly number[],
  shift: (m: number) => number,
): { basis: 'candidate norm' | 'golden inputs'; codes: Tensor } {
  const { contract, shape } = subject;
  const quant = contract.quant!;
  const groups = quantGroups(quant, shape.hidden);
  // loadScale reads any layout, a packed UE8M0 byte included.
  const candidateScale = (m: number, g: number) => f32FromBits(loadScale(scale.candidate.data as Uint32Array, quant.scaleLayout, m, g, shape.tokens, groups));
  if (quant.input === 'bf16' && norm) {
    const data = new Uint8Array(q.candidate.data.length);
    const qGeometry = outputGeometry('q', shape, contract);
    const constants = quantConstants(quant, shape.hidden, contract.hardwareOps);
    const f32 = f32Arithmetic(contract.f32Subnormals);
    const values = new Float32Array(constants.groupSize);
    const codes = new Uint8Array(constants.groupSize);
    for (const m of rows) {
      for (let g = 0; g < constants.groups; g++) {
        for (let k = 0; k < constants.groupSize; k++)
          values[k] = decodeCode(norm.candidate.data[qGeometry.indexOf(m, g * constants.groupSize + k)], norm.candidate.dtype);
        quantize(constants, f32, values, candidateScale(m, g), codes, 0);
        for (let k = 0; k < constants.groupSize; k++) data[qGeometry.indexOf(m, g * constants.groupSize + k)] = codes[k];
      }
    }
    return { basis: 'candidate norm', codes: { dtype: q.candidate.dtype, shape: q.candidate.shape, data } as Tensor };
  }
  const outputs = runCpuEngine(contract, shape, subject.inputs, {
    rows,
    scaleOverride: (m, g) => candidateScale(m, g),
    rstdOverride: (m, rstd) => stepF32(rstd, shift(m)),
  });
  return { basis: 'golden inputs', codes: outputs.get(q.referenceName)! };
}

/** For each candidate q tensor: are its differing codes what its quantizer gives under the
 *  candidate's own scales, from the candidate's own norm output where the quantizer reads it
 *  (else from the golden's values, with the rstd shifts found, if any)? */
export function checkCodesAgainstCandidateScales(subject: CaseSubject, pairs: readonly OutputPair[], shifts: RstdShifts): QuantConsistency[] {
  const { contract, shape } = subject;
  const results: QuantConsistency[] = [];
  for (const [rank, group] of groupByRank(pairs)) {
    const q = group.find((p) => p.kind === 'q');
    const scale = group.find((p) => p.kind === 'scale');
    if (!q || !scale) continue;
    const qGeometry = outputGeometry('q', shape, contract);
    const layout = contract.quant!.scaleLayout;
    const groups = quantGroups(contract.quant!, shape.hidden);
    const scaleBits = (t: Tensor, m: number, g: number) => loadScale(t.data as Uint32Array, layout, m, g, shape.tokens, groups);
    const scaleSame = sameCodeOf('F32');
    let groupsWithDifferentScale = 0;
    for (let m = 0; m < shape.tokens; m++)
      for (let g = 0; g < groups; g++) if (!scaleSame(scaleBits(scale.reference, m, g), scaleBits(scale.candidate, m, g))) groupsWithDifferentScale++;
    const rows = [...differingRows(q.reference, q.candidate, qGeometry)].sort((a, b) => a - b);
    const norm = group.find((p) => p.kind === 'norm');
    const { basis, codes } = requantize(subject, q, scale, norm, rows, (m) => shifts.get(rank)?.get(m) ?? 0);
    let differingCodes = 0;
    let consistent = 0;
    const format = ulpFormatOf(q.reference.dtype);
    for (const m of rows) {
      for (let k = 0; k < qGeometry.rowLength; k++) {
        const i = qGeometry.indexOf(m, k);
        if (sameCode(q.reference.data[i], q.candidate.data[i], format)) continue;
        differingCodes++;
        if (sameCode(codes.data[i], q.candidate.data[i], format)) consistent++;
      }
    }
    results.push({
      name: q.name,
      rank,
      basis,
      differingCodes,
      consistentWithCandidateScale: consistent,
      inconsistent: differingCodes - consistent,
      groupsWithDifferentScale,
    });
  }
  return results;
}

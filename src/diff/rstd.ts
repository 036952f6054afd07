import type { Contract, Shape } from '../contracts/schema.js';
import { runCpuEngine } from '../engines/cpu/engine.js';
import type { CaseInputs, OutputKind } from '../engines/io.js';
import { bitsFromF32, f32FromBits } from '../numerics/f32.js';
import { decodeCode } from './values.js';
import { quantize } from '../engines/cpu/quant.js';
import { quantConstants } from '../engines/cpu/context.js';
import { f32Arithmetic } from '../numerics/f32ops.js';
import type { Tensor } from '../numerics/tensor.js';
import { sameCode, ulpFormatOf } from './compare.js';
import { differingRows, outputGeometry, rowMatches, type OutputPair } from './pairs.js';
import type { QuantConsistency, RstdReport } from './report.js';

// Real kernels compute rstd with a hardware rsqrt (about 1 ULP), so a whole row can differ from
// the correctly rounded reference. For each such row we rerun the contract with rstd moved by
// +-1, +-2, ... f32 ULP (all rows at once, one engine run per shift) and keep the smallest shift
// that reproduces the candidate's row bit for bit in every output that depends on rstd.
// The same rerun with the candidate's own scales tells codes that follow from a different
// scale apart from codes that are wrong under any scale.

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

export function shiftCount(shifts: RstdShifts): number {
  let n = 0;
  for (const rows of shifts.values()) n += rows.size;
  return n;
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

export function inferRstd(subject: CaseSubject, pairs: readonly OutputPair[], ulps: number, scope: RstdSearchScope = {}): { report: RstdReport; shifts: RstdShifts; engineRuns: number } {
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
      if (residual && !rowMatches(residual.reference, residual.candidate, outputGeometry('residual', shape, contract), m)) unexplained.push({ rank, row: m, reason: 'residual differs' });
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
  let engineRuns = 0;
  for (let distance = 1; distance <= ulps; distance++) {
    for (const delta of [distance, -distance]) {
      const rows = [...new Set([...pending.values()].flatMap((s) => [...s]))].sort((a, b) => a - b);
      if (rows.length === 0) break;
      const outputs = runCpuEngine(contract, shape, subject.inputs, { rows, rstdOverride: (_m, rstd) => stepF32(rstd, delta) });
      engineRuns++;
      for (const [rank, rowSet] of pending) {
        const sides = groups.get(rank)!.filter((p) => RSTD_SIDE.has(p.kind));
        for (const m of [...rowSet]) {
          if (sides.every((p) => rowMatches(p.candidate, outputs.get(p.referenceName)!, outputGeometry(p.kind, shape, contract), m))) {
            explained.push({ rank, row: m, deltaUlp: delta });
            if (!shifts.has(rank)) shifts.set(rank, new Map());
            shifts.get(rank)!.set(m, delta);
            rowSet.delete(m);
          }
        }
      }
    }
  }
  for (const [rank, rowSet] of pending) for (const m of rowSet) unexplained.push({ rank, row: m, reason: 'no rstd within range' });
  const byRankRow = (a: { rank: number | null; row: number }, b: { rank: number | null; row: number }) => (a.rank ?? -1) - (b.rank ?? -1) || a.row - b.row;
  return { report: { ulps, examined, explained: explained.sort(byRankRow), unexplained: unexplained.sort(byRankRow) }, shifts, engineRuns };
}

/** The largest rstd shift looked for beyond the search range: 2^22 f32 ULP is a factor of 1.5. */
const MAX_SHIFT_ULP = 2 ** 22;
/** Rows given the wider search (each costs some 50 one-row engine runs). */
const SUM_OF_SQUARES_ROWS = 8;

/** +1 when every differing element of the row moved away from zero, -1 when every one moved
 *  toward it (an rstd scaled up or down), else 0. */
function rowDirection(sides: readonly OutputPair[], shape: Shape, contract: Contract, row: number): number {
  let direction = 0;
  for (const p of sides) {
    const geometry = outputGeometry(p.kind, shape, contract);
    const format = ulpFormatOf(p.reference.dtype);
    for (let k = 0; k < geometry.rowLength; k++) {
      const i = geometry.indexOf(row, k);
      if (sameCode(p.reference.data[i], p.candidate.data[i], format)) continue;
      const g = Math.abs(decodeCode(p.reference.data[i], p.reference.dtype));
      const c = Math.abs(decodeCode(p.candidate.data[i], p.candidate.dtype));
      if (!Number.isFinite(g) || !Number.isFinite(c) || g === c) return 0;
      const d = c > g ? 1 : -1;
      if (direction !== 0 && d !== direction) return 0;
      direction = d;
    }
  }
  return direction;
}

/**
 * Rows no rstd within the searched range reproduces, looked at again: when all their differing
 * elements moved one way, the whole row was scaled, which is the rstd and so the sum of
 * squares (another reduction order, another tree), not a stray element. For those rows the
 * shift is searched further out (doubling, then narrowing on the count of differing
 * elements), and the row is reported as 'sum of squares differs' with the shift found when
 * that shift leaves fewer than half of the row's differences.
 */
export function diagnoseSumOfSquares(subject: CaseSubject, pairs: readonly OutputPair[], report: RstdReport): RstdReport {
  const { contract, shape } = subject;
  const groups = groupByRank(pairs);
  let budget = SUM_OF_SQUARES_ROWS;
  const unexplained = report.unexplained.map((u) => {
    if (u.reason !== 'no rstd within range' || budget === 0) return u;
    const sides = (groups.get(u.rank) ?? []).filter((p) => RSTD_SIDE.has(p.kind));
    const direction = rowDirection(sides, shape, contract, u.row);
    if (direction === 0) return u;
    budget--;
    const remaining = (shift: number): number => {
      const outputs = runCpuEngine(contract, shape, subject.inputs, { rows: [u.row], rstdOverride: (_m, rstd) => stepF32(rstd, shift) });
      let n = 0;
      for (const p of sides) {
        const geometry = outputGeometry(p.kind, shape, contract);
        const format = ulpFormatOf(p.reference.dtype);
        const rerun = outputs.get(p.referenceName)!;
        for (let k = 0; k < geometry.rowLength; k++) {
          const i = geometry.indexOf(u.row, k);
          if (!sameCode(rerun.data[i], p.candidate.data[i], format)) n++;
        }
      }
      return n;
    };
    // Doubling outward from the searched range until the count stops falling (or reaches 0).
    const tried: { ulp: number; remaining: number }[] = [];
    for (let shift = direction * report.ulps; Math.abs(shift) <= MAX_SHIFT_ULP; shift *= 2) {
      tried.push({ ulp: shift, remaining: remaining(shift) });
      const n = tried.length;
      if (tried[n - 1].remaining === 0 || (n > 1 && tried[n - 1].remaining > tried[n - 2].remaining)) break;
    }
    const b = tried.reduce((bi, t, i) => (t.remaining < tried[bi].remaining ? i : bi), 0);
    let best = tried[b];
    if (best.remaining > 0) {
      // The count falls, then rises: the least lies between the best shift's neighbours.
      const ends = [b > 0 ? tried[b - 1].ulp : best.ulp / 2, b + 1 < tried.length ? tried[b + 1].ulp : best.ulp];
      let lo = Math.min(...ends);
      let hi = Math.max(...ends);
      while (hi - lo > 2) {
        const m1 = lo + Math.floor((hi - lo) / 3);
        const m2 = hi - Math.floor((hi - lo) / 3);
        if (remaining(m1) <= remaining(m2)) hi = m2;
        else lo = m1;
      }
      for (let shift = lo; shift <= hi; shift++) {
        const n = remaining(shift);
        if (n < best.remaining || (n === best.remaining && Math.abs(shift) < Math.abs(best.ulp))) best = { ulp: shift, remaining: n };
      }
    }
    // A shift that leaves half the row's differences or more explains nothing (a stray element).
    if (2 * best.remaining >= remaining(0)) return u;
    return { rank: u.rank, row: u.row, reason: 'sum of squares differs' as const, shift: best };
  });
  return { ...report, unexplained };
}

/** The codes a candidate's quantizer gives for the rows listed: from the candidate's own
 *  bf16 norm output when the quantizer reads exactly that (quant.input 'bf16'), else from the
 *  golden's inputs rerun with the rstd shifts found. Either way under the candidate's scales. */
function requantize(subject: CaseSubject, q: OutputPair, scale: OutputPair, norm: OutputPair | undefined, rows: readonly number[], shift: (m: number) => number): { basis: 'candidate norm' | 'golden inputs'; codes: Tensor } {
  const { contract, shape } = subject;
  const quant = contract.quant!;
  const scaleGeometry = outputGeometry('scale', shape, contract);
  const candidateScale = (m: number, g: number) => f32FromBits(scale.candidate.data[scaleGeometry.indexOf(m, g)]);
  if (quant.input === 'bf16' && norm) {
    const data = new Uint8Array(q.candidate.data.length);
    const qGeometry = outputGeometry('q', shape, contract);
    const constants = quantConstants(quant, shape.hidden);
    const f32 = f32Arithmetic(contract.f32Subnormals);
    const values = new Float32Array(constants.groupSize);
    const codes = new Uint8Array(constants.groupSize);
    for (const m of rows) {
      for (let g = 0; g < constants.groups; g++) {
        for (let k = 0; k < constants.groupSize; k++) values[k] = decodeCode(norm.candidate.data[qGeometry.indexOf(m, g * constants.groupSize + k)], norm.candidate.dtype);
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
    const scaleFormat = ulpFormatOf(scale.reference.dtype);
    let groupsWithDifferentScale = 0;
    for (let i = 0; i < scale.reference.data.length; i++) if (!sameCode(scale.reference.data[i], scale.candidate.data[i], scaleFormat)) groupsWithDifferentScale++;
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
    results.push({ name: q.name, rank, basis, differingCodes, consistentWithCandidateScale: consistent, inconsistent: differingCodes - consistent, groupsWithDifferentScale });
  }
  return results;
}

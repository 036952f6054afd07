import type { Contract, Shape } from '../contracts/schema.js';
import { canonicalJson, checkContractForShape, ContractError } from '../contracts/validate.js';
import { allReduce, allReduceKey } from '../engines/cpu/allReduce.js';
import { bf16Value, cpuCase, quantConstants, type CpuCase, type EffectiveWeights, type QuantConstants } from '../engines/cpu/context.js';
import { normalize } from '../engines/cpu/normalize.js';
import { groupScale, quantize } from '../engines/cpu/quant.js';
import { planSumOfSquares, rstdOf } from '../engines/cpu/sumOfSquares.js';
import { PACKED_GROUPS_PER_WORD, quantGroups, sameShape, scaleDtype, scaleIndex, scaleShape, scaleWords, storeScale, type OutputKind } from '../engines/io.js';
import { ranksDiverge } from '../engines/layout/rankOrder.js';
import { bitsFromF32 } from '../numerics/f32.js';
import { FP8_DTYPE, type Tensor } from '../numerics/tensor.js';
import { sameCodeOf, type CodeEquality } from './compare.js';
import { canonicalKey } from './dimensions.js';
import { parseOutputName } from './pairs.js';
import { stepF32, type CaseSubject } from './rstd.js';
import { withReciprocalMoved } from './scaleDeviation.js';

// How far a contract is from a candidate on some token rows: the number of candidate elements
// (of the output kinds asked for) that the contract's bits do not reproduce, computed row by
// row with the CPU engine's stage functions (no whole-case run). A candidate output the
// contract does not produce, or produces with another dtype or shape, counts every element.

export interface ExplainProblem {
  /** The golden's contract, shape and inputs (the contract only seeds the search). */
  readonly subject: CaseSubject;
  readonly candidate: ReadonlyMap<string, Tensor>;
}

/** A mismatch count, or (not exact) a lower bound of it. */
export interface Bounded {
  readonly value: number;
  readonly exact: boolean;
}

interface Target {
  readonly kind: OutputKind;
  /** The rank the candidate tensor belongs to; null for a rank-less output. */
  readonly rank: number | null;
  readonly tensor: Tensor;
}

/** What a contract writes for one output kind, or null when it writes none of that kind. */
function producedShape(contract: Contract, shape: Shape, kind: OutputKind): { dtype: Tensor['dtype']; shape: number[] } | null {
  const { tokens, hidden } = shape;
  const q = contract.quant;
  switch (kind) {
    case 'residual':
      return contract.residual ? { dtype: 'BF16', shape: [tokens, hidden] } : null;
    case 'norm':
      return !q || q.bf16SideOutput ? { dtype: 'BF16', shape: [tokens, hidden] } : null;
    case 'q':
      return q ? { dtype: FP8_DTYPE[q.format], shape: [tokens, hidden] } : null;
    case 'scale':
      return q ? { dtype: scaleDtype(q.scaleLayout), shape: scaleShape(q.scaleLayout, tokens, quantGroups(q, hidden)) } : null;
  }
}

/** All-reduced rows held at most for one problem (x in f32 and the residual in bf16: 6 bytes an element). */
const ALL_REDUCED_BYTES = 24 << 20;
/** Normalized rows held at most (the f32 values and the bf16 bits: 6 bytes an element). */
const NORMED_BYTES = 4 << 20;

/** Scratch rows for one contract's evaluation. */
interface RowBuffers {
  readonly x: Float32Array;
  readonly residual: Uint16Array;
  readonly normed: Float32Array;
  readonly norm: Uint16Array;
  readonly values: Float32Array;
  readonly codes: Uint8Array;
  readonly scales: Uint32Array;
}

/** Rows of one f32 and one bf16 array each (an all-reduced x and residual, or a normalized row's
 *  values and bits) held by key in two slabs allocated once, up to `bytes` (past that every row
 *  is let go and the slabs reused): a copy into memory already touched, rather than a fresh pair
 *  of arrays per row, spares the allocation, its page faults and the collector. */
class RowSlab {
  private readonly slots = new Map<string, number>();
  private readonly capacity: number;
  private f32: Float32Array | null = null;
  private u16: Uint16Array | null = null;

  constructor(
    private readonly hidden: number,
    bytes: number,
  ) {
    this.capacity = Math.max(1, Math.floor(bytes / (6 * hidden)));
  }

  /** Copies the row held under `key` into f32Out and u16Out; false when none is held. */
  load(key: string, f32Out: Float32Array, u16Out: Uint16Array): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined || !this.f32 || !this.u16) return false;
    const at = slot * this.hidden;
    f32Out.set(this.f32.subarray(at, at + this.hidden));
    u16Out.set(this.u16.subarray(at, at + this.hidden));
    return true;
  }

  store(key: string, f32In: Float32Array, u16In: Uint16Array): void {
    this.f32 ??= new Float32Array(this.capacity * this.hidden);
    this.u16 ??= new Uint16Array(this.capacity * this.hidden);
    if (!this.slots.has(key) && this.slots.size >= this.capacity) this.slots.clear();
    const slot = this.slots.get(key) ?? this.slots.size;
    this.slots.set(key, slot);
    this.f32.set(f32In, slot * this.hidden);
    this.u16.set(u16In, slot * this.hidden);
  }
}

/** A contract's engine state for one problem, or why the shape rules it out. */
type ContractCase = { c: CpuCase; q: QuantConstants | null; allReduceKey: string } | ContractError;

/** What every scorer of one problem shares (the search's, the ties', the rescoring's row
 *  checks): none of it depends on the rows scored. */
interface ProblemState {
  /** The engine's state by the contract without its quant section (canonical JSON). */
  readonly cases: Map<string, { c: CpuCase; allReduceKey: string }>;
  /** The same by contract object: the search scores one contract object several times. */
  readonly byContract: WeakMap<Contract, ContractCase>;
  /** All-reduced rows (what the norm reads, the residual output) by allReduceKey, row and output
   *  rank: most hypotheses of a search differ after the all-reduce and share them. */
  readonly allReduced: RowSlab;
  /** Normalized rows (the f32 values and bf16 bits the quant reads) by engine state, then x's
   *  source, row, rank and rstd shift: the quant stage's hypotheses differ only after them. */
  readonly normed: RowSlab;
  /** Row sums of squares by planSumOfSquares' arguments (the plan and f32 arithmetic objects, the
   *  per-thread pattern) and x's source: norm hypotheses that keep the tree share them. */
  readonly sums: Map<string, number>;
  /** The effective weights of the problem's inputs (most contracts share one). */
  readonly weights: EffectiveWeights;
}

/** A number per object (plans and arithmetic objects are shared, never mutated): part of a key. */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;
function objectId(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}
const problemStates = new WeakMap<ExplainProblem, ProblemState>();

function problemState(problem: ExplainProblem): ProblemState {
  let state = problemStates.get(problem);
  if (!state) {
    const { hidden } = problem.subject.shape;
    state = {
      cases: new Map(),
      byContract: new WeakMap(),
      allReduced: new RowSlab(hidden, ALL_REDUCED_BYTES),
      normed: new RowSlab(hidden, NORMED_BYTES),
      sums: new Map(),
      weights: new Map(),
    };
    problemStates.set(problem, state);
  }
  return state;
}

/** Whether a count known so far serves a bound: exact, or a lower bound already at or above it. */
function answers(known: Bounded | null, bound: number): known is Bounded {
  return known !== null && (known.exact || known.value >= bound);
}

/** What a scorer knows of one contract on some kinds: the count on the first row, and on the
 *  other rows once known. */
export interface ScoreEntry {
  first: Bounded | null;
  rest: Bounded | null;
}

export class RowScorer {
  /** By scoreKey. */
  private readonly cache = new Map<string, ScoreEntry>();
  /** Entries computed ahead of need from nothing, by scoreKey, with the bound they were computed
   *  for and the runs they took (scoreThreads.ts prefetch). */
  private readonly prefetched = new Map<string, { readonly bound: number; readonly entry: ScoreEntry; readonly runs: number }>();
  private readonly targets: readonly Target[];
  private readonly state: ProblemState;
  private readonly scratch = new Map<string, RowBuffers>();
  /** Contract evaluations made so far (cache misses), each over one or more rows. */
  runs = 0;

  /** With rstdUlps, a row of the norm side counts its fewest mismatches over every rstd shift
   *  within +-rstdUlps f32 ULP (an approximate rsqrt); with scaleUlps, a quant group its fewest
   *  over every scale shift within +-scaleUlps (an approximate reciprocal or divide): a
   *  hypothesis is not preferred for mimicking the kernel's hardware error some other way. */
  constructor(
    private readonly problem: ExplainProblem,
    readonly rows: readonly number[],
    readonly approximations: ApproximationOptions = NO_APPROXIMATIONS,
  ) {
    const targets: Target[] = [];
    for (const [name, tensor] of problem.candidate) {
      const parsed = parseOutputName(name);
      if (parsed) targets.push({ kind: parsed.kind, rank: parsed.rank, tensor });
    }
    this.targets = targets;
    this.state = problemState(problem);
  }

  /** Candidate elements on these rows, of these kinds, that the contract does not reproduce:
   *  exact when below `bound`; otherwise a lower bound at least `bound` (the first row alone
   *  already exceeds it, and the other rows are not computed: most hypotheses of a search are
   *  ruled out by one row). */
  mismatches(contract: Contract, kinds: ReadonlySet<OutputKind>, bound = Infinity): number {
    const key = scoreKey(contract, kinds);
    this.takePrefetched(key, bound);
    const entry = this.cache.get(key) ?? { first: null, rest: null };
    this.cache.set(key, entry);
    try {
      entry.first = this.bounded(entry.first, bound, (b) => this.count(contract, kinds, this.rows.slice(0, 1), b));
      if (entry.first.value >= bound) return entry.first.value;
      const first = entry.first.value;
      entry.rest = this.bounded(entry.rest, bound - first, (b) => this.count(contract, kinds, this.rows.slice(1), b));
      return first + entry.rest.value;
    } catch (e) {
      // A contract the shape rules out (a tree wider than the row, a group that does not divide
      // it) or the engine does not implement reproduces nothing.
      if (!(e instanceof ContractError)) throw e;
      entry.first = { value: Infinity, exact: true };
      return Infinity;
    }
  }

  /** The count `mismatches` gives for the contract under this key from what is known (or was
   *  prefetched for this bound), without a run; null where it would have to compute. */
  known(key: string, bound: number): number | null {
    const kept = this.prefetched.get(key);
    const entry = this.cache.get(key) ?? (kept?.bound === bound ? kept.entry : undefined);
    if (!entry || !answers(entry.first, bound)) return null;
    if (entry.first.value >= bound) return entry.first.value;
    return answers(entry.rest, bound - entry.first.value) ? entry.first.value + entry.rest.value : null;
  }

  /** What is known under this key (a worker scoring the contract for this scorer starts from it). */
  entry(key: string): ScoreEntry | null {
    const entry = this.cache.get(key);
    return entry ? { ...entry } : null;
  }

  /** Takes what another scorer of the same problem and rows learned under this key, starting
   *  from this scorer's entry, and the runs it took (src/diff/scoreThreads.ts). */
  adopt(key: string, entry: ScoreEntry, runs: number): void {
    this.cache.set(key, { ...entry });
    this.runs += runs;
  }

  /** Keeps what another scorer of the same problem and rows learned under this key from nothing
   *  with this bound: taken (adopted) only if this scorer comes to score the key with the same
   *  bound knowing nothing of it, the one case where it would compute exactly that. */
  prefetch(key: string, bound: number, entry: ScoreEntry, runs: number): void {
    this.prefetched.set(key, { bound, entry, runs });
  }

  private takePrefetched(key: string, bound: number): void {
    const kept = this.prefetched.get(key);
    if (kept === undefined || this.cache.has(key)) return;
    this.prefetched.delete(key);
    if (kept.bound === bound) this.adopt(key, kept.entry, kept.runs);
  }

  /** A count computed once for the largest bound asked so far: a count below its bound is
   *  exact; one at or above it is a lower bound, recomputed when a larger bound is asked. */
  private bounded(previous: Bounded | null, bound: number, compute: (bound: number) => number): Bounded {
    if (answers(previous, bound)) return previous;
    const value = compute(bound);
    return { value, exact: value < bound };
  }

  /** The rows through the CPU engine's stage functions, each stage only where an asked output
   *  needs it, and fed the candidate's own earlier output where the contract reads it in bf16:
   *  the norm reads the candidate's out.residual (norm.input 'bf16'), the quant its out.norm
   *  (quant.input 'bf16'), so a stage is fitted given what the kernel itself computed before. */
  private count(contract: Contract, kinds: ReadonlySet<OutputKind>, rows: readonly number[], bound: number): number {
    if (rows.length === 0) return 0;
    const { c, q, allReduceKey } = this.caseOf(contract);
    const { shape } = c;
    this.runs++;
    const asked = this.targets.filter((t) => kinds.has(t.kind));
    let total = 0;
    const comparable: Target[] = [];
    for (const t of asked) {
      const produced = producedShape(contract, shape, t.kind);
      if (produced && produced.dtype === t.tensor.dtype && sameShape(produced.shape, t.tensor.shape)) comparable.push(t);
      else total += rows.length * Math.round(t.tensor.data.length / shape.tokens);
    }
    // One group per candidate rank; a contract whose ranks agree computes every rank as rank 0.
    const diverge = ranksDiverge(contract.allReduce.order);
    const byRank = new Map<number, Target[]>();
    for (const t of comparable) byRank.set(t.rank ?? 0, [...(byRank.get(t.rank ?? 0) ?? []), t]);
    const buffers = this.buffersFor(shape.hidden, q ? q.groupSize : 0, q ? scaleWords(q.quant.scaleLayout, shape.tokens, q.groups) : 0);
    for (const m of rows) {
      for (const [rank, targets] of byRank) {
        if (total >= bound) return total;
        total += this.row(c, q, allReduceKey, m, diverge ? rank : 0, rank, targets, buffers, bound - total);
      }
    }
    return total;
  }

  /** Zeroed scratch rows of these sizes, as fresh ones would be, reused from one count to the
   *  next (a count per hypothesis allocated them anew, a case's scale words included). */
  private buffersFor(hidden: number, groupSize: number, scaleWordCount: number): RowBuffers {
    const key = `${hidden}|${groupSize}|${scaleWordCount}`;
    let b = this.scratch.get(key);
    if (!b) {
      b = {
        x: new Float32Array(hidden),
        residual: new Uint16Array(hidden),
        normed: new Float32Array(hidden),
        norm: new Uint16Array(hidden),
        values: new Float32Array(groupSize),
        codes: new Uint8Array(groupSize > 0 ? hidden : 0),
        scales: new Uint32Array(scaleWordCount),
      };
      this.scratch.set(key, b);
    } else {
      b.x.fill(0);
      b.residual.fill(0);
      b.normed.fill(0);
      b.norm.fill(0);
      b.values.fill(0);
      b.codes.fill(0);
      b.scales.fill(0);
    }
    return b;
  }

  /** The engine's per-contract state (rank rotation, reduction plan, weight), built once per
   *  contract: the first row and the other rows of a hypothesis, and every output kind, share it. */
  private caseOf(contract: Contract): { c: CpuCase; q: QuantConstants | null; allReduceKey: string } {
    let found = this.state.byContract.get(contract);
    if (!found) {
      try {
        found = this.newCaseOf(contract);
      } catch (e) {
        if (!(e instanceof ContractError)) throw e;
        found = e;
      }
      this.state.byContract.set(contract, found);
    }
    if (found instanceof ContractError) throw found;
    return found;
  }

  private newCaseOf(contract: Contract): { c: CpuCase; q: QuantConstants | null; allReduceKey: string } {
    const shape = checkContractForShape(contract, this.problem.subject.shape);
    // The quant stage reads its own constants; the state of the stages before it (the reduction
    // plan above all) is shared by every quant hypothesis over the same all-reduce and norm.
    const upstream = { ...contract, quant: null };
    const key = canonicalJson(upstream);
    let entry = this.state.cases.get(key);
    if (!entry) {
      entry = { c: cpuCase(upstream, shape, this.problem.subject.inputs, this.state.weights), allReduceKey: allReduceKey(upstream) };
      this.state.cases.set(key, entry);
    }
    return { ...entry, q: contract.quant && quantConstants(contract.quant, shape.hidden, contract.hardwareOps) };
  }

  /** Row m all-reduced for `outputRank` into b.x and b.residual: computed once per allReduceKey,
   *  then copied (up to ALL_REDUCED_BYTES of rows held; past that the rows are let go). */
  private allReduceRow(c: CpuCase, key: string, m: number, outputRank: number, b: RowBuffers): void {
    const rowKey = `${m}|${outputRank}|${key}`;
    if (this.state.allReduced.load(rowKey, b.x, b.residual)) return;
    allReduce(c, m, outputRank, b.x, b.residual);
    this.state.allReduced.store(rowKey, b.x, b.residual);
  }

  /** Mismatches of one row of the candidate's rank `rank` (computed as `outputRank`); stops once
   *  they reach `budget` (then a lower bound). */
  private row(
    c: CpuCase,
    q: QuantConstants | null,
    allReduceKey: string,
    m: number,
    outputRank: number,
    rank: number,
    targets: readonly Target[],
    b: RowBuffers,
    budget: number,
  ): number {
    const { hidden } = c.shape;
    const rowBase = m * hidden;
    const find = (kind: OutputKind): Target | undefined => targets.find((t) => t.kind === kind);
    const own = (kind: OutputKind): Target | undefined => this.targets.find((t) => t.kind === kind && (t.rank ?? 0) === rank);
    const residual = find('residual');
    const norm = find('norm');
    const codes = find('q');
    const scales = find('scale');
    let count = 0;

    // 1. All-reduce and residual, unless the norm side alone is asked and reads the
    //    candidate's own bf16 residual output. Without out.residual asked, x is made only when
    //    the norm needs it: a normalized row already held, or the quant alone, reads none.
    const ownResidual = c.contract.norm.input === 'bf16' && c.contract.residual ? own('residual') : undefined;
    const fillX = (): void => {
      if (!residual && ownResidual) for (let h = 0; h < hidden; h++) b.x[h] = bf16Value(ownResidual.tensor.data[rowBase + h]);
      else this.allReduceRow(c, allReduceKey, m, outputRank, b);
    };
    if (residual) {
      fillX();
      count += differing(residual.tensor, rowBase, b.residual, bf16Same);
    }
    if ((!norm && !codes && !scales) || count >= budget) return count;

    // 2. The quant alone, fed the candidate's own bf16 norm output.
    const ownNorm = q && q.quant.input === 'bf16' && !norm ? own('norm') : undefined;
    if (q && ownNorm) {
      for (let h = 0; h < hidden; h++) b.norm[h] = ownNorm.tensor.data[rowBase + h];
      return count + this.quantRow(c, q, m, b, codes, scales, budget - count);
    }

    // 3. Norm (and quant), with rstd moved within range when an approximate rsqrt is inferred.
    const xSource = !residual && ownResidual ? `own|${m}|${rank}` : `reduced|${m}|${outputRank}|${allReduceKey}`;
    let rstd: number | null = null;
    const rstdOfX = (): number => {
      if (!residual) fillX();
      const perThread = c.contract.norm.sumOfSquares.perThread;
      const sumKey = `${objectId(c.plan)}|${objectId(c.f32)}|${perThread}|${xSource}`;
      let sumsq = this.state.sums.get(sumKey);
      if (sumsq === undefined) {
        sumsq = planSumOfSquares(c.plan, perThread, c.f32, b.x);
        this.state.sums.set(sumKey, sumsq);
      }
      return rstdOf(c, sumsq);
    };
    let fewest = Infinity;
    const deltas = shifts(this.approximations.rstdUlps);
    for (const delta of deltas) {
      const rowKey = `${objectId(c)}|${xSource}|${delta}`;
      if (!this.state.normed.load(rowKey, b.normed, b.norm)) {
        rstd ??= rstdOfX();
        normalize(c, b.x, delta === 0 ? rstd : stepF32(rstd, delta), b.normed, b.norm);
        this.state.normed.store(rowKey, b.normed, b.norm);
      }
      let n = norm ? differing(norm.tensor, rowBase, b.norm, bf16Same) : 0;
      const limit = Math.min(budget - count, fewest);
      if (q && (codes || scales) && n < limit) n += this.quantRow(c, q, m, b, codes, scales, limit - n);
      fewest = Math.min(fewest, n);
      if (fewest === 0) break;
    }
    return count + fewest;
  }

  /** Mismatching codes and scale words of one row, quantizing b.normed (quant.input 'f32') or
   *  the bf16 b.norm, group by group; stops once they reach `budget` (then a lower bound). */
  private quantRow(c: CpuCase, q: QuantConstants, m: number, b: RowBuffers, codes: Target | undefined, scales: Target | undefined, budget: number): number {
    const { hidden, tokens } = c.shape;
    const layout = q.quant.scaleLayout;
    const packed = layout.kind === 'packed-ue8m0';
    const codeSame = codes && sameCodeOf(codes.tensor.dtype);
    const scaleSame = scales && sameCodeOf(scales.tensor.dtype);
    let n = 0;
    for (let g = 0; g < q.groups && n < budget; g++) {
      const first = g * q.groupSize;
      for (let k = 0; k < q.groupSize; k++) b.values[k] = q.quant.input === 'bf16' ? bf16Value(b.norm[first + k]) : b.normed[first + k];
      const computed = groupScale(q, c.f32, b.values);
      let fewest = Infinity;
      // The scale moved (scale and codes follow), or with quantize 'reciprocal' its reciprocal
      // alone (the codes follow): each a shift an approximate divide or v_rcp_f32 can make.
      const moves = packed ? [0] : shifts(this.approximations.scaleUlps);
      const reciprocalMoves = q.quant.quantize === 'reciprocal' ? moves.slice(1) : [];
      for (const [delta, onReciprocal] of [...moves.map((d) => [d, false] as const), ...reciprocalMoves.map((d) => [d, true] as const)]) {
        const scale = delta === 0 || onReciprocal ? computed : stepF32(computed, delta);
        const f32 = onReciprocal ? withReciprocalMoved(c.f32, scale, delta) : c.f32;
        let k = 0;
        if (codes) {
          quantize(q, f32, b.values, scale, b.codes, first);
          k += differing(codes.tensor, m * hidden + first, b.codes.subarray(first, first + q.groupSize), codeSame!);
        }
        storeScale(b.scales, layout, m, g, tokens, q.groups, bitsFromF32(scale));
        if (scales && !packed) k += differingWord(b.scales, scales.tensor, scaleIndex(layout, m, g, tokens, q.groups), scaleSame!);
        fewest = Math.min(fewest, k);
        if (fewest === 0) break;
      }
      n += fewest;
    }
    if (scales && packed && n < budget) {
      // A packed word holds four groups' exponents: compared once the row is complete.
      for (let w = 0; w < Math.ceil(q.groups / PACKED_GROUPS_PER_WORD); w++)
        n += differingWord(b.scales, scales.tensor, scaleIndex(layout, m, w * PACKED_GROUPS_PER_WORD, tokens, q.groups), scaleSame!);
    }
    return n;
  }
}

function differingWord(computed: Uint32Array, candidate: Tensor, i: number, same: CodeEquality): number {
  return computed[i] !== candidate.data[i] && !same(computed[i], candidate.data[i]) ? 1 : 0;
}

const bf16Same = sameCodeOf('BF16');

/** Approximate hardware slots allowed for: shifts of rstd per row, of the scale per group,
 *  within this many f32 ULP. null: none in the scoring (rescoring still searches a slot the
 *  fit marks 'inferred'). */
export interface ApproximationOptions {
  readonly rstdUlps: number | null;
  readonly scaleUlps: number | null;
}
const NO_APPROXIMATIONS: ApproximationOptions = { rstdUlps: null, scaleUlps: null };

/** 0, then +1, -1, +2, -2, ... up to +-ulps. */
function shifts(ulps: number | null): number[] {
  const out = [0];
  for (let d = 1; d <= (ulps ?? 0); d++) out.push(d, -d);
  return out;
}

/** Elements of `computed` that differ from the candidate's row starting at `offset`; equal codes
 *  are the common case, so only a differing pair goes through sameCode (NaN codes compare as a
 *  class there). */
function differing(candidate: Tensor, offset: number, computed: ArrayLike<number>, same: CodeEquality): number {
  const data = candidate.data;
  let n = 0;
  for (let k = 0; k < computed.length; k++) {
    const a = data[offset + k];
    if (a !== computed[k] && !same(computed[k], a)) n++;
  }
  return n;
}

/** The cache key of a contract scored on some output kinds. */
export function scoreKey(contract: Contract, kinds: ReadonlySet<OutputKind>): string {
  return `${[...kinds].sort().join(',')}|${canonicalKey(contract)}`;
}

/** Evenly spaced rows, first and last included: rows in different all-reduce partitions
 *  (rotated and ring orders start at another rank per partition). */
export function spreadRows(tokens: number, count: number): number[] {
  if (tokens <= count) return Array.from({ length: tokens }, (_, m) => m);
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round((i * (tokens - 1)) / (count - 1))))];
}

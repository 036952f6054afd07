import type { Contract } from '../contracts/schema.js';
import { canonicalJson, ContractError } from '../contracts/validate.js';
import { runCpuEngine } from '../engines/cpu/engine.js';
import type { OutputKind } from '../engines/io.js';
import type { Tensor } from '../numerics/tensor.js';
import { sameCode, ulpFormatOf } from './compare.js';
import { incompatibility, outputGeometry, parseOutputName, referenceNameFor } from './pairs.js';
import { stepF32, type CaseSubject } from './rstd.js';

// How far a contract is from a candidate on some token rows: the number of candidate elements
// (of the output kinds asked for) that the contract's bits do not reproduce. A candidate output
// the contract does not produce, or produces with another dtype or shape, counts every element.

export interface ExplainProblem {
  /** The golden's contract, shape and inputs (the contract only seeds the search). */
  readonly subject: CaseSubject;
  readonly candidate: ReadonlyMap<string, Tensor>;
}

/** Output kinds an rstd shift changes. */
const RSTD_KINDS: readonly OutputKind[] = ['norm', 'q', 'scale'];

export class RowScorer {
  /** Per contract and kinds: the count on the first row, and on the other rows once known. */
  private readonly cache = new Map<string, { first: number; rest: number | null }>();
  /** Engine runs made so far (cache misses). */
  runs = 0;

  /** With rstdUlps, a row of the norm side counts its fewest mismatches over every rstd shift
   *  within +-rstdUlps f32 ULP (an approximate rsqrt): a hypothesis is not preferred for
   *  mimicking the kernel's rsqrt error through another sum of squares. */
  constructor(private readonly problem: ExplainProblem, readonly rows: readonly number[], private readonly rstdUlps: number | null = null) {}

  /** Candidate elements on these rows, of these kinds, that the contract does not reproduce:
   *  exact when below `bound`; otherwise a lower bound at least `bound` (the first row alone
   *  already exceeds it, and the other rows are not run: most hypotheses of a search are
   *  ruled out by one row). */
  mismatches(scored: Contract, kinds: ReadonlySet<OutputKind>, bound = Infinity): number {
    // The residual and the norm do not depend on the quant: scored without it, they cost a
    // fraction of a run with it (the norm is emitted whenever there is no quant).
    const contract = kinds.has('q') || kinds.has('scale') || scored.quant === null ? scored : { ...scored, quant: null };
    const key = `${[...kinds].sort().join(',')}|${canonicalJson(contract)}`;
    let entry = this.cache.get(key);
    try {
      if (!entry) {
        entry = { first: this.count(contract, kinds, this.rows.slice(0, 1)), rest: null };
        this.cache.set(key, entry);
      }
      if (entry.first >= bound) return entry.first;
      entry.rest ??= this.count(contract, kinds, this.rows.slice(1));
      return entry.first + entry.rest;
    } catch (e) {
      // A contract the shape rules out (a tree wider than the row, a group that does not divide
      // it) or the engine does not implement reproduces nothing.
      if (!(e instanceof ContractError)) throw e;
      this.cache.set(key, { first: Infinity, rest: Infinity });
      return Infinity;
    }
  }

  private count(contract: Contract, kinds: ReadonlySet<OutputKind>, rows: readonly number[]): number {
    if (rows.length === 0) return 0;
    const best = this.perRow(contract, kinds, rows, 0);
    const shifted = this.rstdUlps !== null && RSTD_KINDS.some((k) => kinds.has(k));
    for (let distance = 1; shifted && distance <= this.rstdUlps! && [...best.values()].some((n) => n > 0); distance++) {
      for (const delta of [distance, -distance]) {
        for (const [m, n] of this.perRow(contract, kinds, rows, delta)) best.set(m, Math.min(best.get(m)!, n));
      }
    }
    let total = 0;
    for (const n of best.values()) total += n;
    return total;
  }

  /** Mismatches per row, with rstd moved by `delta` f32 ULP on the norm side. */
  private perRow(contract: Contract, kinds: ReadonlySet<OutputKind>, rows: readonly number[], delta: number): Map<number, number> {
    const { shape, inputs } = this.problem.subject;
    const outputs = runCpuEngine(contract, shape, inputs, delta === 0 ? { rows } : { rows, rstdOverride: (_m, rstd) => stepF32(rstd, delta) });
    this.runs++;
    const counts = new Map(rows.map((m) => [m, 0]));
    for (const [name, tensor] of this.problem.candidate) {
      const parsed = parseOutputName(name);
      if (!parsed || !kinds.has(parsed.kind)) continue;
      const referenceName = referenceNameFor(name, outputs);
      const reference = referenceName === null ? null : outputs.get(referenceName)!;
      if (reference === null || incompatibility(reference, tensor) !== null) {
        for (const m of rows) counts.set(m, counts.get(m)! + Math.round(tensor.data.length / shape.tokens));
        continue;
      }
      const geometry = outputGeometry(parsed.kind, shape, contract);
      const format = ulpFormatOf(tensor.dtype);
      const [expected, actual] = [reference.data, tensor.data];
      for (const m of rows) {
        let n = 0;
        // Equal codes are the common case: only a differing pair goes through sameCode (NaN
        // codes compare as a class there).
        for (let k = 0; k < geometry.rowLength; k++) {
          const i = geometry.indexOf(m, k);
          if (expected[i] !== actual[i] && !sameCode(expected[i], actual[i], format)) n++;
        }
        counts.set(m, counts.get(m)! + n);
      }
    }
    return counts;
  }
}

/** Evenly spaced rows, first and last included: rows in different all-reduce partitions
 *  (rotated and ring orders start at another rank per partition). */
export function spreadRows(tokens: number, count: number): number[] {
  if (tokens <= count) return Array.from({ length: tokens }, (_, m) => m);
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round((i * (tokens - 1)) / (count - 1))))];
}

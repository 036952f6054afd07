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
  private readonly cache = new Map<string, number>();
  /** Engine runs made so far (cache misses). */
  runs = 0;

  /** With rstdUlps, a row of the norm side counts its fewest mismatches over every rstd shift
   *  within +-rstdUlps f32 ULP (an approximate rsqrt): a hypothesis is not preferred for
   *  mimicking the kernel's rsqrt error through another sum of squares. */
  constructor(private readonly problem: ExplainProblem, readonly rows: readonly number[], private readonly rstdUlps: number | null = null) {}

  /** Candidate elements on these rows, of these kinds, that the contract does not reproduce. */
  mismatches(scored: Contract, kinds: ReadonlySet<OutputKind>): number {
    // The residual and the norm do not depend on the quant: scored without it, they cost a
    // fraction of a run with it (the norm is emitted whenever there is no quant).
    const contract = kinds.has('q') || kinds.has('scale') || scored.quant === null ? scored : { ...scored, quant: null };
    const key = `${[...kinds].sort().join(',')}|${canonicalJson(contract)}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    let count: number;
    try {
      const exact = this.perRow(contract, kinds, 0);
      count = 0;
      const shifted = this.rstdUlps !== null && RSTD_KINDS.some((k) => kinds.has(k));
      const best = new Map(exact);
      for (let distance = 1; shifted && distance <= this.rstdUlps! && [...best.values()].some((n) => n > 0); distance++) {
        for (const delta of [distance, -distance]) {
          for (const [m, n] of this.perRow(contract, kinds, delta)) best.set(m, Math.min(best.get(m)!, n));
        }
      }
      for (const n of best.values()) count += n;
    } catch (e) {
      // A contract the shape rules out (a tree wider than the row, a group that does not divide
      // it) or the engine does not implement reproduces nothing.
      if (!(e instanceof ContractError)) throw e;
      count = Infinity;
    }
    this.cache.set(key, count);
    return count;
  }

  /** Mismatches per row, with rstd moved by `delta` f32 ULP on the norm side. */
  private perRow(contract: Contract, kinds: ReadonlySet<OutputKind>, delta: number): Map<number, number> {
    const { shape, inputs } = this.problem.subject;
    const outputs = runCpuEngine(contract, shape, inputs, delta === 0 ? { rows: this.rows } : { rows: this.rows, rstdOverride: (_m, rstd) => stepF32(rstd, delta) });
    this.runs++;
    const counts = new Map(this.rows.map((m) => [m, 0]));
    for (const [name, tensor] of this.problem.candidate) {
      const parsed = parseOutputName(name);
      if (!parsed || !kinds.has(parsed.kind)) continue;
      const referenceName = referenceNameFor(name, outputs);
      const reference = referenceName === null ? null : outputs.get(referenceName)!;
      if (reference === null || incompatibility(reference, tensor) !== null) {
        for (const m of this.rows) counts.set(m, counts.get(m)! + Math.round(tensor.data.length / shape.tokens));
        continue;
      }
      const geometry = outputGeometry(parsed.kind, shape, contract);
      const format = ulpFormatOf(tensor.dtype);
      for (const m of this.rows) {
        let n = 0;
        for (let k = 0; k < geometry.rowLength; k++) {
          const i = geometry.indexOf(m, k);
          if (!sameCode(reference.data[i], tensor.data[i], format)) n++;
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

import type { Contract } from '../contracts/schema.js';
import { canonicalJson, ContractError } from '../contracts/validate.js';
import { runCpuEngine } from '../engines/cpu/engine.js';
import type { OutputKind } from '../engines/io.js';
import type { Tensor } from '../numerics/tensor.js';
import { sameCode, ulpFormatOf } from './compare.js';
import { incompatibility, outputGeometry, parseOutputName, referenceNameFor } from './pairs.js';
import type { CaseSubject } from './rstd.js';

// How far a contract is from a candidate on some token rows: the number of candidate elements
// (of the output kinds asked for) that the contract's bits do not reproduce. A candidate output
// the contract does not produce, or produces with another dtype or shape, counts every element.

export interface ExplainProblem {
  /** The golden's contract, shape and inputs (the contract only seeds the search). */
  readonly subject: CaseSubject;
  readonly candidate: ReadonlyMap<string, Tensor>;
}

export class RowScorer {
  private readonly cache = new Map<string, number>();
  /** Engine runs made so far (cache misses). */
  runs = 0;

  constructor(private readonly problem: ExplainProblem, readonly rows: readonly number[]) {}

  /** Candidate elements on these rows, of these kinds, that the contract does not reproduce. */
  mismatches(scored: Contract, kinds: ReadonlySet<OutputKind>): number {
    // The residual and the norm do not depend on the quant: scored without it, they cost a
    // fraction of a run with it (the norm is emitted whenever there is no quant).
    const contract = kinds.has('q') || kinds.has('scale') || scored.quant === null ? scored : { ...scored, quant: null };
    const key = `${[...kinds].sort().join(',')}|${canonicalJson(contract)}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const { shape, inputs } = this.problem.subject;
    let outputs: Map<string, Tensor>;
    try {
      outputs = runCpuEngine(contract, shape, inputs, { rows: this.rows });
    } catch (e) {
      // A contract the shape rules out (a tree wider than the row, a group that does not divide
      // it) reproduces nothing.
      if (e instanceof ContractError) {
        this.cache.set(key, Infinity);
        return Infinity;
      }
      throw e;
    }
    this.runs++;
    let count = 0;
    for (const [name, tensor] of this.problem.candidate) {
      const parsed = parseOutputName(name);
      if (!parsed || !kinds.has(parsed.kind)) continue;
      const referenceName = referenceNameFor(name, outputs);
      const reference = referenceName === null ? null : outputs.get(referenceName)!;
      if (reference === null || incompatibility(reference, tensor) !== null) {
        count += this.rows.length * Math.round(tensor.data.length / shape.tokens);
        continue;
      }
      const geometry = outputGeometry(parsed.kind, shape, contract);
      const format = ulpFormatOf(tensor.dtype);
      for (const m of this.rows) {
        for (let k = 0; k < geometry.rowLength; k++) {
          const i = geometry.indexOf(m, k);
          if (!sameCode(reference.data[i], tensor.data[i], format)) count++;
        }
      }
    }
    this.cache.set(key, count);
    return count;
  }
}

/** Evenly spaced rows, first and last included: rows in different all-reduce partitions
 *  (rotated and ring orders start at another rank per partition). */
export function spreadRows(tokens: number, count: number): number[] {
  if (tokens <= count) return Array.from({ length: tokens }, (_, m) => m);
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round((i * (tokens - 1)) / (count - 1))))];
}

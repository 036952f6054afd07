import type { PerThreadPattern } from '../../contracts/schema.js';
import { flushSubnormal, type F32Arithmetic } from '../../numerics/f32ops.js';
import { PADDING_ELEMENT, type ReductionPlan } from '../layout/reduction.js';
import type { CpuCase } from './context.js';

// Twin of shaders/engine/sumOfSquares.wgsl (entry sumOfSquares): the row's sum of squares by the
// reduction plan of src/engines/layout, then the variance and rstd.

/** `from` elements .. `to` of a lane accumulated onto `acc` with the per-thread pattern.
 *  chain: acc += fround(v*v); fma-chain: acc = fma(v, v, acc) (nvcc sm_90 contracts `acc += v*v`
 *  to one FFMA); pair: acc += fround(fround(x0*x0) + fround(x1*x1)); pair-fma: the pair as nvcc
 *  sm_90 contracts vLLM's `acc += x0*x0 + x1*x1`, fround(acc + fma(x0, x0, fround(x1*x1))). */
function accumulateRun(x: Float32Array, elements: Uint32Array, from: number, to: number, pattern: PerThreadPattern, f32: F32Arithmetic, acc: number): number {
  const value = (i: number): number => (elements[i] === PADDING_ELEMENT ? 0 : x[elements[i]]);
  switch (pattern) {
    case 'chain':
      for (let i = from; i < to; i++) acc = f32.add(acc, f32.mul(value(i), value(i)));
      return acc;
    case 'fma-chain':
      for (let i = from; i < to; i++) acc = f32.fma(value(i), value(i), acc);
      return acc;
    case 'pair':
      for (let i = from; i < to; i += 2) acc = f32.add(acc, f32.add(f32.mul(value(i), value(i)), f32.mul(value(i + 1), value(i + 1))));
      return acc;
    case 'pair-fma':
      for (let i = from; i < to; i += 2) acc = f32.add(acc, f32.fma(value(i), value(i), f32.mul(value(i + 1), value(i + 1))));
      return acc;
  }
}

/** The sum of squares of one row (f32 values) by the plan: every lane's partial, then the
 *  combine steps in order. */
export function planSumOfSquares(plan: ReductionPlan, pattern: PerThreadPattern, f32: F32Arithmetic, x: Float32Array): number {
  const slots = new Float32Array(plan.slots);
  const { laneStart, elements, runLength } = plan;
  for (let lane = 0; lane < plan.slots; lane++) {
    const start = laneStart[lane];
    const end = laneStart[lane + 1];
    if (!plan.nestedRuns) {
      slots[lane] = accumulateRun(x, elements, start, end, pattern, f32, 0);
      continue;
    }
    let acc = 0;
    for (let run = start; run < end; run += runLength) acc = f32.add(acc, accumulateRun(x, elements, run, Math.min(run + runLength, end), pattern, f32, 0));
    slots[lane] = acc;
  }
  const { steps } = plan;
  for (let s = 0; s < steps.length; s += 3) slots[steps[s]] = f32.add(slots[steps[s + 1]], slots[steps[s + 2]]);
  return slots[plan.result];
}

/** variance + eps as norm.epsAdd says. 'f64' is aiter add_rmsnorm_quant's `rcp[0] / n + epsilon`
 *  with a double epsilon (ROCm/aiter@e4048607 csrc/kernels/rmsnorm_quant_kernels.cu:26, :150): the
 *  f32 variance widened, a JS (f64, round to nearest even) add of the contract's eps, then
 *  Math.fround; f32 subnormals flush where the f32 value is read and where it is rounded back. */
export function varianceWithEps(c: CpuCase, variance: number): number {
  if (c.contract.norm.epsAdd === 'f32') return c.f32.add(variance, c.eps);
  const flush = c.contract.f32Subnormals === 'flush';
  const sum = Math.fround((flush ? flushSubnormal(variance) : variance) + c.contract.norm.eps);
  return flush ? flushSubnormal(sum) : sum;
}

/** The rsqrt operand of a row: the variance plus eps as the contract forms it. divide:
 *  fround(sumsq/H) + eps; reciprocal-multiply: fround(sumsq*fround(1/H)) + eps (torch's mean,
 *  as evidence.md 2.10 reads ReduceMomentKernel.cu); reciprocal-fma: fma(sumsq, fround(1/H),
 *  eps), one rounding (Inductor's folded div.full and contracted + eps, conformance/SPECS.md;
 *  the schema allows it only with epsAdd 'f32'). */
export function varianceOf(c: CpuCase, sumsq: number): number {
  const { f32, ops, eps } = c;
  const hidden = c.shape.hidden;
  switch (c.contract.norm.variance) {
    case 'divide':
      return varianceWithEps(c, ops.divide(sumsq, hidden));
    case 'reciprocal-multiply':
      return varianceWithEps(c, f32.mul(sumsq, ops.reciprocal(hidden)));
    case 'reciprocal-fma':
      return f32.fma(sumsq, ops.reciprocal(hidden), eps);
  }
}

/** rstd from a row's sum of squares: the rsqrt slot of varianceOf (hardwareOps 'ieee' and
 *  'inferred': fround(1/fround(sqrt(v))); 'sm90': rsqrt.approx.f32 as measured). */
export function rstdOf(c: CpuCase, sumsq: number): number {
  return c.ops.rsqrt(varianceOf(c, sumsq));
}

/** One row's rstd: the sum of squares by the contract's tree, then rstdOf. */
export function sumOfSquares(c: CpuCase, x: Float32Array): number {
  return rstdOf(c, planSumOfSquares(c.plan, c.contract.norm.sumOfSquares.perThread, c.f32, x));
}

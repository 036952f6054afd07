import { encodeBf16 } from '../../src/numerics/bf16.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import type { CaseInputs } from '../../src/engines/io.js';

/** Builds engine inputs from plain numbers (each must be bf16-representable unless said). */
export function bf16Tensor(values: readonly number[], shape: number[]): Tensor {
  return { dtype: 'BF16', shape, data: encodeBf16(Float32Array.from(values)) };
}

export function f32Tensor(values: readonly number[], shape: number[]): Tensor {
  return { dtype: 'F32', shape, data: new Uint32Array(Float32Array.from(values).buffer) };
}

export function caseOf(rankRows: number[][], residual: number[] | null, weight: number[], tokens = 1, weightDtype: 'bf16' | 'f32' = 'bf16'): CaseInputs {
  const hidden = weight.length;
  return {
    rankInputs: rankRows.map((row) => bf16Tensor(row, [tokens, hidden])),
    residual: residual ? bf16Tensor(residual, [tokens, hidden]) : null,
    weight: weightDtype === 'bf16' ? bf16Tensor(weight, [hidden]) : f32Tensor(weight, [hidden]),
  };
}

/** Deterministic bf16-representable values for property tests: uniform in [-scale, scale) on the
 *  project's seeded generator, then rounded to f32 and to the nearest bf16. */
export function randomBf16Values(count: number, seed: number, scale = 2): number[] {
  const rng = Xoshiro128StarStar.fromSeed(seed);
  const values = Float32Array.from({ length: count }, () => (rng.nextUnit() * 2 - 1) * scale);
  return Array.from(encodeBf16(values), (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]);
}

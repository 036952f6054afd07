import type { Shape } from '../src/contracts/schema.js';
import type { CaseInputs } from '../src/engines/io.js';
import { Xoshiro128StarStar } from '../src/fixtures/prng.js';
import type { Tensor } from '../src/numerics/tensor.js';

// Inputs for the benches at M = 8192 (bench/webgpu.ts, bench/explain-gpu.ts).

/**
 * Seeded inputs in the ranges of the 'random' generator, made fast enough for M = 8192 (the
 * generator's normals take minutes there): bf16 with a random sign and mantissa, exponents
 * 2^-7..2^3 for the ranks, 2^-5..2^5 for the residual, weights in [0.5, 2).
 */
export function benchInputs(shape: Shape, seed: number): CaseInputs {
  const rng = Xoshiro128StarStar.fromSeed(seed);
  const bf16 = (count: number, lowExponent: number, span: number, signed: boolean): Uint16Array => {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      const r = rng.nextUint32();
      const sign = signed ? (r >>> 31) << 15 : 0;
      out[i] = sign | ((127 + lowExponent + ((r >>> 7) % span)) << 7) | (r & 0x7f);
    }
    return out;
  };
  const elements = shape.tokens * shape.hidden;
  const matrix = (data: Uint16Array): Tensor => ({ dtype: 'BF16', shape: [shape.tokens, shape.hidden], data });
  return {
    rankInputs: Array.from({ length: shape.ranks }, () => matrix(bf16(elements, -7, 11, true))),
    residual: matrix(bf16(elements, -5, 11, true)),
    weight: { dtype: 'BF16', shape: [shape.hidden], data: bf16(shape.hidden, -1, 2, false) },
  };
}

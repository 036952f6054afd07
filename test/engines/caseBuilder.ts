import { encodeBf16 } from '../../src/numerics/bf16.js';
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

/** Deterministic bf16-representable pseudo-random values (mulberry32), for property tests. */
export function randomBf16Values(count: number, seed: number, scale = 2): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    out.push(Math.fround((u * 2 - 1) * scale));
  }
  return Array.from(encodeBf16(Float32Array.from(out)), (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]);
}

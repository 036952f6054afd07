import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import { allReduce } from '../../src/engines/cpu/allReduce.js';
import { cpuCase, quantConstants } from '../../src/engines/cpu/context.js';
import { normalize } from '../../src/engines/cpu/normalize.js';
import { groupScale, quantize } from '../../src/engines/cpu/quant.js';
import { sumOfSquares } from '../../src/engines/cpu/sumOfSquares.js';
import { STAGE_TWINS } from '../../src/engines/stages.js';
import { IEEE_F32 } from '../../src/numerics/f32ops.js';
import { PACKAGE_ROOT } from '../../src/packageRoot.js';
import { caseOf } from './caseBuilder.js';

// The stage registry: each CPU stage is the function named as its WGSL entry point, and each
// runs on rows to the bits derived by hand below. This is the CPU half; the WGSL half runs the
// same entry points on the same rows through the WebGPU simulator (test/webgpu, gpu helper).

describe('stage registry', () => {
  test.each(STAGE_TWINS.map((s) => [s.name, s] as const))('%s: the CPU function and the WGSL entry point share the name', (name, twin) => {
    expect(twin.cpu.name).toBe(name);
    expect(twin.wgsl.entry).toBe(name);
    const wgsl = readFileSync(join(PACKAGE_ROOT, 'shaders', 'engine', twin.wgsl.file), 'utf8');
    expect(wgsl).toMatch(new RegExp(`fn ${name}\\(`));
  });
});

describe('CPU stages on rows (hand-derived)', () => {
  // unfused: natural f32 AR rounded to bf16 (RNE), bf16 residual add, sequential sum of squares,
  // one rounding of (x*rstd)*w. Ranks [1, 2], [2, 2]; residual [1, -4]: AR [3, 4], x [4, 0].
  const contract = getPreset('unfused').contract;
  const shape = { ranks: 2, tokens: 1, hidden: 2 };
  const inputs = caseOf(
    [
      [1, 2],
      [2, 2],
    ],
    [1, -4],
    [1, 0.5],
  );
  const c = cpuCase(contract, shape, inputs);

  test('allReduce: x = [4, 0], residual out bf16 [0x4080, 0x0000]', () => {
    const x = new Float32Array(2);
    const residualOut = new Uint16Array(2);
    allReduce(c, 0, 0, x, residualOut);
    expect(Array.from(x)).toEqual([4, 0]);
    expect(Array.from(residualOut)).toEqual([0x4080, 0x0000]);
  });
  test('sumOfSquares: sumsq 16, variance 8, + fround(1e-6), rstd = fround(1/fround(sqrt(8 + eps)))', () => {
    // 8 + fround(1e-6): ulp at 8 is 2^-20 ~ 9.5e-7, eps ~ 1e-6 rounds to one ulp: 8 + 2^-20.
    // sqrt(8 + 2^-20) = 2.828427... ; both roundings are the nearest f32 values.
    const v = 8 + 2 ** -20;
    expect(sumOfSquares(c, Float32Array.of(4, 0))).toBe(Math.fround(1 / Math.fround(Math.sqrt(v))));
    expect(Math.fround(8 + Math.fround(1e-6))).toBe(v);
  });
  test('normalize: (x*rstd)*w with rstd 0.25 -> [1, 0] * [1, 0.5]; bf16 [0x3F80, 0x0000]', () => {
    const normed = new Float32Array(2);
    const normOut = new Uint16Array(2);
    normalize(c, Float32Array.of(4, 0), 0.25, normed, normOut);
    expect(Array.from(normed)).toEqual([1, 0]);
    expect(Array.from(normOut)).toEqual([0x3f80, 0x0000]);
  });
  test('groupScale and quantize (vLLM C++ per-token-group): amax 448 -> scale 1; 448 -> 0x7E, -1 -> 0xB8', () => {
    const quant = getPreset('vllm-group-quant').contract.quant!;
    const q = quantConstants(quant, 2);
    const values = Float32Array.of(448, -1);
    expect(groupScale(q, IEEE_F32, values)).toBe(1);
    const codes = new Uint8Array(2);
    quantize(q, IEEE_F32, values, 1, codes, 0);
    expect(Array.from(codes)).toEqual([0x7e, 0xb8]);
  });
});

import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { Contract, ContractInput, PerThreadPattern, QuantContract } from '../../src/contracts/schema.js';
import { parseContract } from '../../src/contracts/validate.js';
import { everySite } from '../../src/diff/dimensions.js';
import { cpuCase, quantConstants } from '../../src/engines/cpu/context.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { groupScale, quantize } from '../../src/engines/cpu/quant.js';
import { planSumOfSquares, sumOfSquares, varianceOf, varianceWithEps } from '../../src/engines/cpu/sumOfSquares.js';
import { loadScale, scaleShape, storeScale } from '../../src/engines/io.js';
import { reductionPlan } from '../../src/engines/layout/reduction.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { FLUSHING_F32, IEEE_F32 } from '../../src/numerics/f32ops.js';
import { caseOf } from './caseBuilder.js';

// Each new contract dimension on cases whose bits are derived by hand in the comments.

const bits = (x: number): number => bitsFromF32(x);
const preset = (name: string): Contract => getPreset(name).contract;
function patched(base: Contract, patch: (c: ContractInput) => ContractInput): Contract {
  return parseContract(patch(JSON.parse(JSON.stringify(base)) as ContractInput));
}

describe('f32Subnormals', () => {
  // Two ranks of 2^-130 (a bf16 subnormal, 0x0004 << ... exact) and zeros for the residual:
  // kept, the AR sum is 2^-129, bf16 0x0010 (2^-129 / 2^-133 = 16); flushed, both operands read 0.
  const contract = (subnormals: 'keep' | 'flush') => patched(preset('unfused'), (c) => ({ ...c, f32Subnormals: subnormals }));
  const inputs = caseOf(
    [
      [2 ** -130, 1, 1, 1],
      [2 ** -130, 1, 1, 1],
    ],
    [0, 0, 0, 0],
    [1, 1, 1, 1],
  );
  test('the AR sum of two subnormals: 0x0010 kept, 0x0000 flushed; 1 + 1 = 2 either way', () => {
    expect(Array.from(runCpuEngine(contract('keep'), { ranks: 2, tokens: 1, hidden: 4 }, inputs).get('out.residual')!.data)).toEqual([
      0x0010, 0x4000, 0x4000, 0x4000,
    ]);
    expect(Array.from(runCpuEngine(contract('flush'), { ranks: 2, tokens: 1, hidden: 4 }, inputs).get('out.residual')!.data)).toEqual([
      0x0000, 0x4000, 0x4000, 0x4000,
    ]);
  });
});

describe('bf16Rounding per site', () => {
  // 1 + 3*2^-8 is halfway between bf16 1 + 2^-7 (0x3F81) and 1 + 2^-6 (0x3F82): RNE takes the
  // even 0x3F82, truncation 0x3F81. Only the residual-out site truncates.
  test('residualOut truncates while the AR round trip rounds to nearest even', () => {
    const base = patched(preset('aiter-1stage'), (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { perThread: 'chain', tree: { kind: 'sequential' } } } }));
    const contract = patched(base, (c) => ({ ...c, bf16Rounding: { ...everySite('rne'), residualOut: 'truncate' } }));
    const late = caseOf(
      [
        [1, 1],
        [0, 1],
      ],
      [3 * 2 ** -8, 0],
      [1, 1],
    );
    // AR 1 -> round trip 1; f32 residual add 1 + 3*2^-8, the tie: truncate 0x3F81 (RNE would give 0x3F82).
    expect(runCpuEngine(contract, { ranks: 2, tokens: 1, hidden: 2 }, late).get('out.residual')!.data[0]).toBe(0x3f81);
    expect(runCpuEngine(base, { ranks: 2, tokens: 1, hidden: 2 }, late).get('out.residual')!.data[0]).toBe(0x3f82);
  });
});

describe('per-thread patterns (hand-derived)', () => {
  // x0 = 1 + 2^-12: x0*x0 = 1 + 2^-11 + 2^-24, a tie that rounds to the even 1 + 2^-11.
  // x1 = 2^-12: x1*x1 = 2^-24 exactly.
  const sumsq = (row: number[], perThread: PerThreadPattern): number => {
    const base = preset('unfused');
    const contract = patched(base, (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { perThread, tree: { kind: 'sequential' } } } }));
    return planSumOfSquares(reductionPlan(contract, { ranks: 1, tokens: 1, hidden: row.length }), perThread, IEEE_F32, Float32Array.from(row));
  };
  const x0 = 1 + 2 ** -12;
  const x1 = 2 ** -12;
  test('pair: fround(x0^2) + 2^-24 ties back to 1 + 2^-11', () => {
    expect(sumsq([x0, x1], 'pair')).toBe(1 + 2 ** -11);
  });
  test('pair-fma contracts the first square: fma(x0, x0, 2^-24) = 1 + 2^-11 + 2^-23 exactly', () => {
    expect(sumsq([x0, x1], 'pair-fma')).toBe(1 + 2 ** -11 + 2 ** -23);
    // With the pair the other way round the rounded square is x0's: the tie returns.
    expect(sumsq([x1, x0], 'pair-fma')).toBe(1 + 2 ** -11);
  });
  test('chain vs fma-chain on the same two elements (x1 first)', () => {
    expect(sumsq([x1, x0], 'chain')).toBe(1 + 2 ** -11);
    expect(sumsq([x1, x0], 'fma-chain')).toBe(1 + 2 ** -11 + 2 ** -23);
  });
});

describe('norm.variance and norm.weight.offset', () => {
  // H = 3, sumsq 10, eps 3*2^-24 (0.75 units of 2^-22, the f32 ULP of [2, 4)). In units of 2^-22:
  // 10/3 = 13981013.33 -> 13981013, + 0.75 = 13981013.75 -> 13981014 (0x40555556).
  // fround(1/3) = 11184811 * 2^-25 (0x3EAAAAAB); 10 * that = 13981013.75 -> 13981014, + 0.75 =
  // 13981014.75 -> 13981015 (0x40555557). fma(10, fround(1/3), eps) = 13981013.75 + 0.75 =
  // 13981014.5 exactly, one rounding: the tie goes to the even 13981014 (0x40555556).
  test('rsqrt operand: divide 0x40555556, reciprocal-multiply 0x40555557, reciprocal-fma 0x40555556', () => {
    const inputs = caseOf([[1, 1, 1]], [0, 0, 0], [1, 1, 1]);
    const operand = (variance: 'divide' | 'reciprocal-multiply' | 'reciprocal-fma') =>
      varianceOf(
        cpuCase(
          patched(preset('unfused'), (c) => ({ ...c, norm: { ...c.norm, variance, eps: 3 * 2 ** -24 } })),
          { ranks: 1, tokens: 1, hidden: 3 },
          inputs,
        ),
        10,
      );
    expect(bits(operand('divide'))).toBe(0x40555556);
    expect(bits(operand('reciprocal-multiply'))).toBe(0x40555557);
    expect(bits(operand('reciprocal-fma'))).toBe(0x40555556);
  });
  // w = 2^-9: 1 + w is exact in f32 (1.001953125); in bf16 (7 fraction bits) 2^-9 is below half
  // an ULP of 1 (2^-8), so bf16(1 + w) = 1.
  test('Gemma (1 + w): f32 1 + 2^-9, bf16 1, none 2^-9', () => {
    const inputs = caseOf([[1, 1]], [0, 0], [2 ** -9, 0.5]);
    const weight = (offset: 'none' | 'f32' | 'bf16') =>
      Array.from(
        cpuCase(
          patched(preset('unfused'), (c) => ({ ...c, norm: { ...c.norm, weight: { ...c.norm.weight, offset } } })),
          { ranks: 1, tokens: 1, hidden: 2 },
          inputs,
        ).weight,
      );
    expect(weight('f32')).toEqual([1 + 2 ** -9, 1.5]);
    expect(weight('bf16')).toEqual([1, 1.5]);
    expect(weight('none')).toEqual([2 ** -9, 0.5]);
  });
});

describe("norm.input 'f32-squares-bf16-normalize' (compiled HF Llama)", () => {
  // One rank of [1, 1] plus the residual [2^-9, 0], added in f32: x0 = 1 + 2^-9 (exact). Stored
  // as bf16, 2^-9 is a quarter ULP of 1 (2^-7): out.residual[0] = 1 (0x3F80). rstd is replaced
  // by r = 1 + 2^-8 - 2^-20, just below the bf16 tie 1 + 2^-8, and w = 1:
  // - the f32 x: fround((1 + 2^-9) r) = 1 + 2^-8 + 2^-9 + 7*2^-20 (the -2^-29 term is below half
  //   an f32 ULP), past the tie: bf16 rounds up to 1 + 2^-7 (0x3F81);
  // - the re-read bf16 x: 1 * r = r, below the tie: bf16 1 (0x3F80).
  // The sum of squares of the split reads the f32 x: it sees what 'f32' sees, not what 'bf16' sees
  // (1^2 + 1^2 = 2 against (1 + 2^-9)^2 + 1).
  const r = 1 + 2 ** -8 - 2 ** -20;
  const inputs = caseOf([[1, 1]], [2 ** -9, 0], [1, 1]);
  const run = (input: 'f32' | 'bf16' | 'f32-squares-bf16-normalize') => {
    const contract = patched(preset('unfused'), (c) => ({ ...c, residual: { add: 'f32' }, norm: { ...c.norm, input } }));
    let rstd = NaN;
    const out = runCpuEngine(contract, { ranks: 1, tokens: 1, hidden: 2 }, inputs, {
      rstdOverride: (_row, computed) => {
        rstd = computed;
        return r;
      },
    });
    return { residual: out.get('out.residual')!.data[0], norm: out.get('out.norm')!.data[0], rstd };
  };
  test('normalizes the stored bf16 residual (0x3F80) where the f32 input gives 0x3F81', () => {
    expect(run('f32')).toMatchObject({ residual: 0x3f80, norm: 0x3f81 });
    expect(run('f32-squares-bf16-normalize')).toMatchObject({ residual: 0x3f80, norm: 0x3f80 });
    expect(run('bf16')).toMatchObject({ residual: 0x3f80, norm: 0x3f80 });
  });
  test("squares the f32 sum: the row's rstd is the 'f32' one, not the 'bf16' one", () => {
    expect(run('f32-squares-bf16-normalize').rstd).toBe(run('f32').rstd);
    expect(run('f32-squares-bf16-normalize').rstd).not.toBe(run('bf16').rstd);
  });
  test('a contract cannot square an unrounded sum that a bf16 residual add never made, nor re-read a residual it does not write', () => {
    const base = patched(preset('unfused'), (c) => ({ ...c, residual: { add: 'f32' } }));
    expect(() => patched(base, (c) => ({ ...c, residual: { add: 'bf16' }, norm: { ...c.norm, input: 'f32-squares-bf16-normalize' } }))).toThrow(/norm\.input/);
    expect(() => patched(base, (c) => ({ ...c, residual: null, norm: { ...c.norm, input: 'f32-squares-bf16-normalize' } }))).toThrow(/norm\.input/);
  });
});

// The quant tests' base, written out so that their hand-derived bits do not move when a preset
// is corrected: groups of 128, e4m3fn (max 448), IEEE division, no amax floor, the scale floored
// at 1e-10 before any UE8M0 rounding, row-major scales.
const QUANT: QuantContract = {
  groupSize: 128,
  format: 'e4m3fn',
  input: 'bf16',
  staticScale: null,
  divisor: 'format-max',
  amaxFloor: null,
  scaleFloor: { value: 1e-10, stage: 'before-ue8m0' },
  zeroAmaxScaleOne: false,
  scale: 'divide',
  ue8m0: 'none',
  quantize: 'divide',
  clamp: 448,
  saturation: 'satfinite',
  scaleLayout: { kind: 'row-major' },
  bf16SideOutput: false,
};
const withQuant = (quant: QuantContract): Contract => patched(preset('unfused'), (c) => ({ ...c, quant }));

describe('quant dimensions (hand-derived)', () => {
  const vllm = QUANT;
  const scaleOf = (quant: QuantContract, values: number[]) => groupScale(quantConstants(quant, values.length), IEEE_F32, Float32Array.from(values));
  const codesOf = (quant: QuantContract, values: number[], scale: number) => {
    const codes = new Uint8Array(values.length);
    quantize(quantConstants(quant, values.length), IEEE_F32, Float32Array.from(values), scale, codes, 0);
    return Array.from(codes);
  };
  test('f32Subnormals in the quant arithmetic: a subnormal amax or value reads as 0 when flushed', () => {
    const noFloor = { ...vllm, scaleFloor: null };
    // 2^-130 / 448 = 2^13/7 units of 2^-149 = 1170.28 -> 1170 = 0x492 (a subnormal) kept; 0 flushed.
    expect(bits(groupScale(quantConstants(noFloor, 1), IEEE_F32, Float32Array.of(2 ** -130)))).toBe(0x492);
    expect(bits(groupScale(quantConstants(noFloor, 1), FLUSHING_F32, Float32Array.of(2 ** -130)))).toBe(0);
    // 2^-130 / 2^-125 = 2^-5: e4m3fn exponent field 2 -> 0x10 kept; the flushed dividend gives 0.
    const code = (f32: typeof IEEE_F32) => {
      const codes = new Uint8Array(1);
      quantize(quantConstants(vllm, 1), f32, Float32Array.of(2 ** -130), 2 ** -125, codes, 0);
      return codes[0];
    };
    expect(code(IEEE_F32)).toBe(0x10);
    expect(code(FLUSHING_F32)).toBe(0x00);
  });
  test('divisor 224 (vLLM/SGLang Triton on ROCm): amax 224 -> scale 1; format max 448 -> 0.5', () => {
    expect(scaleOf({ ...vllm, divisor: 224 }, [224, -1])).toBe(1);
    expect(scaleOf(vllm, [224, -1])).toBe(0.5);
    // e4m3fn: 224 = 1.75 * 2^7 -> 0 1110 110 = 0x76; 448 = 1.75 * 2^8 -> 0x7E.
    expect(codesOf({ ...vllm, divisor: 224 }, [224], 1)).toEqual([0x76]);
    expect(codesOf(vllm, [224], 0.5)).toEqual([0x7e]);
  });
  test('amax floor vs scale floor on an all-zero group', () => {
    const noFloor = { ...vllm, scaleFloor: null };
    expect(scaleOf({ ...noFloor, amaxFloor: 1e-10 }, [0, 0])).toBe(Math.fround(Math.fround(1e-10) / 448));
    expect(scaleOf(vllm, [0, 0])).toBe(Math.fround(1e-10));
    expect(scaleOf({ ...noFloor, zeroAmaxScaleOne: true }, [0, 0])).toBe(1);
    expect(scaleOf(noFloor, [0, 0])).toBe(0);
  });
  test('scale floor 1/(448*512) before or after UE8M0 ceil (vLLM native: after)', () => {
    // floor = fround(1/229376) ~ 2^-17.8: before UE8M0 it is rounded up to 2^-17; after it, the
    // UE8M0 of the zero scale is 0 and the floor itself (not a power of two) is the scale.
    const floor = Math.fround(1 / 229376);
    const ue8m0 = { ...vllm, ue8m0: 'ceil' as const };
    expect(scaleOf({ ...ue8m0, scaleFloor: { value: 1 / 229376, stage: 'before-ue8m0' } }, [0, 0])).toBe(2 ** -17);
    expect(scaleOf({ ...ue8m0, scaleFloor: { value: 1 / 229376, stage: 'after-ue8m0' } }, [0, 0])).toBe(floor);
  });
  test('static scale 0.5: 1 -> 2 (0x40), -3 -> -6 (1 1001 100 = 0xCC), whatever the amax', () => {
    const fixed = { ...vllm, staticScale: 0.5, scaleFloor: null };
    expect(scaleOf(fixed, [1, -3, 100])).toBe(0.5);
    expect(codesOf(fixed, [1, -3], 0.5)).toEqual([0x40, 0xcc]);
  });
  test("per-token groups: one scale from the whole row's amax", () => {
    const contract = withQuant({ ...QUANT, groupSize: 'token' });
    const out = runCpuEngine(contract, { ranks: 1, tokens: 2, hidden: 4 }, caseOf([[1, 2, 3, 4, 0, 0, 0, 0]], [0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1], 2));
    expect(out.get('out.scale')!.shape).toEqual([2, 1]);
    expect(quantConstants(contract.quant!, 4)).toMatchObject({ groupSize: 4, groups: 1 });
  });
});

describe('scale layouts (hand-derived)', () => {
  test('column-major with tokenAlign 4: 3 tokens x 2 groups -> [2, 4], token 3 is padding', () => {
    const layout = { kind: 'column-major', tokenAlign: 4 } as const;
    expect(scaleShape(layout, 3, 2)).toEqual([2, 4]);
    const words = new Uint32Array(8);
    storeScale(words, layout, 2, 1, 3, 2, 0x3f800000);
    expect(Array.from(words)).toEqual([0, 0, 0, 0, 0, 0, 0x3f800000, 0]);
  });
  test('packed UE8M0: 3 tokens x 5 groups, tokenAlign 4 -> int32 [2, 4]; group g of token m is byte g%4 of word (g/4)*4 + m', () => {
    const layout = { kind: 'packed-ue8m0', tokenAlign: 4 } as const;
    expect(scaleShape(layout, 3, 5)).toEqual([2, 4]);
    const words = new Uint32Array(8);
    storeScale(words, layout, 0, 1, 3, 5, bits(2 ** -3)); // exponent 124 = 0x7C, byte 1 of word 0
    storeScale(words, layout, 2, 4, 3, 5, bits(2)); // exponent 128 = 0x80, byte 0 of word 6
    storeScale(words, layout, 0, 3, 3, 5, bits(1)); // exponent 127 = 0x7F, byte 3 of word 0
    expect(Array.from(words)).toEqual([0x7f007c00, 0, 0, 0, 0, 0, 0x80, 0]);
    expect(loadScale(words, layout, 0, 1, 3, 5)).toBe(bits(2 ** -3));
    expect(loadScale(words, layout, 0, 3, 3, 5)).toBe(bits(1));
  });
  test('the engine writes the same UE8M0 scales packed as row-major', () => {
    const ue8m0 = withQuant({ ...QUANT, ue8m0: 'ceil' });
    const packed = patched(ue8m0, (c) => ({ ...c, quant: { ...c.quant!, groupSize: 2, scaleLayout: { kind: 'packed-ue8m0', tokenAlign: 4 } } }));
    const rowMajor = patched(ue8m0, (c) => ({ ...c, quant: { ...c.quant!, groupSize: 2 } }));
    const shape = { ranks: 1, tokens: 3, hidden: 10 };
    const values = Array.from({ length: 30 }, (_, i) => ((i * 7) % 11) - 5);
    const inputs = caseOf([values], new Array(30).fill(0), new Array(10).fill(1), 3);
    const a = runCpuEngine(packed, shape, inputs).get('out.scale')!;
    const b = runCpuEngine(rowMajor, shape, inputs).get('out.scale')!;
    expect(a.dtype).toBe('I32');
    for (let m = 0; m < 3; m++)
      for (let g = 0; g < 5; g++) expect(loadScale(a.data as Uint32Array, packed.quant!.scaleLayout, m, g, 3, 5)).toBe(b.data[m * 5 + g]);
  });
});

describe('norm.epsAdd (hand-derived)', () => {
  // eps = 2^-25 + 2^-51; the variance 529/1024 = 0x3f044000 (ulp 2^-24 in [0.5, 1)). f32: fround(eps)
  // = 2^-25 (the 2^-51 is below half its ulp, 2^-49), so v + 2^-25 is the midpoint of v and
  // v + 2^-24: ties to the even 0x3f044000. f64: v + eps is exact in f64 (bits 2^-1 .. 2^-51) and
  // lies above the midpoint: 0x3f044001.
  const eps = 2 ** -25 + 2 ** -51;
  const caseWith = (epsAdd: 'f32' | 'f64', f32Subnormals: 'keep' | 'flush' = 'keep') =>
    cpuCase(
      patched(preset('unfused'), (c) => ({ ...c, f32Subnormals, norm: { ...c.norm, eps, epsAdd } })),
      { ranks: 1, tokens: 1, hidden: 2 },
      caseOf([[0.71875, 0.71875]], [0, 0], [1, 1]),
    );
  test('variance + eps: f32 0x3f044000, f64 0x3f044001', () => {
    expect(bits(varianceWithEps(caseWith('f32'), 529 / 1024))).toBe(0x3f044000);
    expect(bits(varianceWithEps(caseWith('f64'), 529 / 1024))).toBe(0x3f044001);
  });
  test("the row's rstd follows: x = 0.71875 twice, sumsq 529/512, variance 529/1024; the two rstd differ by one ulp", () => {
    const x = Float32Array.from([0.71875, 0.71875]);
    const f32 = sumOfSquares(caseWith('f32'), x);
    const f64 = sumOfSquares(caseWith('f64'), x);
    expect(bits(f32)).toBe(bits(Math.fround(1 / Math.fround(Math.sqrt(f32FromBits(0x3f044000))))));
    expect(bits(f64)).toBe(bits(Math.fround(1 / Math.fround(Math.sqrt(f32FromBits(0x3f044001))))));
    expect(bits(f32) - bits(f64)).toBe(1);
  });
  test('under flush a subnormal variance reads as 0 in the f64 add: 2^-130 + 2^-140 gives fround(2^-140) = 2^-140, then flushed to 0', () => {
    expect(bits(varianceWithEps(patchedEps(2 ** -140, 'flush'), 2 ** -130))).toBe(0);
    // Kept: 2^-130 + 2^-140 is exact in f64 and rounds to a subnormal f32 (ulp 2^-149): 2^-130 + 2^-140.
    expect(varianceWithEps(patchedEps(2 ** -140, 'keep'), 2 ** -130)).toBe(2 ** -130 + 2 ** -140);
  });
  function patchedEps(value: number, f32Subnormals: 'keep' | 'flush') {
    return cpuCase(
      patched(preset('unfused'), (c) => ({ ...c, f32Subnormals, norm: { ...c.norm, eps: value, epsAdd: 'f64' } })),
      { ranks: 1, tokens: 1, hidden: 2 },
      caseOf([[1, 1]], [0, 0], [1, 1]),
    );
  }
});

describe('allReduce.negativeZeroInputs (hand-derived)', () => {
  // Element 0: both ranks -0 and a -0 residual: kept, -0 + -0 = -0 and -0 + -0 = -0, so
  // out.residual is 0x8000 and out.norm -0 * rstd * 1 = -0 (0x8000); read as +0 (FlashInfer
  // one-shot), +0 + +0 = +0 and +0 + -0 = +0: 0x0000 for both. Element 1: -0 + 1 = 1 either way.
  const inputs = caseOf(
    [
      [-0, -0],
      [-0, 1],
    ],
    [-0, 0],
    [1, 1],
  );
  const run = (negativeZeroInputs: 'keep' | 'positive') =>
    runCpuEngine(
      patched(preset('unfused'), (c) => ({ ...c, allReduce: { ...c.allReduce, negativeZeroInputs } })),
      { ranks: 2, tokens: 1, hidden: 2 },
      inputs,
    );
  test('keep: residual and norm 0x8000 at element 0; positive: 0x0000; element 1 is 1 (0x3f80) in out.residual either way', () => {
    expect(Array.from(run('keep').get('out.residual')!.data)).toEqual([0x8000, 0x3f80]);
    expect(run('keep').get('out.norm')!.data[0]).toBe(0x8000);
    expect(Array.from(run('positive').get('out.residual')!.data)).toEqual([0x0000, 0x3f80]);
    expect(run('positive').get('out.norm')!.data[0]).toBe(0x0000);
  });
});

describe('butterfly tailWarp (hand-derived)', () => {
  // perThread 8, warpSize 32. Element 0 is 1, elements 256..263 (thread 32) are 2, the rest 0.
  // H = 264: 33 threads. pad: thread 32 is in a second warp (31 zero threads beside it), so the
  // sum is 1 + 8*4 = 33. drop: floor(33/32) = 1 warp is read, thread 32's 32 is left out: 1.
  // H = 248: 31 threads, no whole warp: drop gives +0.
  const sumsq = (hidden: number, tailWarp: 'pad' | 'drop'): number => {
    const tree = { kind: 'butterfly', perThread: 8, warpSize: 32, tailWarp } as const;
    const contract = patched(preset('unfused'), (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { perThread: 'fma-chain', tree } } }));
    const row = new Float32Array(hidden);
    row[0] = 1;
    for (let h = 256; h < Math.min(264, hidden); h++) row[h] = 2;
    return planSumOfSquares(reductionPlan(contract, { ranks: 1, tokens: 1, hidden }), 'fma-chain', IEEE_F32, row);
  };
  test('H = 264: pad 33, drop 1', () => {
    expect(sumsq(264, 'pad')).toBe(33);
    expect(sumsq(264, 'drop')).toBe(1);
  });
  test('H = 256 (whole warps): drop changes nothing', () => {
    expect(sumsq(256, 'drop')).toBe(sumsq(256, 'pad'));
  });
  test('H = 248: pad 1, drop +0', () => {
    expect(sumsq(248, 'pad')).toBe(1);
    expect(Object.is(sumsq(248, 'drop'), 0)).toBe(true);
  });
});

import { describe, expect, test } from 'vitest';
import type { Contract, ContractInput } from '../../src/contracts/schema.js';
import { parseContract } from '../../src/contracts/validate.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { bf16FromF32Bits } from '../../src/numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { fp8FromF32Bits } from '../../src/numerics/fp8.js';
import { sm90RsqrtApprox, sm90RsqrtApproxFtz } from '../../src/numerics/hardware/sm90.js';
import { sm90DivFull } from '../../src/numerics/hardware/sm90Div.js';
import { caseOf, randomBf16Values } from './caseBuilder.js';

// The measured sm_90 hardware-op slots in the CPU engine, against a transcription written here
// from the slot definitions (schema hardwareOps; nvcc's rsqrtf = rsqrt.approx.f32, Triton's `/`
// = div.full.f32): one rank, a sequential chain sum of squares, one rounding of (x*rstd)*w.

const HIDDEN = 64;
const TOKENS = 24;

function contract(hardwareOps: ContractInput['hardwareOps'], subnormals: 'keep' | 'flush' = 'keep', quant = false): Contract {
  const rne = 'rne' as const;
  return parseContract({
    allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'none' },
    bf16Rounding: { allReduceHop: rne, allReduceResult: rne, residualAdd: rne, residualOut: rne, normIntermediate: rne, normOut: rne },
    f32Subnormals: subnormals,
    hardwareOps,
    residual: null,
    norm: {
      input: 'f32',
      sumOfSquares: { perThread: 'chain', tree: { kind: 'sequential' } },
      variance: 'divide',
      eps: 1e-6,
      weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
      multiplyOrder: 'x-rstd-w',
      roundIntermediate: false,
    },
    quant: quant
      ? {
          groupSize: HIDDEN,
          format: 'e4m3fn',
          input: 'f32',
          staticScale: null,
          divisor: 'format-max',
          amaxFloor: null,
          scaleFloor: null,
          zeroAmaxScaleOne: false,
          scale: 'divide',
          ue8m0: 'none',
          quantize: 'divide',
          clamp: 'none',
          saturation: 'satfinite',
          scaleLayout: { kind: 'row-major' },
          bf16SideOutput: false,
        }
      : null,
  });
}

const rows = randomBf16Values(TOKENS * HIDDEN, 7, 3);
const weight = randomBf16Values(HIDDEN, 8, 1.5);
const inputs = caseOf([rows], null, weight, TOKENS);

/** The transcription: per row, sumsq in order, v = fround(fround(sumsq / H) + eps), rstd from
 *  the slot, y = fround(fround(x * rstd) * w). */
function expectedRow(m: number, rstdOf: (v: number) => number): { norm: number[]; rstd: number } {
  let sumsq = 0;
  for (let h = 0; h < HIDDEN; h++) sumsq = Math.fround(sumsq + Math.fround(rows[m * HIDDEN + h] ** 2));
  const v = Math.fround(Math.fround(sumsq / HIDDEN) + Math.fround(1e-6));
  const rstd = rstdOf(v);
  const y = Array.from({ length: HIDDEN }, (_, h) => Math.fround(Math.fround(rows[m * HIDDEN + h] * rstd) * weight[h]));
  return { rstd, norm: y.map((value) => bf16FromF32Bits(bitsFromF32(value), 'rne')) };
}

const viaBits = (op: (bits: number) => number) => (v: number) => f32FromBits(op(bitsFromF32(v)));

describe('hardwareOps sm90 slots in the CPU engine', () => {
  test("rsqrt 'sm90' is rsqrt.approx.f32 of fround(variance + eps): rstd and outputs; it moves some rows' rstd off the ieee one", () => {
    const shape = { ranks: 1, tokens: TOKENS, hidden: HIDDEN };
    const rstds = (c: Contract): number[] => {
      const seen: number[] = [];
      runCpuEngine(c, shape, inputs, { rstdOverride: (m, rstd) => ((seen[m] = rstd), rstd) });
      return seen;
    };
    const sm90Contract = contract({ rsqrt: 'sm90', reciprocal: 'ieee', divide: 'ieee' });
    const sm90 = runCpuEngine(sm90Contract, shape, inputs);
    const sm90Rstd = rstds(sm90Contract);
    const ieeeRstd = rstds(contract({ rsqrt: 'ieee', reciprocal: 'ieee', divide: 'ieee' }));
    let rowsThatDiffer = 0;
    for (let m = 0; m < TOKENS; m++) {
      const want = expectedRow(m, viaBits(sm90RsqrtApprox));
      expect(sm90Rstd[m], `row ${m} rstd`).toBe(want.rstd);
      expect(Array.from(sm90.get('out.norm')!.data.subarray(m * HIDDEN, (m + 1) * HIDDEN)), `row ${m}`).toEqual(want.norm);
      if (ieeeRstd[m] !== sm90Rstd[m]) rowsThatDiffer++;
    }
    expect(rowsThatDiffer).toBeGreaterThan(0);
  });

  test("with f32Subnormals 'flush' the slot is rsqrt.approx.ftz.f32", () => {
    const out = runCpuEngine(contract({ rsqrt: 'sm90', reciprocal: 'ieee', divide: 'ieee' }, 'flush'), { ranks: 1, tokens: TOKENS, hidden: HIDDEN }, inputs);
    for (let m = 0; m < TOKENS; m++) {
      expect(Array.from(out.get('out.norm')!.data.subarray(m * HIDDEN, (m + 1) * HIDDEN)), `row ${m}`).toEqual(
        expectedRow(m, viaBits(sm90RsqrtApproxFtz)).norm,
      );
    }
  });

  test("divide 'sm90-div-full': the variance, the scale amax/448 and every q = y/scale are div.full.f32", () => {
    const out = runCpuEngine(
      contract({ rsqrt: 'ieee', reciprocal: 'ieee', divide: 'sm90-div-full' }, 'keep', true),
      { ranks: 1, tokens: TOKENS, hidden: HIDDEN },
      inputs,
    );
    const div = (a: number, b: number) => f32FromBits(sm90DivFull(bitsFromF32(a), bitsFromF32(b)));
    for (let m = 0; m < TOKENS; m++) {
      let sumsq = 0;
      for (let h = 0; h < HIDDEN; h++) sumsq = Math.fround(sumsq + Math.fround(rows[m * HIDDEN + h] ** 2));
      const v = Math.fround(div(sumsq, HIDDEN) + Math.fround(1e-6));
      const rstd = Math.fround(1 / Math.fround(Math.sqrt(v)));
      const y = Array.from({ length: HIDDEN }, (_, h) => Math.fround(Math.fround(rows[m * HIDDEN + h] * rstd) * weight[h]));
      const amax = Math.max(...y.map(Math.abs));
      const scale = div(amax, 448);
      expect(f32FromBits(out.get('out.scale')!.data[m]), `row ${m} scale`).toBe(scale);
      const q = y.map((value) => fp8FromF32Bits(bitsFromF32(div(value, scale)), 'e4m3fn', 'satfinite'));
      expect(Array.from(out.get('out.q')!.data.subarray(m * HIDDEN, (m + 1) * HIDDEN)), `row ${m} codes`).toEqual(q);
    }
  });
});

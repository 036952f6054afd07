import { describe, expect, test } from 'vitest';
import { quantConstants } from '../../src/engines/cpu/context.js';
import { groupScale as groupScaleStage, quantize } from '../../src/engines/cpu/quant.js';
import { IEEE_F32 } from '../../src/numerics/f32ops.js';
import { getPreset } from '../../src/contracts/presets.js';
import type { QuantContract } from '../../src/contracts/schema.js';

const vllm = getPreset('vllm-group-quant').contract.quant!;
const triton = getPreset('vllm-group-quant-triton').contract.quant!;
const aiterFused = getPreset('aiter-1stage-quant').contract.quant!;
const aiterStandalone = getPreset('unfused-quant').contract.quant!;
const ue8m0 = getPreset('vllm-group-quant-ue8m0').contract.quant!;
const zeros = new Float32Array(128);

/** One group's scale by the CPU stage. */
function groupScale(values: Float32Array, quant: QuantContract): number {
  return groupScaleStage(quantConstants(quant, values.length), IEEE_F32, values);
}

/** One value's code by the CPU stage (which forms fround(1/scale) itself for 'reciprocal'). */
function quantizeValue(value: number, scale: number, quant: QuantContract): number {
  const codes = new Uint8Array(1);
  quantize(quantConstants(quant, 128), IEEE_F32, Float32Array.of(value), scale, codes, 0);
  return codes[0];
}

describe('scales (hand-derived)', () => {
  test('all-zero group: aiter fused 1, vLLM C++ floors the scale at fround(1e-10), Triton floors amax (vLLM 53339)', () => {
    expect(groupScale(zeros, aiterFused)).toBe(1);
    expect(groupScale(zeros, vllm)).toBe(Math.fround(1e-10));
    expect(groupScale(zeros, triton)).toBe(Math.fround(Math.fround(1e-10) / 448));
    // 1e-10 is in [2^-34, 2^-33); / 448 lands in [2^-43, 2^-42).
    expect(Math.floor(Math.log2(groupScale(zeros, vllm)))).toBe(-34);
    expect(Math.floor(Math.log2(groupScale(zeros, triton)))).toBe(-43);
  });

  test('amax 448 gives scale 1 by division; the reciprocal formula rounds 1/448 first', () => {
    const g = new Float32Array(128).fill(0.5);
    g[3] = -448;
    expect(groupScale(g, vllm)).toBe(1);
    // 1/448 = 2^-6 / 7 is not exact: amax * fround(1/448) rounds twice.
    const fnStandalone: QuantContract = { ...aiterStandalone, format: 'e4m3fn' };
    expect(groupScale(g, fnStandalone)).toBe(Math.fround(448 * Math.fround(1 / 448)));
  });

  test('UE8M0 ceil: amax 300 -> 300/448 -> 1; amax 448 -> exactly 1 stays 1; amax 449 -> 2', () => {
    const g = new Float32Array(128);
    g[0] = 300;
    expect(groupScale(g, ue8m0)).toBe(1);
    g[0] = 448;
    expect(groupScale(g, ue8m0)).toBe(1);
    g[0] = 449;
    expect(groupScale(g, ue8m0)).toBe(2);
  });
});

describe('codes (hand-derived)', () => {
  test('scale 1: values map straight to e4m3fn codes; the 1.0625 tie goes to the even code 1.0', () => {
    expect(quantizeValue(1, 1, vllm)).toBe(0x38);
    expect(quantizeValue(1.0625, 1, vllm)).toBe(0x38);
    expect(quantizeValue(1.1875, 1, vllm)).toBe(0x3a);
    expect(quantizeValue(-448, 1, vllm)).toBe(0xfe);
  });
  test('clamp: vLLM clamps at 448 before conversion; aiter fused does not clamp and overflows fnuz to 0x80', () => {
    expect(quantizeValue(1000, 1, vllm)).toBe(0x7e);
    expect(quantizeValue(1000, 1, aiterFused)).toBe(0x80);
    expect(quantizeValue(241, 1, aiterFused)).toBe(0x7f); // 241 rounds to 240, the fnuz max
  });
  test('division vs reciprocal multiply flip codes at rounding boundaries (MSLK 224)', () => {
    // scale = fround(300/448); fround(1/scale) is not its exact reciprocal. Take every e4m3fn
    // tie point t, the f32 values v near t*scale, and compare the two formulas' codes.
    const divide: QuantContract = { ...vllm, quantize: 'divide' };
    const reciprocal: QuantContract = { ...vllm, quantize: 'reciprocal' };
    const scale = Math.fround(300 / 448);
    const bits = new Uint32Array(1);
    const value = new Float32Array(bits.buffer);
    const flips: number[] = [];
    for (let e = -6; e <= 8; e++) {
      for (let m = 0; m < 8; m++) {
        value[0] = 2 ** e * (1 + (m + 0.5) / 8) * scale;
        const center = bits[0];
        for (let d = -3; d <= 3; d++) {
          bits[0] = center + d;
          const a = quantizeValue(value[0], scale, divide);
          const b = quantizeValue(value[0], scale, reciprocal);
          if (a !== b) flips.push(Math.abs(a - b));
        }
      }
    }
    expect(flips.length).toBeGreaterThan(10);
    expect(flips.every((d) => d === 1)).toBe(true);
  });
});

import { describe, expect, test } from 'vitest';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { planSumOfSquares } from '../../src/engines/cpu/sumOfSquares.js';
import { reductionPlan } from '../../src/engines/layout/reduction.js';
import { IEEE_F32 } from '../../src/numerics/f32ops.js';
import { getPreset } from '../../src/contracts/presets.js';
import { parseContract } from '../../src/contracts/validate.js';
import type { Contract, ContractInput, PerThreadPattern } from '../../src/contracts/schema.js';
import { bf16FromF32Bits, f32BitsFromBf16 } from '../../src/numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { caseOf, randomBf16Values } from './caseBuilder.js';

const bf16Of = (bits: number): number => f32FromBits(f32BitsFromBf16(bits));
const rne = (v: number): number => bf16Of(bf16FromF32Bits(bitsFromF32(v), 'rne'));
const rneBits = (v: number): number => bf16FromF32Bits(bitsFromF32(v), 'rne');

function run(contract: Contract, ranks: number, tokens: number, hidden: number, inputs: ReturnType<typeof caseOf>) {
  return runCpuEngine(contract, { ranks, tokens, hidden }, inputs);
}

describe('ROCm/aiter PR 2586 (hand-derived)', () => {
  // Element 0: rank sum 1 + 3*2^-8 is a bf16 tie that RNE takes up to 1 + 2^-6; the residual
  // -2^-8 then lands on 1 + 2^-7 (exact, code 0x3F81) without the round trip, and on the tie
  // 1 + 3*2^-8 -> 0x3F82 with it. The other elements keep the row non-uniform.
  const hidden = 8;
  const rank0 = [1, 0.5, -0.25, 2, 0.75, -1, 1.5, 0.125];
  const rank1 = [3 * 2 ** -8, 0, 0, 0, 0, 0, 0, 0];
  const residual = [-(2 ** -8), 0.5, 0.25, -1, 0.25, 0.5, -0.5, 1];
  const weight = [1, 1, 1, 1, 1, 1, 1, 1];
  const inputs = caseOf([rank0, rank1], residual, weight);

  test('residual bits: unfused 0x3F82, aiter-1stage 0x3F82, pre-2586 0x3F81', () => {
    const at0 = (name: string) => (run(getPreset(name).contract, 2, 1, hidden, inputs).get('out.residual')!.data as Uint16Array)[0];
    expect(at0('unfused')).toBe(0x3f82);
    expect(at0('aiter-1stage')).toBe(0x3f82);
    expect(at0('aiter-1stage-pre2586')).toBe(0x3f81);
  });

  test('after the fix the norm still differs: it reads the unrounded f32 x', () => {
    // Independent transcription of both chains for this row.
    const arRounded = rank0.map((v, h) => rne(Math.fround(v + rank1[h])));
    const xF32 = arRounded.map((v, h) => Math.fround(v + residual[h]));
    const xBf16 = xF32.map(rne);
    const normOf = (x: number[]): number[] => {
      let acc = 0;
      for (const v of x) acc = Math.fround(acc + Math.fround(v * v)); // no carry below 2^24: any order is exact here
      const rstd = Math.fround(1 / Math.fround(Math.sqrt(Math.fround(Math.fround(acc / hidden) + Math.fround(1e-6)))));
      return x.map((v, h) => rneBits(Math.fround(Math.fround(v * rstd) * weight[h])));
    };
    const unfusedNorm = Array.from(run(getPreset('unfused').contract, 2, 1, hidden, inputs).get('out.norm')!.data);
    const aiterNorm = Array.from(run(getPreset('aiter-1stage').contract, 2, 1, hidden, inputs).get('out.norm')!.data);
    expect(unfusedNorm).toEqual(normOf(xBf16));
    expect(aiterNorm).toEqual(normOf(xF32));
    expect(aiterNorm).not.toEqual(unfusedNorm);
  });

  test('on random data, unfused matches aiter-1stage residuals bit for bit and pre-2586 does not', () => {
    const [ranks, tokens, h] = [4, 8, 256];
    const rows = Array.from({ length: ranks }, (_, r) => randomBf16Values(tokens * h, 11 + r, 4));
    const data = caseOf(
      rows,
      randomBf16Values(tokens * h, 99, 8),
      randomBf16Values(h, 7, 1).map((v) => 1 + v / 4),
      tokens,
    );
    const residualOf = (name: string) => run(getPreset(name).contract, ranks, tokens, h, data).get('out.residual')!.data as Uint16Array;
    const unfused = residualOf('unfused');
    expect(residualOf('aiter-1stage')).toEqual(unfused);
    const pre = residualOf('aiter-1stage-pre2586');
    const moved = pre.filter((b, i) => b !== unfused[i]).length / pre.length;
    expect(moved).toBeGreaterThan(0.05);
  });
});

describe('preset semantics against the issue text, transcribed independently', () => {
  const [ranks, tokens, hidden] = [3, 4, 512];
  const rows = Array.from({ length: ranks }, (_, r) => randomBf16Values(tokens * hidden, 1000 + r, 3));
  const residual = randomBf16Values(tokens * hidden, 2000, 6);
  const weight = randomBf16Values(hidden, 3000, 0.5).map((v) => rne(1 + v));
  const inputs = caseOf(rows, residual, weight, tokens);
  const eps = Math.fround(1e-6);
  const rstdOf = (sumsq: number) => Math.fround(1 / Math.fround(Math.sqrt(Math.fround(Math.fround(sumsq / hidden) + eps))));

  test('unfused', () => {
    const out = run(getPreset('unfused').contract, ranks, tokens, hidden, inputs);
    const expectedResidual: number[] = [];
    const expectedNorm: number[] = [];
    for (let m = 0; m < tokens; m++) {
      const x: number[] = [];
      for (let h = 0; h < hidden; h++) {
        const e = m * hidden + h;
        let ar = rows[0][e];
        for (let r = 1; r < ranks; r++) ar = Math.fround(ar + rows[r][e]);
        x.push(rne(Math.fround(rne(ar) + residual[e])));
      }
      let sumsq = 0;
      for (const v of x) sumsq = Math.fround(Math.fround(v * v) + sumsq);
      const rstd = rstdOf(sumsq);
      for (let h = 0; h < hidden; h++) {
        expectedResidual.push(rneBits(x[h]));
        expectedNorm.push(rneBits(Math.fround(Math.fround(x[h] * rstd) * weight[h])));
      }
    }
    expect(Array.from(out.get('out.residual')!.data)).toEqual(expectedResidual);
    expect(Array.from(out.get('out.norm')!.data)).toEqual(expectedNorm);
  });

  test('aiter-1stage: butterfly of 8-element threads, 32-lane warps, then over next_pow2(warps)', () => {
    const out = run(getPreset('aiter-1stage').contract, ranks, tokens, hidden, inputs);
    const expectedNorm: number[] = [];
    for (let m = 0; m < tokens; m++) {
      const x: number[] = [];
      for (let h = 0; h < hidden; h++) {
        const e = m * hidden + h;
        let acc = rows[0][e];
        for (let r = 1; r < ranks; r++) acc = Math.fround(acc + rows[r][e]);
        x.push(Math.fround(rne(acc) + residual[e]));
      }
      // 512 / 8 = 64 threads = 2 warps of 32.
      const lanes = Array.from({ length: 64 }, (_, t) => {
        let acc = 0;
        for (let k = 0; k < 8; k++) acc = Math.fround(acc + Math.fround(x[8 * t + k] * x[8 * t + k]));
        return acc;
      });
      const butterfly = (v: number[]): number => {
        let cur = v.slice();
        for (let s = v.length / 2; s >= 1; s /= 2) cur = cur.map((a, i) => Math.fround(a + cur[i ^ s]));
        return cur[0];
      };
      const sumsq = butterfly([butterfly(lanes.slice(0, 32)), butterfly(lanes.slice(32))]);
      const rstd = rstdOf(sumsq);
      for (let h = 0; h < hidden; h++) expectedNorm.push(rneBits(Math.fround(Math.fround(x[h] * rstd) * weight[h])));
    }
    expect(Array.from(out.get('out.norm')!.data)).toEqual(expectedNorm);
  });

  test('vllm-native rounds x*rstd to bf16 before the weight', () => {
    const out = run(getPreset('vllm-native').contract, ranks, tokens, hidden, inputs);
    const single = run(
      parseContract({ ...getPreset('vllm-native').contract, norm: { ...getPreset('vllm-native').contract.norm, roundIntermediate: false } }),
      ranks,
      tokens,
      hidden,
      inputs,
    );
    expect(out.get('out.norm')!.data).not.toEqual(single.get('out.norm')!.data);
  });
});

describe('rank order and accumulation (hand-derived)', () => {
  test('bf16 accumulation: 1 + 2^-8 + 2^-8 + 2^-8 stays 1 per hop, f32 gives the tie 1 + 3*2^-8 -> 0x3F82', () => {
    // Padded to 8 elements: the FlashInfer/TRT-LLM tree needs 8 per thread.
    const pad = (v: number) => [v, 0, 0, 0, 0, 0, 0, 0];
    const inputs = caseOf([pad(1), pad(2 ** -8), pad(2 ** -8), pad(2 ** -8)], pad(0), pad(1));
    const f32acc = run(getPreset('flashinfer-oneshot@sm80').contract, 4, 1, 8, inputs).get('out.residual')!.data[0];
    const bf16acc = run(getPreset('flashinfer-oneshot-bf16acc@sm80').contract, 4, 1, 8, inputs).get('out.residual')!.data[0];
    expect(f32acc).toBe(0x3f82);
    expect(bf16acc).toBe(0x3f80);
  });

  test('NCCL ring: 256, 1, -256 summed from ring position 1 gives 1; natural bf16 order gives 0', () => {
    // Three ranks, three elements: with 8-element chunk alignment all sit in chunk 0, summed
    // x1 + x2 + x0 = bf16(1 - 256) + 256 = -255 + 256 = 1; natural: bf16(256 + 1) = 256 (tie), - 256 = 0.
    const inputs = caseOf(
      [
        [256, 256, 256],
        [1, 1, 1],
        [-256, -256, -256],
      ],
      [0, 0, 0],
      [1, 1, 1],
    );
    const ring = run(getPreset('nccl-ring').contract, 3, 1, 3, inputs).get('out.residual')!.data;
    const naturalBf16 = parseContract({
      ...getPreset('nccl-ring').contract,
      allReduce: { order: { kind: 'natural' }, accumulate: 'bf16', roundResult: 'bf16' },
    });
    const natural = run(naturalBf16, 3, 1, 3, inputs).get('out.residual')!.data;
    expect(Array.from(ring)).toEqual([0x3f80, 0x3f80, 0x3f80]);
    expect(Array.from(natural)).toEqual([0, 0, 0]);
  });

  test('ring order follows the ring permutation and chunks', () => {
    // 2 ranks, 16 elements, chunk 8: chunk 0 summed x1 + x0, chunk 1 summed x0 + x1 (same value).
    // With ring [2,0,1] on 3 ranks, chunk 0 starts at ring position 1 = rank 0.
    const contract = parseContract({
      ...getPreset('nccl-ring').contract,
      allReduce: { order: { kind: 'ring', ring: [2, 0, 1], chunkAlignElems: 1 }, accumulate: 'bf16', roundResult: 'bf16' },
    });
    const inputs = caseOf(
      [
        [256, 1, -256],
        [1, -256, 256],
        [-256, 256, 1],
      ],
      [0, 0, 0],
      [1, 1, 1],
    );
    // chunk size 1: element c starts at ring position (c+1)%3: e0 -> ranks 0,1,2; e1 -> 1,2,0; e2 -> 2,0,1.
    // e0: 256 + 1 -> 256, -256 -> 0. e1: -256 + 256 = 0, + 1 = 1. e2 (ranks 2,0,1): 1 - 256 = -255, + 256 = 1.
    const out = run(contract, 3, 1, 3, inputs).get('out.residual')!.data;
    expect(Array.from(out)).toEqual([0, 0x3f80, 0x3f80]);
  });

  test('own-first order: ranks diverge and get their own outputs', () => {
    const contract = parseContract({ ...getPreset('unfused').contract, allReduce: { order: { kind: 'own-first' }, accumulate: 'f32', roundResult: 'bf16' } });
    const big = 2 ** 24;
    const inputs = caseOf([[big], [1], [-big]], [0], [1]);
    const out = run(contract, 3, 1, 1, inputs);
    expect([...out.keys()].sort()).toEqual([
      'rank0.out.norm',
      'rank0.out.residual',
      'rank1.out.norm',
      'rank1.out.residual',
      'rank2.out.norm',
      'rank2.out.residual',
    ]);
    // rank 0: (2^24 + 1) - 2^24 = 0 (tie to even); rank 1: (1 - 2^24) + 2^24 = 1; rank 2: (-2^24 + 2^24) + 1 = 1.
    expect(out.get('rank0.out.residual')!.data[0]).toBe(0);
    expect(out.get('rank1.out.residual')!.data[0]).toBe(0x3f80);
    expect(out.get('rank2.out.residual')!.data[0]).toBe(0x3f80);
  });

  test('rotated order: the owner of each pack starts the sum', () => {
    const contract = parseContract({
      ...getPreset('unfused').contract,
      allReduce: { order: { kind: 'rotated', packElems: 1 }, accumulate: 'f32', roundResult: 'bf16' },
    });
    const big = 2 ** 24;
    // 3 elements, 3 ranks, one pack each: element e is owned by rank e.
    const inputs = caseOf(
      [
        [big, big, big],
        [1, 1, 1],
        [-big, -big, -big],
      ],
      [0, 0, 0],
      [1, 1, 1],
    );
    const out = run(contract, 3, 1, 3, inputs).get('out.residual')!.data;
    expect(Array.from(out)).toEqual([0, 0x3f80, 0x3f80]);
  });
});

/** A row's sum of squares under a tree and per-thread pattern (the plan the engines interpret). */
function sumsq(row: Float32Array, tree: ContractInput['norm']['sumOfSquares']['tree'], perThread: PerThreadPattern, tokens: number): number {
  const base = getPreset('aiter-1stage').contract;
  const contract = parseContract({ ...base, norm: { ...base.norm, sumOfSquares: { perThread, tree } } });
  return planSumOfSquares(reductionPlan(contract, { ranks: 1, tokens, hidden: row.length }), perThread, IEEE_F32, row);
}

describe('sum-of-squares trees (hand-derived)', () => {
  // One big square 2^24 then 255 ones: sequential loses every 1 (2^24 + 1 ties to 2^24);
  // butterfly keeps the 31 other threads' 8s; cub keeps all but the first lane's pair.
  const row = new Float32Array(256).fill(1);
  row[0] = 2 ** 12;
  test('sequential: 2^24', () => {
    expect(sumsq(row, { kind: 'sequential' }, 'chain', 1)).toBe(2 ** 24);
  });
  test('butterfly 8 x 32: 2^24 + 31*8', () => {
    expect(sumsq(row, { kind: 'butterfly', perThread: 8, warpSize: 32 }, 'chain', 1)).toBe(2 ** 24 + 248);
  });
  test('cub, block 256: lane 0 loses one 1, then 2+4+8+16 and 7 warps of 32', () => {
    expect(sumsq(row, { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 1 }, 'chain', 1)).toBe(2 ** 24 + 254);
  });
  test('cub block size follows vLLM dispatch: 1024 below 256 tokens, 256 from 256 tokens', () => {
    const wide = new Float32Array(2048).fill(1);
    wide[0] = 2 ** 12;
    // block 1024: thread t holds elements t and t+1024; thread 0: 2^24 + 1 -> 2^24; lanes 1..31 hold 2.
    // warp 0: offset 1 adds 2 -> 2^24 + 2, then +4, +8, +16, +32 -> 2^24 + 62; 31 more warps of 64.
    expect(sumsq(wide, { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 1 }, 'chain', 255)).toBe(2 ** 24 + 62 + 31 * 64);
    // block 256: thread t holds 8 elements; thread 0: 2^24 (7 ones lost); lanes hold 8:
    // warp 0: 2^24 + 8 + 16 + 32 + 64 + 128 = 2^24 + 248; 7 more warps of 256.
    expect(sumsq(wide, { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 1 }, 'chain', 256)).toBe(2 ** 24 + 248 + 7 * 256);
  });
  test('pairing order: shuffle-down pairs neighbours first, the XOR butterfly pairs far lanes first', () => {
    // Squares 2^24 at lane 0 and 1 at lanes 1 and 3. Neighbours first: 2^24 + 1 ties back to
    // 2^24 twice (result 2^24). Far lanes first (strides 16..2): lanes 1 and 3 meet at stride 2
    // and the 2 survives at stride 1 (result 2^24 + 2).
    const cubRow = new Float32Array(32);
    cubRow[0] = 2 ** 12;
    cubRow[1] = 1;
    cubRow[3] = 1;
    expect(sumsq(cubRow, { kind: 'cub', blockSize: 32, warpSize: 32, vectorWidth: 1 }, 'chain', 1)).toBe(2 ** 24);
    // The butterfly sees per-thread partials: threads 0, 1 and 3 hold elements 0, 8 and 24.
    const butterflyRow = new Float32Array(256);
    butterflyRow[0] = 2 ** 12;
    butterflyRow[8] = 1;
    butterflyRow[24] = 1;
    expect(sumsq(butterflyRow, { kind: 'butterfly', perThread: 8, warpSize: 32 }, 'chain', 1)).toBe(2 ** 24 + 2);
  });
  test('fma keeps the 2^-24 that a rounded square drops', () => {
    const v = 1 + 2 ** -12; // v*v = 1 + 2^-11 + 2^-24
    const r = Float32Array.from([2 ** -12, v]);
    expect(sumsq(r, { kind: 'sequential' }, 'fma-chain', 1)).toBe(1 + 2 ** -11 + 2 ** -23);
    expect(sumsq(r, { kind: 'sequential' }, 'chain', 1)).toBe(1 + 2 ** -11);
  });
});

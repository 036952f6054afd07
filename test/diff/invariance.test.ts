import { describe, expect, test } from 'vitest';
import {
  aiterFusedArRmsDispatch,
  aiterPerGroupDispatch,
  allReduceBytes,
  type DispatchFamily,
  getDispatchFamily,
  listDispatchFamilies,
  vllmCustomArDispatch,
} from '../../src/contracts/dispatch.js';
import { getPreset } from '../../src/contracts/presets.js';
import { canonicalJson, parseContract } from '../../src/contracts/validate.js';
import { batchInvariance, sliceRows } from '../../src/diff/invariance.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { buildCase } from '../../src/fixtures/golden.js';
import { integerList } from '../../src/cli/commands/invariance.js';

// Thresholds below are recomputed from the rules as the real dispatchers state them (ROCm/aiter@e4048607
// custom_all_reduce.cuh:3869-3887 (vLLM's REDUCE_CASE), :4604; communicator_cuda.py:251-259, 507-514),
// not read back from dispatch.ts: the smallest token count whose bf16 input reaches a byte limit.

const KIB = 1024;
/** Smallest tokens with tokens * hidden * 2 bytes >= limit (strict '<' rules switch there). */
const firstAtOrAbove = (limit: number, hidden: number) => Math.ceil(limit / (hidden * 2));
/** Smallest tokens with tokens * hidden * 2 bytes > limit (inclusive '<=' rules switch there). */
const firstAbove = (limit: number, hidden: number) => Math.floor(limit / (hidden * 2)) + 1;

describe('dispatch rules', () => {
  test('vLLM custom all-reduce: world 2 always 1-stage; 4 below 512 KiB, 6 and 8 below 256 KiB (strict)', () => {
    for (const tokens of [1, 1000, 100000]) expect(vllmCustomArDispatch({ ranks: 2, tokens, hidden: 8192 }).algorithm).toBe('1-stage');
    for (const [ranks, limit] of [
      [4, 512 * KIB],
      [6, 256 * KIB],
      [8, 256 * KIB],
    ] as const) {
      for (const hidden of [2048, 4096, 5120, 7168]) {
        const edge = firstAtOrAbove(limit, hidden);
        expect(vllmCustomArDispatch({ ranks, tokens: edge - 1, hidden }).algorithm).toBe('1-stage');
        expect(vllmCustomArDispatch({ ranks, tokens: edge, hidden }).algorithm).toBe('2-stage');
      }
    }
    // Exactly at the limit is already 2-stage: 128 tokens x 2048 x 2 bytes = 512 KiB.
    expect(allReduceBytes({ tokens: 128, hidden: 2048 })).toBe(512 * KIB);
    expect(vllmCustomArDispatch({ ranks: 4, tokens: 128, hidden: 2048 }).algorithm).toBe('2-stage');
  });

  test('aiter per-group quant: 1-stage up to 128 KiB inclusive, 2-stage up to 512 KiB, then split', () => {
    for (const hidden of [2048, 4096, 7168]) {
      const toTwo = firstAbove(128 * KIB, hidden);
      const toSplit = firstAbove(512 * KIB, hidden);
      expect(aiterPerGroupDispatch({ ranks: 8, tokens: toTwo - 1, hidden }).algorithm).toBe('1-stage');
      expect(aiterPerGroupDispatch({ ranks: 8, tokens: toTwo, hidden }).algorithm).toBe('2-stage');
      expect(aiterPerGroupDispatch({ ranks: 8, tokens: toSplit - 1, hidden }).algorithm).toBe('2-stage');
      expect(aiterPerGroupDispatch({ ranks: 8, tokens: toSplit, hidden }).algorithm).toBe('split');
    }
    // 16 x 4096 x 2 = 128 KiB exactly: still 1-stage (inclusive).
    expect(aiterPerGroupDispatch({ ranks: 4, tokens: 16, hidden: 4096 }).algorithm).toBe('1-stage');
    // 1-stage needs hidden <= 8192.
    expect(aiterPerGroupDispatch({ ranks: 4, tokens: 1, hidden: 16384 }).algorithm).toBe('2-stage');
  });

  test('aiter fused_ar_rms: 1-stage while bytes <= 128*7168*2/world', () => {
    for (const ranks of [2, 4, 8]) {
      const edge = firstAbove((128 * 7168 * 2) / ranks, 4096);
      expect(aiterFusedArRmsDispatch({ ranks, tokens: edge - 1, hidden: 4096 }).algorithm).toBe('1-stage');
      expect(aiterFusedArRmsDispatch({ ranks, tokens: edge, hidden: 4096 }).algorithm).toBe('2-stage (512 threads)');
    }
  });

  test('families map algorithms to contracts built from presets', () => {
    const vllm = getDispatchFamily('vllm');
    const one = vllm.select({ ranks: 4, tokens: 1, hidden: 4096 });
    const two = vllm.select({ ranks: 4, tokens: 64, hidden: 4096 });
    expect(canonicalJson(one.contract)).toBe(canonicalJson(getPreset('vllm-unfused').contract));
    expect(two.contract.allReduce.order.kind).toBe('rotated');
    expect(canonicalJson({ ...two.contract, allReduce: { ...two.contract.allReduce, order: { kind: 'natural' } } })).toBe(
      canonicalJson(getPreset('vllm-unfused').contract),
    );
    const aiter = getDispatchFamily('aiter-fused-quant');
    expect(canonicalJson(aiter.select({ ranks: 8, tokens: 1, hidden: 7168 }).contract)).toBe(canonicalJson(getPreset('aiter-1stage-quant').contract));
    expect(aiter.select({ ranks: 8, tokens: 64, hidden: 7168 }).algorithm).toBe('split');
    for (const f of listDispatchFamilies()) expect(getDispatchFamily(f.name)).toBe(f);
    // A preset is a family of one algorithm.
    expect(getDispatchFamily('unfused').select({ ranks: 2, tokens: 9999, hidden: 64 }).algorithm).toBe('unfused');
    expect(() => getDispatchFamily('nope')).toThrow(/unknown dispatch family or preset 'nope'/);
  });
});

describe('batch invariance', () => {
  test('rows are sliced, not regenerated: row r is the same data at every batch size', () => {
    const full = buildCase({ preset: 'vllm-unfused', ranks: 2, tokens: 9, hidden: 64, group: null, inputs: 'random', seed: 3 });
    const small = sliceRows(full.inputs, 4, 64);
    expect(Array.from(small.rankInputs[1].data)).toEqual(Array.from(full.inputs.rankInputs[1].data.slice(0, 4 * 64)));
    expect(small.residual!.shape).toEqual([4, 64]);
  });

  test('vLLM: the watched rows change exactly where custom all-reduce switches to 2-stage, and the report says so', () => {
    const hidden = 2048;
    const ranks = 4;
    const threshold = firstAtOrAbove(512 * KIB, hidden); // 128
    const report = batchInvariance({
      family: getDispatchFamily('vllm'),
      ranks,
      hidden,
      tokens: { from: threshold - 8, to: threshold + 2 },
      rows: [0, 100, threshold - 9],
      inputs: 'cancellation',
      seed: 0,
    });
    expect(report.segments.map((s) => [s.algorithm, s.from, s.to])).toEqual([
      ['1-stage', threshold - 8, threshold - 1],
      ['2-stage', threshold, threshold + 2],
    ]);
    // Within 1-stage (natural order, cub block 1024) nothing moves; the first change is the switch.
    const first = report.changes[0];
    expect(first.tokens).toBe(threshold);
    expect(first.algorithm).toEqual({ from: '1-stage', to: '2-stage' });
    expect(first.why[0]).toMatch(/^dispatch: 1-stage -> 2-stage/);
    expect(first.explained).toBe(true);
    // Row 0 lies in the partition rank 0 owns, which sums in natural order either way.
    expect(first.rows).not.toContain(0);
    expect(first.rows.length).toBeGreaterThan(0);
    expect(report.changes.every((c) => c.explained)).toBe(true);
  });

  test('the change is real: the same rows computed directly at both batch sizes differ', () => {
    const full = buildCase({ preset: 'vllm-unfused', ranks: 4, tokens: 128, hidden: 2048, group: null, inputs: 'cancellation', seed: 0 });
    const family = getDispatchFamily('vllm');
    const at = (tokens: number) =>
      runCpuEngine(family.select({ ranks: 4, tokens, hidden: 2048 }).contract, { ranks: 4, tokens, hidden: 2048 }, sliceRows(full.inputs, tokens, 2048)).get(
        'out.residual',
      )!.data;
    const [a, b] = [at(127), at(128)];
    let differ = 0;
    for (let i = 100 * 2048; i < 101 * 2048; i++) if (a[i] !== b[i]) differ++;
    expect(differ).toBeGreaterThan(0);
  });

  test('a plain preset: the cub block switch at 256 tokens is reported, with or without a bit change', () => {
    const report = batchInvariance({
      family: getDispatchFamily('vllm-unfused'),
      ranks: 2,
      hidden: 2048,
      tokens: { from: 254, to: 257 },
      rows: [0, 200],
      inputs: 'random',
      seed: 1,
    });
    const at256 = [...report.changes.map((c) => ({ tokens: c.tokens, why: c.why })), ...report.silentSwitches].find((c) => c.tokens === 256)!;
    expect(at256.why).toEqual([expect.stringMatching(/^cub block size 1024 -> 256/)]);
    expect(report.segments).toHaveLength(1);
  });

  test('torch-reduce: the Reduce.cuh block follows the token count (64x8 at 15 tokens, 32x16 at 16, hidden 2048)', () => {
    const base = getPreset('unfused').contract;
    const contract = parseContract({ ...base, norm: { ...base.norm, sumOfSquares: { perThread: 'chain', tree: { kind: 'torch-reduce' } } } });
    const family: DispatchFamily = {
      name: 'torch-eager-mean',
      source: 'test',
      models: 'torch eager x.pow(2).mean(-1)',
      inputsPreset: 'unfused',
      select: () => ({ family: 'torch-eager-mean', contract, algorithm: 'eager', reason: 'one kernel' }),
    };
    const report = batchInvariance({ family, ranks: 1, hidden: 2048, tokens: { from: 15, to: 16 }, rows: [0, 3], inputs: 'random', seed: 2 });
    const at16 = [...report.changes.map((c) => ({ tokens: c.tokens, why: c.why })), ...report.silentSwitches].find((c) => c.tokens === 16)!;
    expect(at16.why).toEqual([expect.stringMatching(/^Reduce\.cuh block 64x8 -> 32x16 /)]);
  });

  test('nccl-ring-simple: row 0 of 4 x 2048 changes chunks between 3 and 4 tokens (NCCL cuts them from the whole tensor)', () => {
    // 3 tokens: 6144 elements, one 16 KiB cell, one channel; chunks of alignUp(6144 / 4, 8) = 1536,
    // so row 0's elements 1536..2047 are chunk 1 (from ring index 2). 4 tokens: chunks of 2048, all
    // of row 0 is chunk 0 (from index 1): 512 elements move. 5 tokens: two channels, 8192 and 2048
    // (enqueue.cc:664-701); channel 0's chunks are 2048 again: nothing moves.
    const report = batchInvariance({
      family: getDispatchFamily('nccl-ring-simple'),
      ranks: 4,
      hidden: 2048,
      tokens: { from: 3, to: 5 },
      rows: [0],
      inputs: 'cancellation',
      seed: 1,
    });
    const why = [...report.changes, ...report.silentSwitches].map((c) => [c.tokens, c.why]);
    expect(why).toEqual([[4, [expect.stringMatching(/^nccl-ring all-reduce: 512 watched elements sum their ranks in another order/)]]]);
  });

  test('bad requests are named', () => {
    const family = getDispatchFamily('vllm');
    expect(() => batchInvariance({ family, ranks: 2, hidden: 64, tokens: { from: 4, to: 8 }, rows: [4], inputs: 'random', seed: 0 })).toThrow(
      /row 4 does not exist at the smallest batch size 4/,
    );
    expect(() =>
      batchInvariance({
        family: getDispatchFamily('aiter-rms-quant-passthrough'),
        ranks: 2,
        hidden: 128,
        tokens: { from: 1, to: 2 },
        rows: [0],
        inputs: 'random',
        seed: 0,
      }),
    ).toThrow(/models 1 rank/);
    expect(integerList('3..5', 'x', 0, 9)).toEqual([3, 4, 5]);
    expect(integerList('8,2,4,2', 'x', 0, 9)).toEqual([2, 4, 8]);
    expect(() => integerList('5..3', 'x', 0, 9)).toThrow(/empty range/);
    expect(() => integerList('a', 'x', 0, 9)).toThrow(/not a..b/);
    expect(() => integerList('3..10', 'x', 0, 9)).toThrow(/--x: 10 is outside 0..9/);
    expect(() => integerList('4,12', 'x', 0, 9)).toThrow(/--x: 12 is outside 0..9/);
  });
});

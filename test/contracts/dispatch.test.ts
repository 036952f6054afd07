import { describe, expect, test } from 'vitest';
import { aiterFusedArRmsDispatch, flashinferOneShotDispatch, getDispatchFamily } from '../../src/contracts/dispatch.js';
import { getPreset } from '../../src/contracts/presets.js';
import { canonicalJson } from '../../src/contracts/validate.js';

// The dispatch rules as the real code writes them (cited in src/contracts/dispatch.ts), on
// hand-computed edges.

describe('dispatch follows the real code', () => {
  test('FlashInfer one-shot up to 42 MiB of tokens*H*2*world*2 at world 8: H 7168 switches after 192 tokens', () => {
    // 192 * 7168 * 2 * 8 * 2 bytes = 44040192 = 42 MiB exactly (trtllm_ar.py:973-986, inclusive).
    expect(flashinferOneShotDispatch({ ranks: 8, tokens: 192, hidden: 7168 }).algorithm).toBe('one-shot');
    expect(flashinferOneShotDispatch({ ranks: 8, tokens: 193, hidden: 7168 }).algorithm).toBe('two-shot');
    expect(() => flashinferOneShotDispatch({ ranks: 3, tokens: 1, hidden: 7168 })).toThrow(/world size 3/);
  });

  test('aiter fused_ar_rms 2-stage: 512 threads when H/8 >= 256, else 256 (custom_all_reduce.cuh:4303-4400)', () => {
    expect(aiterFusedArRmsDispatch({ ranks: 8, tokens: 4096, hidden: 2048 }).algorithm).toBe('2-stage (512 threads)');
    expect(aiterFusedArRmsDispatch({ ranks: 8, tokens: 4096, hidden: 2040 }).algorithm).toBe('2-stage (256 threads)');
    const family = getDispatchFamily('aiter-fused');
    const small = family.select({ ranks: 8, tokens: 4096, hidden: 1024 }).contract.norm.sumOfSquares.tree;
    expect(small).toEqual({ kind: 'smem-halving', blockSize: 256, perThread: 8 });
  });

  test('each family stage is the preset of the kernel the real code calls, per architecture', () => {
    const gfx942 = getDispatchFamily('aiter-fused-quant@gfx942');
    expect(canonicalJson(gfx942.select({ ranks: 8, tokens: 1, hidden: 7168 }).contract)).toBe(canonicalJson(getPreset('aiter-1stage-quant@gfx942').contract));
    expect(canonicalJson(gfx942.select({ ranks: 8, tokens: 32, hidden: 7168 }).contract)).toBe(canonicalJson(getPreset('aiter-2stage-quant@gfx942').contract));
    expect(canonicalJson(gfx942.select({ ranks: 8, tokens: 64, hidden: 7168 }).contract)).toBe(canonicalJson(getPreset('aiter-split-quant@gfx942').contract));
    const fi = getDispatchFamily('flashinfer');
    expect(canonicalJson(fi.select({ ranks: 8, tokens: 193, hidden: 7168 }).contract)).toBe(canonicalJson(getPreset('flashinfer-twoshot').contract));
  });
});

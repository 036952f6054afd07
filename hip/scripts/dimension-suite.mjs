#!/usr/bin/env node
// Writes a suite of goldens (the CPU reference engine's bits) whose contracts exercise, one or a
// few at a time, the schema v2 dimensions the HIP kernels implement beyond the presets: per-site
// bf16 rounding as aiter's gfx942 and gfx950 builds do it, per-token and column-major padded
// scales, divisor and clamp, floors, static scale, Gemma offsets, variance and multiply order,
// cub block sizes, and aiter's smem-halving tree (the 2-stage local_device_load_rmsnorm presets,
// unpatched, then at other block sizes and per-thread patterns). Each case takes a preset's inputs (same weight dtype and residual) and a
// patched contract; the file is named hipdim-<variant>__<case>.safetensors.
//
//   npm run build && node hip/scripts/dimension-suite.mjs DIR
//
// Then, on a GPU machine: ulpwise-harness run-suite --suite DIR ... and compare_candidates.py.
import { mkdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(new URL('../..', import.meta.url).pathname);
const load = (module) => import(pathToFileURL(join(root, 'dist', 'src', module)).href);

const dir = process.argv[2];
if (process.argv.length !== 3 || dir === undefined) {
  console.error('usage: node hip/scripts/dimension-suite.mjs DIR');
  process.exit(2);
}
if (existsSync(join(dir, 'manifest.json'))) {
  console.error(`dimension-suite: ${dir}/manifest.json exists; give an empty directory`);
  process.exit(2);
}

const { buildCase, encodeGolden, sha256Hex } = await load('fixtures/golden.js');
const { parseContract, checkContractForShape } = await load('contracts/validate.js');
const { runCpuEngine } = await load('engines/cpu/engine.js');
const { writeManifest } = await load('fixtures/manifest.js');
const { writeFileAtomic } = await load('fixtures/atomic.js');
const { ULPWISE_VERSION } = await load('version.js');

const sites = (allReduceResult, residualAdd, residualOut, normOut, normIntermediate = normOut) => ({
  allReduceHop: allReduceResult,
  allReduceResult,
  residualAdd,
  residualOut,
  normIntermediate,
  normOut,
});
const gfx942 = sites('truncate', 'truncate', 'truncate', 'truncate');
const inferredRsqrt = { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' };

/** The smem-halving tree with another block size (aiter's tnum) and per-thread pattern. */
const halving = (c, blockSize, perThread) => ({ ...c, norm: { ...c.norm, sumOfSquares: { perThread, tree: { ...c.norm.sumOfSquares.tree, blockSize } } } });

/** Shapes: tokens 5 leaves column-major padding (align 4 -> 8); hidden 1024 is 4 warps of packs. */
const SHAPES = [
  { ranks: 4, tokens: 5, hidden: 1024, seed: 11 },
  { ranks: 2, tokens: 3, hidden: 2048, seed: 12 },
];
/** The halving kernel's: 7168 (896 packs: at 512 threads, threads 0..383 take two, aiter's n_loop
 *  2) and 4104 (513 packs over 3 ranks' unequal slices: thread 0 alone takes two at 512), plus
 *  1024 (fewer packs than threads). */
const HALVING_SHAPES = [
  { ranks: 8, tokens: 2, hidden: 7168, seed: 13 },
  { ranks: 3, tokens: 3, hidden: 4104, seed: 14 },
  { ranks: 4, tokens: 5, hidden: 1024, seed: 11 },
];

/** [variant, base preset, patch of the preset's contract, input generator ('random' if absent),
 *  shapes (SHAPES if absent)]. */
const VARIANTS = [
  // aiter allreduce_fusion_kernel_1stage_per_group on gfx942: opus truncating downcasts, fnuz/240,
  // the contracted `acc += v*v`, subnormals flushed (-fgpu-flush-denormals-to-zero).
  ['aiter1-gfx942', 'aiter-1stage-quant', (c) => ({ ...c, bf16Rounding: gfx942, f32Subnormals: 'flush', hardwareOps: inferredRsqrt, norm: { ...c.norm, sumOfSquares: { ...c.norm.sumOfSquares, perThread: 'fma-chain' } } })],
  // The same on gfx950: RNE conversions, OCP e4m3fn/448.
  ['aiter1-gfx950', 'aiter-1stage-quant', (c) => ({ ...c, f32Subnormals: 'flush', quant: { ...c.quant, format: 'e4m3fn' }, norm: { ...c.norm, sumOfSquares: { ...c.norm.sumOfSquares, perThread: 'fma-chain' } } })],
  // aiter allreduce_fusion_kernel_2stage's butterfly epilogue on gfx942, norm only: truncated AR
  // downcast, RNE __bf16 residual add.
  ['aiter2-gfx942', 'aiter-2stage-quant@gfx942', (c) => ({ ...c, quant: null, f32Subnormals: 'flush', bf16Rounding: sites('truncate', 'rne', 'truncate', 'truncate'), norm: { ...c.norm, sumOfSquares: { ...c.norm.sumOfSquares, perThread: 'fma-chain' } } })],
  // aiter local_device_load_rmsnorm (the smem-halving tree) as the presets say, then its tree at
  // other block sizes and per-thread patterns, Gemma's 1 + w, and subnormal inputs kept.
  ['aiter2-halving-gfx942', 'aiter-2stage@gfx942', (c) => c, 'random', HALVING_SHAPES],
  ['aiter2-halving-gfx950', 'aiter-2stage@gfx950', (c) => c, 'bf16-ties', HALVING_SHAPES],
  ['halving-256-chain', 'aiter-2stage@gfx942', (c) => halving(c, 256, 'chain'), 'residual-outliers', HALVING_SHAPES],
  ['halving-64-pair-fma', 'aiter-2stage@gfx950', (c) => halving(c, 64, 'pair-fma'), 'cancellation', HALVING_SHAPES],
  ['halving-1024-pair-keep', 'aiter-2stage@gfx950', (c) => ({ ...halving(c, 1024, 'pair'), f32Subnormals: 'keep' }), 'subnormals', HALVING_SHAPES],
  ['halving-gemma', 'aiter-2stage@gfx942', (c) => ({ ...c, norm: { ...c.norm, weight: { ...c.norm.weight, offset: 'f32' } } }), 'random', HALVING_SHAPES],
  // Subnormal-heavy inputs under flush (every kernel's arithmetic flushes, not only the sum).
  ['flush-subnormal-inputs', 'aiter-1stage-quant', (c) => ({ ...c, f32Subnormals: 'flush' }), 'subnormals'],
  ['butterfly-pair', 'aiter-1stage', (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { ...c.norm.sumOfSquares, perThread: 'pair' } } })],
  ['cub-v8-pair-fma', 'vllm-unfused', (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { perThread: 'pair-fma', tree: { ...c.norm.sumOfSquares.tree, vectorWidth: 8 } } } })],
  ['cub-v4-chain', 'vllm-unfused', (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { perThread: 'chain', tree: { ...c.norm.sumOfSquares.tree, vectorWidth: 4 } } } })],
  ['pertoken', 'aiter-1stage-quant', (c) => ({ ...c, quant: { ...c.quant, groupSize: 'token' } })],
  ['colmajor-align4', 'aiter-1stage-quant', (c) => ({ ...c, quant: { ...c.quant, scaleLayout: { kind: 'column-major', tokenAlign: 4 } } })],
  ['divisor224-clamp-recip', 'aiter-1stage-quant', (c) => ({ ...c, quant: { ...c.quant, format: 'e4m3fn', divisor: 224, clamp: 224, scale: 'reciprocal', quantize: 'reciprocal' } })],
  ['floors-ue8m0', 'aiter-1stage-quant', (c) => ({ ...c, quant: { ...c.quant, zeroAmaxScaleOne: false, amaxFloor: 1e-10, ue8m0: 'ceil', scaleFloor: { value: 2 ** -20, stage: 'after-ue8m0' } } })],
  ['static-scale', 'aiter-1stage-quant', (c) => ({ ...c, quant: { ...c.quant, zeroAmaxScaleOne: false, staticScale: 0.0078125 } })],
  ['gemma-f32-recipvar-xw', 'aiter-1stage', (c) => ({ ...c, norm: { ...c.norm, variance: 'reciprocal-multiply', multiplyOrder: 'x-w-rstd', weight: { ...c.norm.weight, offset: 'f32' } } })],
  ['gemma-bf16-intermediate', 'unfused', (c) => ({ ...c, bf16Rounding: sites('rne', 'rne', 'rne', 'rne', 'truncate'), norm: { ...c.norm, roundIntermediate: true, weight: { ...c.norm.weight, offset: 'bf16' } } })],
  ['cub64-fma', 'vllm-unfused', (c) => ({ ...c, norm: { ...c.norm, sumOfSquares: { perThread: 'fma-chain', tree: { ...c.norm.sumOfSquares.tree, blockSize: 64 } } } })],
  ['ring-truncate-hops', 'nccl-ring', (c) => ({ ...c, bf16Rounding: { ...c.bf16Rounding, allReduceHop: 'truncate', allReduceResult: 'truncate' } })],
  // sm_90's hardware-op slots: an NVIDIA build on an sm_90 GPU runs the instructions themselves,
  // the goldens hold the engines' measured tables, so these compare the H100/H200 with the tables
  // end to end (every other device declines them by name, an AMD build included).
  ['sm90-rsqrt', 'aiter-1stage-quant', (c) => ({ ...c, quant: { ...c.quant, format: 'e4m3fn' }, hardwareOps: { rsqrt: 'sm90', reciprocal: 'ieee', divide: 'ieee' } })],
  ['sm90-div-rcp', 'aiter-1stage-quant', (c) => ({ ...c, quant: { ...c.quant, format: 'e4m3fn', divisor: 300, scale: 'reciprocal' }, norm: { ...c.norm, variance: 'reciprocal-multiply' },
    hardwareOps: { rsqrt: 'ieee', reciprocal: 'sm90', divide: 'sm90-div-full' } })],
  ['sm90-all-flush', 'unfused', (c) => ({ ...c, f32Subnormals: 'flush', hardwareOps: { rsqrt: 'sm90', reciprocal: 'sm90', divide: 'sm90-div-full' } })],
];


mkdirSync(dir, { recursive: true });
const cases = [];
for (const [variant, preset, patch, inputs = 'random', shapes = SHAPES] of VARIANTS) {
  for (const { ranks, tokens, hidden, seed } of shapes) {
    const spec = { preset, ranks, tokens, hidden, group: null, inputs, seed };
    const base = buildCase(spec);
    const contract = parseContract(patch(base.contract));
    const shape = checkContractForShape(contract, base.shape);
    const built = { ...base, contract, shape };
    const outputs = runCpuEngine(contract, shape, built.inputs);
    const bytes = encodeGolden(built, outputs);
    const file = `hipdim-${variant}__tp${ranks}_m${tokens}_h${hidden}_s${seed}.safetensors`;
    writeFileAtomic(join(dir, file), bytes);
    cases.push({ file, case: spec, sha256: sha256Hex(bytes), bytes: bytes.length, outputs: [...outputs.keys()] });
  }
}
writeManifest(dir, { ulpwise: ULPWISE_VERSION, cases });
console.log(`dimension-suite: ${cases.length} cases in ${dir}`);

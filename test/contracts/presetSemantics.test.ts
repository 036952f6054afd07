import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { planSumOfSquares } from '../../src/engines/cpu/sumOfSquares.js';
import { reductionPlan } from '../../src/engines/layout/reduction.js';
import { f32Arithmetic } from '../../src/numerics/f32ops.js';
import { buildCase, readGolden } from '../../src/fixtures/golden.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { getPreset, listPresets } from '../../src/contracts/presets.js';
import type { CaseInputs } from '../../src/engines/io.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import type { Contract, Shape } from '../../src/contracts/schema.js';
import {
  arNaturalF32,
  bf16,
  bf16As,
  bf16Bits,
  clampTo,
  f,
  f32BitsOf,
  FLUSH,
  flashinferClusterSize,
  fp8,
  ftz,
  IEEE,
  sumsqAiterDpp,
  sumsqAiterEpilogue,
  sumsqAiterSmemHalving,
  sumsqFlashinferCluster,
  sumsqSequential,
  sumsqVllmFlat,
  sumsqVllmVectorised,
  ue8m0RoundUpBits,
  f32ValueOf,
  fmaF32Exact,
  type Bf16Mode,
  type F32Ops,
  type Rows,
} from './transcribed.js';
import type { Fp8Format } from '../../src/numerics/fp8.js';
import { sm90RsqrtApprox } from '../../src/numerics/hardware/sm90.js';
import { inductorSumSquares, torchReduceCuh, torchRmsNormSumSquares } from '../engines/transcribedTrees.js';
import { transcribedOrders } from '../engines/transcribedNccl.js';
import { caseOf } from '../engines/caseBuilder.js';

// Every preset against a transcription of its kernels written from their source (the citations
// are the preset's evidence), through ./transcribed.ts and never through the contract
// interpreter: each kernel below is its own small function of the rows.

const view = new DataView(new ArrayBuffer(4));
const f32OfBits = (b: number): number => (view.setUint32(0, b >>> 0), view.getFloat32(0));
const valuesOf = (t: Tensor): number[] => Array.from(t.data, (b) => f32OfBits(t.dtype === 'BF16' ? b << 16 : b));

type Expected = Record<string, number[]>;

/** One token row through a kernel: what the residual output holds, the f32 value the norm
 *  multiplies, and the norm's f32 result before its last rounding. */
interface RowKernel {
  readonly ops: F32Ops;
  /** x for element e of row m (AR, round trip, residual add), before the residual output rounds it. */
  x(rows: Rows, e: number): number;
  /** The residual output (null: no residual input). */
  readonly residualOut: ((x: number) => number) | null;
  normInput(x: number): number;
  sumsq(x: number[], rows: Rows): number;
  readonly varianceByReciprocal: boolean;
  /** rstd from the row's sum of squares where the kernel forms it otherwise than
   *  1/sqrt(variance + eps) correctly rounded (sm_90's rsqrt.approx, Inductor's fused + eps). */
  rstd?(sumsq: number, hidden: number): number;
  /** What the weight multiply reads where it is not what the sum of squares read (compiled HF:
   *  the stored bf16 sum). */
  normalizeInput?(x: number): number;
  weight(w: number): number;
  product(x: number, rstd: number, w: number): number;
  normOut(y: number): number;
  /** variance + eps where the kernel does not add fround(eps) in f32 (aiter add_rmsnorm_quant). */
  readonly addEps?: (variance: number) => number;
}

interface GroupQuant {
  /** The value each element of a group is quantized from: the f32 y or the rounded norm output. */
  input(y: number, normOut: number): number;
  readonly group: number;
  scaleBits(amax: number): number;
  code(v: number, scale: number): number;
  readonly layout: 'row-major' | 'column-major' | 'packed-ue8m0';
  readonly sideOutput: boolean;
}

const EPS = f(1e-6);

function run(rows: Rows, k: RowKernel, quant?: GroupQuant): Expected {
  // 'rstd' is no output: the engine reports it through its rstdOverride hook. It shows the sum of
  // squares' tree and per-thread pattern on every row, where the bf16 outputs rarely do.
  const out: Expected = { rstd: [], 'out.residual': [], 'out.norm': [], 'out.q': [], 'out.scale': [] };
  const scales: number[][] = [];
  const H = rows.hidden;
  for (let m = 0; m < rows.tokens; m++) {
    const x: number[] = [];
    for (let h = 0; h < H; h++) {
      const xv = k.x(rows, m * H + h);
      if (k.residualOut) out['out.residual'].push(bf16Bits(k.residualOut(xv)) & 0xffff);
      x.push(k.normInput(xv));
    }
    const s = k.sumsq(x, rows);
    const variance = k.varianceByReciprocal ? k.ops.mul(s, f(1 / H)) : k.ops.div(s, H);
    const rstd = k.rstd ? k.rstd(s, H) : k.ops.div(1, k.ops.sqrt(k.addEps ? k.addEps(variance) : k.ops.add(variance, EPS)));
    out.rstd.push(f32BitsOf(rstd) >>> 0);
    const multiplied = k.normalizeInput ? x.map(k.normalizeInput) : x;
    const y = multiplied.map((v, h) => k.product(v, rstd, k.weight(rows.weight[h])));
    const normOut = y.map(k.normOut);
    for (const v of normOut) out['out.norm'].push(f32BitsOf(v) >>> 16);
    if (quant) {
      const row: number[] = [];
      for (let g = 0; g < H / quant.group; g++) {
        const vs = y.slice(g * quant.group, (g + 1) * quant.group).map((v, i) => quant.input(v, normOut[g * quant.group + i]));
        const amax = vs.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        const bits = quant.scaleBits(amax);
        row.push(bits);
        for (const v of vs) out['out.q'].push(quant.code(v, f32ValueOf(bits)));
      }
      scales.push(row);
    }
  }
  if (quant) {
    const groups = H / quant.group;
    if (quant.layout === 'row-major') out['out.scale'] = scales.flat();
    else if (quant.layout === 'column-major') for (let g = 0; g < groups; g++) for (let m = 0; m < rows.tokens; m++) out['out.scale'].push(scales[m][g]);
    else {
      // FlashInfer (trtllm_allreduce_fusion.cuh:1206-1240): exponent byte g%4 of int32
      // (g/4)*Mp + m, Mp = tokens rounded up to 4; padding bytes and padding tokens are 0.
      const mp = Math.ceil(rows.tokens / 4) * 4;
      const packed = new Array<number>(Math.ceil(groups / 4) * mp).fill(0);
      for (let m = 0; m < rows.tokens; m++)
        for (let g = 0; g < groups; g++) {
          const i = Math.floor(g / 4) * mp + m;
          packed[i] = (packed[i] | (((scales[m][g] >>> 23) & 0xff) << (8 * (g % 4)))) >>> 0;
        }
      out['out.scale'] = packed;
    }
    if (!quant.sideOutput) delete out['out.norm'];
  } else {
    delete out['out.q'];
    delete out['out.scale'];
  }
  if (!k.residualOut) delete out['out.residual'];
  return out;
}

// ---- all-reduce, as each library sums the ranks

const naturalF32 =
  (ops: F32Ops) =>
  (rows: Rows, e: number): number => {
    let acc = rows.ranks[0][e];
    for (let r = 1; r < rows.ranks.length; r++) acc = ops.add(acc, rows.ranks[r][e]);
    return acc;
  };
const naturalBf16Hops =
  (ops: F32Ops) =>
  (rows: Rows, e: number): number => {
    let acc = rows.ranks[0][e];
    for (let r = 1; r < rows.ranks.length; r++) acc = bf16(ops.add(acc, rows.ranks[r][e]));
    return acc;
  };
/** NCCL runRing with one channel and one loop (all_reduce.h:34-81): chunk c = x[c+1] + ... + x[c]. */
const ncclRing = (rows: Rows, e: number): number => {
  const n = rows.ranks.length;
  const chunk = Math.ceil(Math.ceil((rows.tokens * rows.hidden) / n) / 8) * 8;
  const start = (Math.floor(e / chunk) + 1) % n;
  let acc = rows.ranks[start][e];
  for (let k = 1; k < n; k++) acc = bf16(f(acc + rows.ranks[(start + k) % n][e]));
  return acc;
};

/** NCCL over channels: the order of every element from the transcribed planner and kernel
 *  (test/engines/transcribedNccl.ts), with the channels, rings or chains and buffers the preset
 *  records, then a bf16 round after every hop (reduce_kernel.h:451-453). */
const ncclOrdersSeen = new Map<string, number[][]>();
const ncclChannels =
  (preset: string) =>
  (rows: Rows, e: number): number => {
    const order = getPreset(preset).contract.allReduce.order;
    if (order.kind !== 'nccl-ring' && order.kind !== 'nccl-tree') throw new Error(`${preset} is no NCCL channel preset`);
    const n = rows.ranks.length;
    const key = `${preset} ${n} ${rows.tokens * rows.hidden}`;
    let orders = ncclOrdersSeen.get(key);
    if (!orders) {
      orders =
        order.kind === 'nccl-ring'
          ? transcribedOrders(rows.tokens * rows.hidden, n, 'ring', order.protocol, order.channels, order.rings, order.buffSize)
          : transcribedOrders(rows.tokens * rows.hidden, n, 'tree', order.protocol, order.channels, order.chains);
      ncclOrdersSeen.set(key, orders);
    }
    const sequence = orders[e];
    let acc = rows.ranks[sequence[0]][e];
    for (let k = 1; k < n; k++) acc = bf16(f(acc + rows.ranks[sequence[k]][e]));
    return acc;
  };

// ---- quant rules

const FP8_MAX: Record<'e4m3fn' | 'e4m3fnuz', number> = { e4m3fn: 448, e4m3fnuz: 240 };
const bitsOfScale = (v: number): number => f32BitsOf(v) >>> 0;

/** aiter fused epilogue (custom_all_reduce.cuh:1904-1940): amax from -1, zero -> 1, amax / max,
 *  x / scale, no clamp, the conversion's overflow rule. */
function aiterFusedQuant(format: 'e4m3fn' | 'e4m3fnuz', ops: F32Ops, sideOutput: boolean): GroupQuant {
  const max = FP8_MAX[format];
  return {
    input: (y) => y,
    group: 128,
    layout: 'row-major',
    sideOutput,
    scaleBits: (amax) => bitsOfScale(amax === 0 ? 1 : ops.div(amax, max)),
    code: (v, s) => fp8(ops.div(v, s), format, false),
  };
}
/** aiter dynamic_per_group_scaled_quant (quant_kernels.cu:87-161, aiter_opus_plus.h:54-66): amax
 *  from 1e-10, amax * fround(1/max), x * fround(1/scale), clamp to +-max. */
function aiterStandaloneQuant(format: 'e4m3fn' | 'e4m3fnuz', ops: F32Ops): GroupQuant {
  const max = FP8_MAX[format];
  return {
    input: (_y, normOut) => normOut,
    group: 128,
    layout: 'row-major',
    sideOutput: true,
    scaleBits: (amax) => bitsOfScale(ops.mul(Math.max(amax, f(1e-10)), f(1 / max))),
    code: (v, s) => fp8(clampTo(max)(ops.mul(v, ops.div(1, s))), format, false),
  };
}
/** aiter add_rmsnorm_quant (rmsnorm_quant_kernels.cu:210-305): amax from 1e-10, amax * (1/max),
 *  x * rcp(scale) (the golden keeps the IEEE reciprocal), clamp. */
function aiterAddRmsnormQuant(format: 'e4m3fn' | 'e4m3fnuz', ops: F32Ops): GroupQuant {
  return { ...aiterStandaloneQuant(format, ops), input: (y) => y, sideOutput: false };
}
/** vLLM per_token_group_quant (per_token_group_quant.cu:56-95): amax from 1e-10, amax / 448,
 *  x / scale clamped to +-448, satfinite e4m3fn. */
function vllmQuant(ops: F32Ops, extra: Partial<GroupQuant> = {}): GroupQuant {
  return {
    input: (_y, normOut) => normOut,
    group: 128,
    layout: 'row-major',
    sideOutput: false,
    scaleBits: (amax) => bitsOfScale(ops.div(Math.max(amax, f(1e-10)), 448)),
    code: (v, s) => fp8(clampTo(448)(ops.div(v, s)), 'e4m3fn', true),
    ...extra,
  };
}

// ---- kernels

function aiterKernel(arch: 'gfx942' | 'gfx950', variant: '1stage' | 'pre2586' | 'gemma' | '2stage-quant' | '2stage'): RowKernel {
  const down = bf16As(arch === 'gfx942' ? 'truncate' : 'rne');
  const ops = FLUSH;
  const ar = naturalF32(ops);
  if (variant === '2stage-quant') {
    // AR rounded by opus, then a __bf16 residual add (RNE), the norm reads the bf16 sum.
    return {
      ops,
      x: (rows, e) => bf16(ops.add(down(ar(rows, e)), rows.residual[e])),
      residualOut: (x) => x,
      normInput: (x) => x,
      sumsq: (x) => sumsqAiterEpilogue(x, ops, false, true),
      varianceByReciprocal: false,
      weight: (w) => w,
      product: (x, rstd, w) => ops.mul(ops.mul(x, rstd), w),
      normOut: down,
    };
  }
  if (variant === '2stage') {
    return {
      ops,
      x: (rows, e) => ops.add(down(ar(rows, e)), rows.residual[e]),
      residualOut: down,
      normInput: (x) => x,
      sumsq: (x) => sumsqAiterSmemHalving(x, 512, ops, false),
      varianceByReciprocal: false,
      weight: (w) => w,
      product: (x, rstd, w) => ops.mul(ops.mul(x, w), rstd),
      normOut: down,
    };
  }
  const roundTrip = variant !== 'pre2586';
  return {
    ops,
    x: (rows, e) => ops.add(roundTrip ? down(ar(rows, e)) : ar(rows, e), rows.residual[e]),
    residualOut: down,
    normInput: (x) => x,
    sumsq: (x) => sumsqAiterEpilogue(x, ops, true, true),
    varianceByReciprocal: false,
    weight: (w) => (variant === 'gemma' ? ops.add(w, 1) : w),
    product: (x, rstd, w) => ops.mul(ops.mul(x, rstd), w),
    normOut: down,
  };
}

const UNFUSED: RowKernel = {
  ops: IEEE,
  x: (rows, e) => bf16(f(bf16(arNaturalF32(rows, e)) + rows.residual[e])),
  residualOut: (x) => x,
  normInput: (x) => x,
  sumsq: sumsqSequential,
  varianceByReciprocal: false,
  weight: (w) => w,
  product: (x, rstd, w) => f(f(x * rstd) * w),
  normOut: bf16,
};

function flashinferKernel(fp32Acc: boolean, cluster: 'sm90' | 'sm80', launch: 'oneshot' | 'twoshot'): RowKernel {
  const ops = FLUSH;
  const sum = fp32Acc ? (rows: Rows, e: number) => bf16(naturalF32(ops)(rows, e)) : naturalBf16Hops(ops);
  // One-shot: remove_neg_zero(val) on every allreduce_in value before it is pushed (fi.cuh:1524,
  // 1426-1431): a -0 input is stored as static_cast<T>(0.f), +0. Two-shot copies the inputs as they are.
  const positive = new WeakMap<Rows, Rows>();
  const positiveZeros = (rows: Rows): Rows => {
    let out = positive.get(rows);
    if (!out) positive.set(rows, (out = { ...rows, ranks: rows.ranks.map((rank) => rank.map((v) => (Object.is(v, -0) ? 0 : v))) }));
    return out;
  };
  const ar = launch === 'oneshot' ? (rows: Rows, e: number) => sum(positiveZeros(rows), e) : sum;
  return {
    ops,
    x: (rows, e) => bf16(ops.add(ar(rows, e), rows.residual[e])),
    residualOut: (x) => x,
    normInput: (x) => x,
    sumsq: (x, rows) => {
      const clusters = launch === 'oneshot' ? rows.tokens : Math.ceil(rows.tokens / rows.ranks.length);
      return sumsqFlashinferCluster(x, cluster === 'sm90' ? flashinferClusterSize(rows.hidden, clusters, 132, 1024) : 1, ops);
    },
    varianceByReciprocal: false,
    weight: (w) => w,
    product: (x, rstd, w) => ops.mul(ops.mul(x, rstd), w),
    normOut: bf16,
  };
}

function vllmCuda(residual: boolean): RowKernel {
  return {
    ops: IEEE,
    x: (rows, e) => (residual ? bf16(f(bf16(arNaturalF32(rows, e)) + rows.residual[e])) : bf16(arNaturalF32(rows, e))),
    residualOut: residual ? (x) => x : null,
    normInput: (x) => x,
    sumsq: (x, rows) => {
      const block = Math.min(rows.hidden, rows.tokens < 256 ? 1024 : 256);
      if (residual) return sumsqVllmVectorised(x, block, IEEE, true);
      return sumsqVllmFlat(x, rows.tokens, IEEE);
    },
    varianceByReciprocal: false,
    weight: (w) => w,
    product: (x, rstd, w) => f(f(x * rstd) * w),
    normOut: bf16,
  };
}

// ---- torch on sm_90 (conformance/SPECS.md): the trees from ../engines/transcribedTrees.ts (each
// written lane by lane from its source), rstd from sm_90's rsqrt.approx.f32 as measured on the
// H200 (src/numerics/hardware: the table that test/numerics/hardware.test.ts holds to the GPU's own
// vectors; no contract code).

const sm90Rsqrt = (v: number): number => f32ValueOf(sm90RsqrtApprox(f32BitsOf(v) >>> 0));

/** setReduceConfig (Reduce.cuh L1040-1175 of the torch 2.11 wheel, SPECS.md T1) for a contiguous
 *  f32 [M, H] mean over the last dim: dim0 = H/4 vectors, 512 threads, bw = min(pow2(dim0), 32),
 *  bh = min(pow2(M), 512/bw), then bw = min(pow2(dim0), 512/bh); the row split over warps when
 *  ceil(H/bw) >= min(bh*16, 256). */
function reduceCuhBlock(tokens: number, hidden: number): [number, number, boolean] {
  const lastPow2 = (n: number): number => 2 ** Math.floor(Math.log2(n));
  const dim0 = lastPow2(Math.min(hidden / 4, 512));
  const dim1 = lastPow2(Math.min(tokens, 512));
  const bh = Math.min(dim1, 512 / Math.min(dim0, 32));
  const bw = Math.min(dim0, 512 / bh);
  return [bw, bh, Math.ceil(hidden / bw) >= Math.min(bh * 16, 256)];
}
const torchMeanSumsq = (x: number[], rows: Rows): number => torchReduceCuh(Float32Array.from(x), ...reduceCuhBlock(rows.tokens, rows.hidden), 'decreasing');

/** vLLM forward_native in eager torch: f32 residual sum, pow(2) then Reduce.cuh's mean, sum *
 *  RN(1/H) + eps, torch.rsqrt, x.to(bf16) * w. */
const VLLM_NATIVE: RowKernel = {
  ops: IEEE,
  x: (rows, e) => f(bf16(arNaturalF32(rows, e)) + rows.residual[e]),
  residualOut: bf16,
  normInput: (x) => x,
  sumsq: torchMeanSumsq,
  varianceByReciprocal: true,
  rstd: (s, hidden) => sm90Rsqrt(f(f(s * f(1 / hidden)) + EPS)),
  weight: (w) => w,
  product: (x, rstd, w) => f(bf16(f(x * rstd)) * w),
  normOut: bf16,
};
/** The same source under torch.compile (Inductor, R0_BLOCK 2048, 4 per thread, 16 warps):
 *  fma(sum, RN(1/H), eps), no bf16 round trip before the weight. */
const VLLM_NATIVE_COMPILED: RowKernel = {
  ...VLLM_NATIVE,
  sumsq: (x) => inductorSumSquares(Float32Array.from(x), 2048, 4, 16, true, fmaF32Exact),
  rstd: (s, hidden) => sm90Rsqrt(fmaF32Exact(s, f(1 / hidden), EPS)),
  product: (x, rstd, w) => f(f(x * rstd) * w),
};
/** GemmaRMSNorm.forward_static compiled: the bf16 add kept in f32 for the squares, the stored
 *  bf16 sum normalized, times f32 (1 + w), one rounding. */
const VLLM_GEMMA: RowKernel = { ...VLLM_NATIVE_COMPILED, normalizeInput: bf16, weight: (w) => f(1 + w) };
/** HF decoder layer: bf16 residual add, then LlamaRMSNorm eagerly (the native chain on the bf16 sum). */
const HF_LLAMA: RowKernel = { ...VLLM_NATIVE, x: (rows, e) => bf16(f(bf16(arNaturalF32(rows, e)) + rows.residual[e])), residualOut: (x) => x };
/** F.rms_norm after the bf16 residual add: fma chain and block (32, 4) tree, sumsq / H + eps. */
const TORCH_RMS_NORM: RowKernel = {
  ...HF_LLAMA,
  sumsq: (x) => torchRmsNormSumSquares(Float32Array.from(x), fmaF32Exact),
  varianceByReciprocal: false,
  rstd: (s, hidden) => sm90Rsqrt(f(f(s / hidden) + EPS)),
  product: (x, rstd, w) => f(f(x * rstd) * w),
};

interface Case {
  readonly kernel: RowKernel;
  readonly quant?: GroupQuant;
  readonly shape?: { ranks: number; tokens: number; hidden: number };
}
const transcriptions = new Map<string, Case>();
const add = (name: string, kernel: RowKernel, quant?: GroupQuant, shape?: Case['shape']): void => {
  transcriptions.set(name, { kernel, ...(quant ? { quant } : {}), ...(shape ? { shape } : {}) });
};

add('unfused', UNFUSED);
add('nccl-ring', { ...UNFUSED, x: (rows, e) => bf16(f(ncclRing(rows, e) + rows.residual[e])) });
// 32768 elements: 4 Simple channels of 8192; LL overflows onto the 4 channels (2048, 10240 x 3).
for (const preset of ['nccl-ring-simple', 'nccl-ring-ll', 'nccl-ring-ll128', 'nccl-tree-simple']) {
  const ar = ncclChannels(preset);
  add(preset, { ...UNFUSED, x: (rows, e) => bf16(f(ar(rows, e) + rows.residual[e])) }, undefined, { ranks: 4, tokens: 4, hidden: 8192 });
}
for (const arch of ['gfx942', 'gfx950'] as const) {
  const format: 'e4m3fnuz' | 'e4m3fn' = arch === 'gfx942' ? 'e4m3fnuz' : 'e4m3fn';
  add(`unfused-quant@${arch}`, UNFUSED, aiterStandaloneQuant(format, IEEE));
  add(`aiter-1stage@${arch}`, aiterKernel(arch, '1stage'));
  add(`aiter-1stage-pre2586@${arch}`, aiterKernel(arch, 'pre2586'));
  add(`aiter-1stage-gemma@${arch}`, aiterKernel(arch, 'gemma'));
  add(`aiter-1stage-quant@${arch}`, aiterKernel(arch, '1stage'), aiterFusedQuant(format, FLUSH, true));
  // 7168 = 896 packs: 512 threads, two packs on the first 384 (the kernel's n_loop 2).
  add(`aiter-2stage@${arch}`, aiterKernel(arch, '2stage'), undefined, { ranks: 3, tokens: 2, hidden: 7168 });
  // 640 = 80 threads: two whole warps are read, the 16 threads of the third are not (car.cuh:1606, 1617).
  add(`aiter-2stage-quant@${arch}`, aiterKernel(arch, '2stage-quant'), aiterFusedQuant(format, FLUSH, true), { ranks: 2, tokens: 2, hidden: 640 });
  add(`aiter-split-quant@${arch}`, aiterKernel(arch, '2stage-quant'), aiterFusedQuant(format, FLUSH, true), { ranks: 2, tokens: 2, hidden: 640 });
  const down = bf16As(arch === 'gfx942' ? 'truncate' : 'rne');
  add(
    `aiter-add-rmsnorm-quant@${arch}`,
    {
      ops: FLUSH,
      x: (rows, e) => FLUSH.add(rows.ranks[0][e], rows.residual[e]),
      residualOut: down,
      normInput: (x) => x,
      sumsq: (x) => sumsqAiterDpp(x, 256, 16, FLUSH),
      // rq.cu:150 under -ffast-math: rcp[0] / n is rcp[0] * v_rcp(float(n)) (the golden keeps the IEEE reciprocal).
      varianceByReciprocal: true,
      // rq.cu:26, 150: `rcp[0] / n + epsilon` with a double epsilon: widened, added in f64, rsqrtf's float argument
      // rounds back. FTZ on the f32 ends (the f64 add keeps its denormals).
      addEps: (v) => ftz(f(ftz(v) + 1e-6)),
      weight: (w) => w,
      product: (x, rstd, w) => FLUSH.mul(FLUSH.mul(x, rstd), w),
      normOut: down,
    },
    aiterAddRmsnormQuant(format, FLUSH),
    { ranks: 1, tokens: 2, hidden: 4096 },
  );
}
add('sglang-fused-quant', aiterKernel('gfx950', '1stage'), aiterFusedQuant('e4m3fn', FLUSH, true));
add('sglang-fused-quant-fallback', aiterKernel('gfx950', '1stage'), aiterStandaloneQuant('e4m3fn', FLUSH));
add('vllm-ar-rms-quant', aiterKernel('gfx950', '1stage'), aiterFusedQuant('e4m3fn', FLUSH, false));
add('vllm-ar-rms-quant-indexer', aiterKernel('gfx950', '1stage'), aiterFusedQuant('e4m3fn', FLUSH, true));
add('vllm-ar-rms-quant-f32weight-cast', { ...aiterKernel('gfx950', '1stage'), weight: bf16 }, aiterFusedQuant('e4m3fn', FLUSH, false));
add('vllm-ar-rms-quant-f32weight', aiterKernel('gfx950', '1stage'), aiterFusedQuant('e4m3fn', FLUSH, false));
add(
  'vllm-ar-rms-quant-noresidual',
  { ...aiterKernel('gfx950', '1stage'), x: (rows, e) => bf16(naturalF32(FLUSH)(rows, e)), residualOut: null },
  aiterFusedQuant('e4m3fn', FLUSH, false),
);
const FI_SHAPE = { ranks: 4, tokens: 2, hidden: 4096 };
// 40 tokens on 2 ranks: one-shot shrinks the cluster to 2 blocks (40*4 > 132 SMs), two-shot keeps 4 (20 clusters).
const FI_MANY_TOKENS = { ranks: 2, tokens: 40, hidden: 4096 };
add('flashinfer-oneshot@sm90', flashinferKernel(true, 'sm90', 'oneshot'), undefined, FI_MANY_TOKENS);
add('flashinfer-oneshot@sm80', flashinferKernel(true, 'sm80', 'oneshot'), undefined, FI_SHAPE);
add('flashinfer-oneshot-bf16acc@sm90', flashinferKernel(false, 'sm90', 'oneshot'), undefined, FI_SHAPE);
add('flashinfer-oneshot-bf16acc@sm80', flashinferKernel(false, 'sm80', 'oneshot'), undefined, FI_SHAPE);
add('flashinfer-twoshot', flashinferKernel(true, 'sm90', 'twoshot'), undefined, FI_MANY_TOKENS);
// fi.cuh:1183-1198: y_s = max(amax/448, 1e-10) rounded up to 2^k, q = val / y_s clamped to 448.
add(
  'flashinfer-ar-rms-group-fp8',
  flashinferKernel(true, 'sm90', 'oneshot'),
  {
    input: (_y, normOut) => normOut,
    group: 128,
    layout: 'packed-ue8m0',
    sideOutput: false,
    scaleBits: (amax) => ue8m0RoundUpBits(Math.max(FLUSH.div(amax, 448), f(1e-10))),
    code: (v, s) => fp8(clampTo(448)(FLUSH.div(v, s)), 'e4m3fn', true),
  },
  FI_SHAPE,
);
add('vllm-unfused', vllmCuda(true));
add('vllm-native@sm90', VLLM_NATIVE);
add('vllm-native-compiled@sm90', VLLM_NATIVE_COMPILED);
add('vllm-gemma@sm90', VLLM_GEMMA);
add('hf-llama@sm90', HF_LLAMA);
add('torch-rms-norm@sm90', TORCH_RMS_NORM);
add('vllm-group-quant', vllmCuda(true), vllmQuant(IEEE));
add(
  'vllm-group-quant-ue8m0',
  vllmCuda(true),
  vllmQuant(IEEE, {
    scaleBits: (amax) => bitsOfScale(2 ** Math.ceil(Math.log2(Math.max(f(Math.max(amax, f(1e-10)) / 448), f(1e-10))))),
  }),
);
add('vllm-group-quant-colmajor', vllmCuda(true), vllmQuant(IEEE, { layout: 'column-major' }));
// input_quant_fp8.py:192-199: no amax floor, absmax / 448 floored at 1/(448*512), x / scale; the
// division by the Python float 448 is torch's a * (1/b) (BinaryDivTrueKernel.cu:36-48), the bf16
// norm output stays a tensor of its own.
add(
  'vllm-native-group-quant@sm90',
  VLLM_NATIVE,
  vllmQuant(IEEE, { scaleBits: (amax) => bitsOfScale(Math.max(f(amax * f(1 / 448)), f(1 / (448 * 512)))), sideOutput: true }),
);
add('vllm-unfused-quant', vllmCuda(true), vllmQuant(IEEE, { sideOutput: true }));
add('vllm-unfused-quant-noresidual', vllmCuda(false), vllmQuant(IEEE, { sideOutput: true }));

const GENERATORS = ['random', 'cancellation', 'bf16-ties', 'residual-outliers', 'zero-groups', 'subnormals', 'fp8-saturation'];

function rowsOf(inputs: CaseInputs, tokens: number, hidden: number): Rows {
  return {
    ranks: inputs.rankInputs.map(valuesOf),
    residual: inputs.residual ? valuesOf(inputs.residual) : [],
    weight: valuesOf(inputs.weight),
    tokens,
    hidden,
  };
}

/** The engine's outputs, and each row's rstd as the engine computed it. */
function runEngine(built: { contract: Contract; shape: Shape }, inputs: CaseInputs): Map<string, number[]> {
  const rstd: number[] = [];
  const outputs = runCpuEngine(built.contract, built.shape, inputs, { rstdOverride: (row, r) => ((rstd[row] = f32BitsOf(r) >>> 0), r) });
  return new Map([['rstd', rstd], ...[...outputs].map(([name, t]) => [name, Array.from(t.data, (b) => b >>> 0)] as [string, number[]])]);
}

function expectBits(actual: Map<string, number[]>, expected: Expected): void {
  expect([...actual.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [name, bits] of Object.entries(expected)) expect(actual.get(name), name).toEqual(bits.map((b) => b >>> 0));
}

describe.each([...transcriptions.keys()])('%s matches its transcription', (preset) => {
  test.each(GENERATORS)('%s inputs', (inputs) => {
    const c = transcriptions.get(preset)!;
    const shape = shapeOf(preset);
    const built = buildCase({ preset, ...shape, group: null, inputs, seed: 21 });
    expectBits(runEngine(built, built.inputs), run(rowsOf(built.inputs, shape.tokens, shape.hidden), c.kernel, c.quant));
  });
});

function shapeOf(preset: string): { ranks: number; tokens: number; hidden: number } {
  return transcriptions.get(preset)?.shape ?? { ranks: getPreset(preset).ranks ?? 3, tokens: 2, hidden: 512 };
}

// The bf16 outputs and even rstd hide most one-ulp changes of the sum of squares; the sum itself
// does not. Rows of f32 values over 40 binades make every reassociation visible.
describe.each([...transcriptions.keys()])('%s: sum of squares of wide-range rows', (preset) => {
  test('equals the transcription bit for bit', () => {
    const contract = getPreset(preset).contract;
    const shape = shapeOf(preset);
    const plan = reductionPlan(contract, shape);
    const rows: Rows = { ranks: Array.from({ length: shape.ranks }, () => []), residual: [], weight: [], tokens: shape.tokens, hidden: shape.hidden };
    const rng = Xoshiro128StarStar.fromSeed(12345);
    for (let trial = 0; trial < 16; trial++) {
      const x = Array.from({ length: shape.hidden }, () => f(rng.nextSign() * (1 + rng.nextUnit()) * 2 ** rng.nextInt(-6, 5)));
      const engine = planSumOfSquares(plan, contract.norm.sumOfSquares.perThread, f32Arithmetic(contract.f32Subnormals), Float32Array.from(x));
      expect(f32BitsOf(engine) >>> 0, `trial ${trial}`).toBe(f32BitsOf(transcriptions.get(preset)!.kernel.sumsq(x, rows)) >>> 0);
    }
  });
});

test('vllm-unfused: a thread owning two 8-vectors sums each from 0 and nests them (H 4096, 256 tokens: block 256)', () => {
  const built = buildCase({ preset: 'vllm-unfused', ranks: 2, tokens: 256, hidden: 4096, group: null, inputs: 'random', seed: 5 });
  expectBits(runEngine(built, built.inputs), run(rowsOf(built.inputs, 256, 4096), vllmCuda(true)));
});

test("aiter-rms-quant-passthrough: Triton's in-thread tree on rows whose data sits in thread 0's 8 registers", () => {
  // Only elements 0..7 of each row are non-zero, so tl.sum is thread 0's pairwise tree over its
  // 8 registers ((p0+p1)+(p2+p3))+((p4+p5)+(p6+p7)) plus exact zeros (fused_fp8_quant.py:15-16).
  for (const arch of ['gfx942', 'gfx950'] as const) {
    const name = `aiter-rms-quant-passthrough@${arch}`;
    const built = buildCase({ preset: name, ranks: 1, tokens: 2, hidden: 4096, group: null, inputs: 'random', seed: 8 });
    const keepFirst8 = (t: Tensor): Tensor => ({
      dtype: 'BF16',
      shape: t.shape,
      data: Uint16Array.from(t.data as Uint16Array, (b, i) => (i % 4096 < 8 ? b : 0)),
    });
    const inputs: CaseInputs = { ...built.inputs, rankInputs: built.inputs.rankInputs.map(keepFirst8), residual: keepFirst8(built.inputs.residual!) };
    const format: Fp8Format = arch === 'gfx942' ? 'e4m3fnuz' : 'e4m3fn';
    const max = arch === 'gfx942' ? 240 : 448;
    const expected = run(
      rowsOf(inputs, 2, 4096),
      {
        ops: IEEE,
        x: (rows, e) => f(rows.ranks[0][e] + rows.residual[e]),
        residualOut: bf16,
        normInput: (x) => x,
        sumsq: (x) => {
          const p = x.slice(0, 8).map((v) => f(v * v));
          return f(f(f(p[0] + p[1]) + f(p[2] + p[3])) + f(f(p[4] + p[5]) + f(p[6] + p[7])));
        },
        varianceByReciprocal: false,
        weight: (w) => w,
        product: (x, rstd, w) => f(f(x * rstd) * w),
        normOut: bf16,
      },
      {
        // fused_fp8_quant.py:34-37: amax floored at 1e-10, amax / max, x * (1/scale) clamped.
        input: (y) => y,
        group: 128,
        layout: 'row-major',
        sideOutput: true,
        scaleBits: (amax) => bitsOfScale(f(Math.max(amax, f(1e-10)) / max)),
        code: (v, s) => fp8(clampTo(max)(f(v * f(1 / s))), format, true),
      },
    );
    expectBits(runEngine(built, inputs), expected);
  }
});

test('every preset has a transcription', () => {
  const covered = new Set([...transcriptions.keys(), 'aiter-rms-quant-passthrough@gfx942', 'aiter-rms-quant-passthrough@gfx950']);
  expect(
    listPresets()
      .map((p) => p.name)
      .sort(),
  ).toEqual([...covered].sort());
});

test('hand-derived: gfx942 truncates where gfx950 rounds, and the 2-stage residual add rounds on both', () => {
  // 1 + 2^-8 + 2^-9 is not a bf16 (its step at 1 is 2^-7): truncation gives 1 (0x3F80), round to
  // nearest even 1 + 2^-7 (0x3F81), since 2^-8 + 2^-9 is more than half a step.
  const v = 1 + 2 ** -8 + 2 ** -9;
  expect(bf16Bits(bf16As('truncate' as Bf16Mode)(v)) & 0xffff).toBe(0x3f80);
  expect(bf16Bits(bf16As('rne')(v)) & 0xffff).toBe(0x3f81);
  const rows: Rows = { ranks: [[1], [2 ** -8 + 2 ** -9]], residual: [0], weight: [1], tokens: 1, hidden: 1 };
  expect(aiterKernel('gfx942', '1stage').residualOut!(aiterKernel('gfx942', '1stage').x(rows, 0))).toBe(1);
  expect(aiterKernel('gfx950', '1stage').residualOut!(aiterKernel('gfx950', '1stage').x(rows, 0))).toBe(1 + 2 ** -7);
  expect(aiterKernel('gfx942', '2stage-quant').x(rows, 0)).toBe(1);
});

// The committed goldens against the same transcriptions, at the suite's real shapes (hidden 2880,
// 4096 and 7168, up to 8 ranks and 64 tokens) where the tests above use small ones. The
// container, metadata and inputs of each golden are checked independently in
// test/fixtures/golden.test.ts. On special inputs only the residual and the norm are compared:
// a NaN reaches the quant's amax there, and the transcriptions' Math.max does not model each
// kernel's max of a NaN.
describe('the committed goldens match their transcriptions', () => {
  const goldenDir = join(__dirname, '../../golden');
  const manifest = JSON.parse(readFileSync(join(goldenDir, 'manifest.json'), 'utf8')) as {
    cases: { file: string; case: { preset: string; inputs: string } }[];
  };
  const covered = manifest.cases.filter((c) => transcriptions.has(c.case.preset));
  test('every golden of a transcribed preset is compared', () => {
    const untranscribed = new Set(manifest.cases.filter((c) => !transcriptions.has(c.case.preset)).map((c) => c.case.preset));
    expect([...untranscribed].sort()).toEqual(['aiter-rms-quant-passthrough@gfx942', 'aiter-rms-quant-passthrough@gfx950']);
    expect(covered.length).toBeGreaterThan(100);
  });
  test.each(covered.map((c) => [c.file.replace(/\.safetensors$/, ''), c] as const))('%s', (_name, c) => {
    const golden = readGolden(join(goldenDir, c.file));
    const { kernel, quant } = transcriptions.get(c.case.preset)!;
    const expected = run(rowsOf(golden.inputs, golden.shape.tokens, golden.shape.hidden), kernel, quant);
    const compared = Object.keys(expected).filter((name) => name !== 'rstd' && (c.case.inputs !== 'special' || !['out.q', 'out.scale'].includes(name)));
    expect([...golden.outputs.keys()].filter((name) => compared.includes(name))).toEqual(compared);
    // A bf16 NaN's sign and payload are the engines' documented rule (src/numerics/f32ops.ts,
    // checked bit for bit in test/engines/nanBits.test.ts), not a kernel claim (NVIDIA returns its
    // canonical NaN, AMD propagates), and the transcriptions' JS arithmetic picks a NaN operand as
    // V8 does: special inputs compare a bf16 NaN as a class here, every other bit exactly.
    const bf16NanAsClass = (name: string, b: number): number =>
      c.case.inputs === 'special' && golden.outputs.get(name)!.dtype === 'BF16' && (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0 ? 0x7fc0 : b >>> 0;
    for (const name of compared)
      expect(
        Array.from(golden.outputs.get(name)!.data, (b) => bf16NanAsClass(name, b)),
        name,
      ).toEqual(expected[name].map((b) => bf16NanAsClass(name, b)));
  });
});

// rq.cu:150 adds the double epsilon in f64. With eps 1e-6 this moves rstd only where the variance
// is near eps (2^-27 .. 2^-18): a row of 2^-10 has variance 2^-20. In units of 2^-42 (the f32 ulp
// in [2^-19, 2^-18)): f64, 2^22 + 1e-6 * 2^42 = 8592350.511 -> 8592351 (0x36031bdf); f32,
// fround(1e-6) = 8796093 * 2^-43, so 2^22 + 4398046.5 = 8592350.5, a tie -> the even 8592350 (0x36031bde).
test('aiter-add-rmsnorm-quant: a row whose variance is near eps tells the f64 eps add from the f32 one', () => {
  const preset = 'aiter-add-rmsnorm-quant@gfx950';
  const shape = { ranks: 1, tokens: 1, hidden: 4096 };
  const inputs = caseOf([new Array<number>(4096).fill(2 ** -10)], new Array<number>(4096).fill(0), new Array<number>(4096).fill(1));
  const engine = runEngine({ contract: getPreset(preset).contract, shape }, inputs);
  const c = transcriptions.get(preset)!;
  const expected = run(rowsOf(inputs, 1, 4096), c.kernel, c.quant);
  expectBits(engine, expected);
  const rstdOf = (variance: number): number => f32BitsOf(f(1 / f(Math.sqrt(variance)))) >>> 0;
  expect(engine.get('rstd')).toEqual([rstdOf(f32ValueOf(0x36031bdf))]);
  expect(rstdOf(f32ValueOf(0x36031bdf))).not.toBe(rstdOf(f32ValueOf(0x36031bde)));
});

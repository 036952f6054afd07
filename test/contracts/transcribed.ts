// Each preset transcribed straight from the arithmetic its source describes (the real kernel
// lines that the preset's source and evidence cite), written without the contract interpreter and
// without src/numerics: bf16 rounding by nearest-value search, FP8 codes from tables derived from
// the format definitions (test/numerics/fp8-spec.ts), f32 steps with Math.fround.
import type { Fp8Format } from '../../src/numerics/fp8.js';
import { buildTable, FP8_SPECS } from '../numerics/fp8-spec.js';

const f = Math.fround;
const view = new DataView(new ArrayBuffer(4));
const bitsOf = (v: number): number => (view.setFloat32(0, v), view.getUint32(0));
const valueOf = (bits: number): number => (view.setUint32(0, bits >>> 0), view.getFloat32(0));

/** Nearest bf16 (as an f32 value), ties to the even code, found by comparing the two candidates. */
export function bf16(v: number): number {
  if (Number.isNaN(v) || !Number.isFinite(v)) return v;
  const down = valueOf(bitsOf(v) & 0xffff0000);
  const upBits = ((bitsOf(v) & 0xffff0000) + 0x10000) >>> 0;
  const up = valueOf(upBits);
  if (down === v) return down;
  const dDown = Math.abs(v - down);
  const dUp = Math.abs(up - v); // up may be Inf past max: then it only wins past the halfway point
  if (!Number.isFinite(up)) return Math.abs(v) >= 2 ** 127 * (2 - 2 ** -8) ? up : down;
  if (dDown < dUp) return down;
  if (dUp < dDown) return up;
  return ((bitsOf(down) >>> 16) & 1) === 0 ? down : up;
}
export const bf16Bits = (v: number): number => bitsOf(bf16(v)) >>> 16;

/** f32 -> fp8 code: nearest table value, ties to the even code, then the overflow rule. */
export function fp8(v: number, format: Fp8Format, saturate: boolean): number {
  const t = buildTableCached(format);
  const fnuz = FP8_SPECS[format].special === 'fnuz';
  const nanCode = fnuz ? 0x80 : FP8_SPECS[format].special === 'fn' ? 0x7f : 0x7e;
  if (Number.isNaN(v)) return nanCode;
  const sign = v < 0 || Object.is(v, -0) ? 0x80 : 0;
  const a = Math.abs(v);
  let code = 0;
  if (a > t.max) {
    // Past max: rounds back to max below the halfway point to the next (missing) step, or at it
    // when max's code is even; otherwise it overflows.
    const half = (t.beyond - t.max) / 2;
    code = a - t.max < half || (a - t.max === half && (t.maxCode & 1) === 0) ? t.maxCode : -1;
  } else {
    while (code < t.maxCode && t.positive[code + 1] <= a) code++;
    if (code < t.maxCode) {
      const lo = t.positive[code];
      const hi = t.positive[code + 1];
      if (a - lo > hi - a || (a - lo === hi - a && (code & 1) === 1)) code++;
    }
  }
  if (code === -1) {
    if (saturate) return sign | t.maxCode;
    if (fnuz) return 0x80;
    return FP8_SPECS[format].special === 'ieee' ? sign | (t.maxCode + 1) : sign | 0x7f;
  }
  if (code === 0 && fnuz) return 0;
  return sign | code;
}
const tables = new Map<Fp8Format, ReturnType<typeof buildTable>>();
function buildTableCached(format: Fp8Format) {
  if (!tables.has(format)) tables.set(format, buildTable(FP8_SPECS[format]));
  return tables.get(format)!;
}

export interface Rows {
  ranks: number[][];
  residual: number[];
  weight: number[];
  tokens: number;
  hidden: number;
}

export function arNaturalF32(rows: Rows, e: number): number {
  let acc = rows.ranks[0][e];
  for (let r = 1; r < rows.ranks.length; r++) acc = f(acc + rows.ranks[r][e]);
  return acc;
}

export function sumsqSequential(x: number[]): number {
  let acc = 0;
  for (const v of x) acc = f(acc + f(v * v));
  return acc;
}

/** aiter / TRT-LLM: 8 per thread, 32-lane XOR butterflies, then one over the warp sums. */
export function sumsqButterfly(x: number[]): number {
  const threads = x.length / 8;
  const lanes = Array.from({ length: Math.ceil(threads / 32) * 32 }, (_, t) => {
    let acc = 0;
    if (t < threads) for (let k = 0; k < 8; k++) acc = f(acc + f(x[8 * t + k] * x[8 * t + k]));
    return acc;
  });
  const butterfly = (v: number[]): number => {
    let cur = v.slice();
    for (let s = v.length / 2; s >= 1; s /= 2) cur = cur.map((a, i) => f(a + cur[i ^ s]));
    return cur[0];
  };
  const warps: number[] = [];
  for (let w = 0; w < lanes.length / 32; w++) warps.push(butterfly(lanes.slice(32 * w, 32 * w + 32)));
  let width = 1;
  while (width < warps.length) width *= 2;
  while (warps.length < width) warps.push(0);
  return butterfly(warps);
}

/** vLLM cub BlockReduce: strided per-thread sums, shuffle-down per warp, warp sums in order. */
export function sumsqCub(x: number[], tokens: number): number {
  const block = Math.min(x.length, tokens < 256 ? 1024 : 256);
  const lanes = Array.from({ length: Math.ceil(block / 32) * 32 }, (_, t) => {
    let acc = 0;
    if (t < block) for (let h = t; h < x.length; h += block) acc = f(acc + f(x[h] * x[h]));
    return acc;
  });
  let total = 0;
  for (let w = 0; w < lanes.length / 32; w++) {
    const v = lanes.slice(32 * w, 32 * w + 32);
    for (let off = 1; off < 32; off *= 2) for (let i = 0; i + off < 32; i++) v[i] = f(v[i] + v[i + off]);
    total = w === 0 ? v[0] : f(total + v[0]);
  }
  return total;
}

export function rstdOf(sumsq: number, hidden: number): number {
  return f(1 / f(Math.sqrt(f(f(sumsq / hidden) + f(1e-6)))));
}

export interface QuantRule {
  format: Fp8Format;
  max: number;
  scale: (amax: number) => number;
  quantize: (v: number, scale: number) => number;
  saturate: boolean;
}

export function quantRow(values: number[], group: number, rule: QuantRule): { q: number[]; scales: number[] } {
  const q: number[] = [];
  const scales: number[] = [];
  for (let g = 0; g < values.length / group; g++) {
    const vs = values.slice(g * group, (g + 1) * group);
    const amax = vs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const scale = rule.scale(amax);
    scales.push(scale);
    for (const v of vs) q.push(fp8(rule.quantize(v, scale), rule.format, rule.saturate));
  }
  return { q, scales };
}

export const clampTo =
  (bound: number) =>
  (v: number): number =>
    Math.min(Math.max(v, -bound), bound);
export { f };

// ---------------------------------------------------------------------------------------------
// The arithmetic the corrected presets need, written from the kernels' source (the citations
// are in src/contracts/presets.ts and ../research evidence), again without src/numerics.

/** opus fp32_to_bf16 rm 2 (ROCm/aiter opus.hpp:1224): the top 16 bits. */
export function bf16Truncated(v: number): number {
  if (Number.isNaN(v)) return v;
  return valueOf(bitsOf(v) & 0xffff0000);
}
export type Bf16Mode = 'rne' | 'truncate';
export const bf16As = (mode: Bf16Mode) => (mode === 'rne' ? bf16 : bf16Truncated);

/** A subnormal f32 read or written as a zero of its sign (-fgpu-flush-denormals-to-zero, --ftz). */
export function ftz(v: number): number {
  return v !== 0 && Math.abs(v) < 2 ** -126 ? (v < 0 ? -0 : 0) : v;
}

function nextF32Up(v: number): number {
  const b = bitsOf(v);
  if (v === 0) return valueOf(1);
  return valueOf(v > 0 ? b + 1 : b - 1);
}
function nextF32Down(v: number): number {
  return -nextF32Up(-v);
}

/** fma(a, b, c) on f32 operands with one rounding: a*b is exact in a double; the double sum's
 *  own error (TwoSum) decides the only case where rounding the double is wrong, an f32 tie. */
export function fmaF32Exact(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return f(s);
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  const r = f(s);
  if (r === s || err === 0) return r;
  const lo = r < s ? r : nextF32Down(r);
  const hi = r < s ? nextF32Up(r) : r;
  if (s - lo !== hi - s) return r;
  return err > 0 ? hi : lo;
}

export interface F32Ops {
  add(a: number, b: number): number;
  mul(a: number, b: number): number;
  div(a: number, b: number): number;
  fma(a: number, b: number, c: number): number;
  sqrt(a: number): number;
}
export const IEEE: F32Ops = {
  add: (a, b) => f(a + b),
  mul: (a, b) => f(a * b),
  div: (a, b) => f(a / b),
  fma: fmaF32Exact,
  sqrt: (a) => f(Math.sqrt(a)),
};
export const FLUSH: F32Ops = {
  add: (a, b) => ftz(f(ftz(a) + ftz(b))),
  mul: (a, b) => ftz(f(ftz(a) * ftz(b))),
  div: (a, b) => ftz(f(ftz(a) / ftz(b))),
  fma: (a, b, c) => ftz(fmaF32Exact(ftz(a), ftz(b), ftz(c))),
  sqrt: (a) => ftz(f(Math.sqrt(ftz(a)))),
};

/** A thread's `acc += v * v` from 0 over its elements, contracted (fma) or not. */
export function squaresChain(values: readonly number[], ops: F32Ops, contracted: boolean): number {
  let acc = 0;
  for (const v of values) acc = contracted ? ops.fma(v, v, acc) : ops.add(acc, ops.mul(v, v));
  return acc;
}

/** aiter 1-stage epilogue (custom_all_reduce.cuh:1599-1640): thread t owns [8t, 8t+8), threads
 *  padded to 32, xor butterfly 16..1 per 32 lanes, lane 0 of each group to shared, then an xor
 *  butterfly over next_pow2(groups) with zeros; `padded` false drops a partial last group
 *  (block_size / 32 rounds down, :1606). */
export function sumsqAiterEpilogue(x: readonly number[], ops: F32Ops, padded: boolean, contracted: boolean): number {
  const threads = x.length / 8;
  const laneCount = padded ? Math.ceil(threads / 32) * 32 : threads;
  const lanes = Array.from({ length: laneCount }, (_, t) => (t < threads ? squaresChain(x.slice(8 * t, 8 * t + 8), ops, contracted) : 0));
  const xorButterflyLane0 = (v: number[]): number => {
    let cur = v.slice();
    for (let s = v.length / 2; s >= 1; s /= 2) cur = cur.map((a, i) => ops.add(a, cur[i ^ s]));
    return cur[0];
  };
  const warps: number[] = [];
  for (let w = 0; w < Math.floor(lanes.length / 32); w++) warps.push(xorButterflyLane0(lanes.slice(32 * w, 32 * w + 32)));
  let width = 1;
  while (width < warps.length) width *= 2;
  while (warps.length < width) warps.push(0);
  return xorButterflyLane0(warps);
}

/** aiter local_device_load_rmsnorm (custom_all_reduce.cuh:1478-1497, 998-1008, 1342-1366): thread
 *  t takes packs t, t+tnum, ...; each pack's products p0..p7 are chained from p0 (packReduce) and
 *  added to the thread's square_sum from 0; smemReduceSum: s[t] += s[t + stride] for
 *  stride tnum/2 .. 1, result s[0]. */
export function sumsqAiterSmemHalving(x: readonly number[], tnum: number, ops: F32Ops, contracted: boolean): number {
  const packs = x.length / 8;
  const s = Array.from({ length: tnum }, (_, t) => {
    let square = 0;
    for (let p = t; p < packs; p += tnum) {
      const pack = x.slice(8 * p, 8 * p + 8);
      // Contracted across statements (HIP fast-honor-pragmas), each later product fuses into the chain.
      let chain = ops.mul(pack[0], pack[0]);
      for (let i = 1; i < 8; i++) chain = contracted ? ops.fma(pack[i], pack[i], chain) : ops.add(chain, ops.mul(pack[i], pack[i]));
      square = ops.add(square, chain);
    }
    return square;
  });
  for (let stride = tnum / 2; stride >= 1; stride /= 2) for (let t = 0; t < stride; t++) s[t] = ops.add(s[t], s[t + stride]);
  return s[0];
}

/** aiter add_rmsnorm_quant (rmsnorm_quant_kernels.cu:141-149, hip_reduce.h:256-443), contiguous
 *  layout: thread t holds [t*per, (t+1)*per) (0 past H), `square_sum += x*x` contracted under
 *  -ffast-math; DPP wave reduce and block_reduce: the adjacent pairwise tree over all threads. */
export function sumsqAiterDpp(x: readonly number[], blockSize: number, perThread: number, ops: F32Ops): number {
  let level = Array.from({ length: blockSize }, (_, t) =>
    squaresChain(
      Array.from({ length: perThread }, (_, k) => x[t * perThread + k] ?? 0),
      ops,
      true,
    ),
  );
  while (level.length > 1) {
    const next: number[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(ops.add(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

/** FlashInfer rms_norm on SM90+ (trtllm_allreduce_fusion.cuh:1277-1300, 424-459) with the launcher's
 *  geometry (:1683-1765): blocks of `tpb` threads, thread t of block b owns 8 elements from
 *  (b*tpb + t)*8, `acc += v*v` contracted (--fmad), blockReduceSumV2 per block, then thread 0 sums
 *  the block partials from 0 in block order. */
export function sumsqFlashinferCluster(x: readonly number[], clusterSize: number, ops: F32Ops): number {
  const tpb = x.length / 8 / clusterSize;
  const xorButterflyLane0 = (v: number[]): number => {
    let cur = v.slice();
    for (let s = v.length / 2; s >= 1; s /= 2) cur = cur.map((a, i) => ops.add(a, cur[i ^ s]));
    return cur[0];
  };
  let total = 0;
  for (let b = 0; b < clusterSize; b++) {
    const lanes = Array.from({ length: Math.ceil(tpb / 32) * 32 }, (_, t) =>
      t < tpb ? squaresChain(x.slice((b * tpb + t) * 8, (b * tpb + t) * 8 + 8), ops, true) : 0,
    );
    const warps: number[] = [];
    for (let w = 0; w < lanes.length / 32; w++) warps.push(xorButterflyLane0(lanes.slice(32 * w, 32 * w + 32)));
    while (warps.length < 32) warps.push(0);
    total = ops.add(total, xorButterflyLane0(warps));
  }
  return total;
}

/** The FlashInfer launcher's cluster size (trtllm_allreduce_fusion.cuh:1703-1744) for H, the
 *  cluster count, the SM count and the largest block the registers allow. */
export function flashinferClusterSize(hidden: number, clusters: number, smCount: number, maxThreads: number): number {
  const threadsPerToken = hidden / 8;
  let cluster = 8;
  while (threadsPerToken % cluster !== 0 && cluster > 1) cluster /= 2;
  let tpb = threadsPerToken / cluster;
  while (tpb < 128 && cluster >= 2) {
    tpb *= 2;
    cluster /= 2;
  }
  while (clusters * cluster > smCount && cluster > 1 && tpb <= maxThreads / 2) {
    tpb *= 2;
    cluster /= 2;
  }
  return cluster;
}

/** vLLM fused_add_rms_norm width 8 (layernorm_kernels.cu:132-143, type_convert.cuh:176-183):
 *  thread t takes vectors t, t+B, ...; each vector's pairs summed from 0 (`result += x0*x0 +
 *  x1*x1`), added to the thread's variance; cub: shuffle-down pairwise tree per warp
 *  of 32, thread 0 adds the warp sums in order. */
export function sumsqVllmVectorised(x: readonly number[], block: number, ops: F32Ops, contracted: boolean): number {
  const vectors = x.length / 8;
  const lanes = Array.from({ length: Math.ceil(block / 32) * 32 }, (_, t) => {
    let variance = 0;
    if (t < block) {
      for (let v = t; v < vectors; v += block) {
        let result = 0;
        for (let i = 0; i < 8; i += 2) {
          const x0 = x[8 * v + i];
          const x1 = x[8 * v + i + 1];
          // nvcc 13 -O3 sm_90 PTX: mul.f32 x1*x1; fma.rn.f32 x0*x0 + that; add.f32.
          result = ops.add(result, contracted ? ops.fma(x0, x0, ops.mul(x1, x1)) : ops.add(ops.mul(x0, x0), ops.mul(x1, x1)));
        }
        variance = ops.add(variance, result);
      }
    }
    return variance;
  });
  let total = 0;
  for (let w = 0; w < lanes.length / 32; w++) {
    const v = lanes.slice(32 * w, 32 * w + 32);
    for (let off = 1; off < 32; off *= 2) for (let i = 0; i + off < 32; i += 2 * off) v[i] = ops.add(v[i], v[i + off]);
    total = w === 0 ? v[0] : ops.add(total, v[0]);
  }
  return total;
}

/** vLLM rms_norm (layernorm_kernels.cu:54-70): thread t takes 8-vectors t, t+B, ... with
 *  B = min(H/8, tokens < 256 ? 1024 : 256), a flat `variance += x*x` (contracted by --fmad); cub:
 *  shuffle-down pairwise tree per warp, thread 0 adds the warp sums in order. */
export function sumsqVllmFlat(x: readonly number[], tokens: number, ops: F32Ops): number {
  const vectors = x.length / 8;
  const block = Math.min(vectors, tokens < 256 ? 1024 : 256);
  const lanes = Array.from({ length: Math.ceil(block / 32) * 32 }, (_, t) => {
    const mine: number[] = [];
    if (t < block) for (let v = t; v < vectors; v += block) mine.push(...x.slice(8 * v, 8 * v + 8));
    return squaresChain(mine, ops, true);
  });
  let total = 0;
  for (let w = 0; w < lanes.length / 32; w++) {
    const v = lanes.slice(32 * w, 32 * w + 32);
    for (let off = 1; off < 32; off *= 2) for (let i = 0; i + off < 32; i += 2 * off) v[i] = ops.add(v[i], v[i + off]);
    total = w === 0 ? v[0] : ops.add(total, v[0]);
  }
  return total;
}

/** FlashInfer's UE8M0 round up (trtllm_allreduce_fusion.cuh:1184-1188): a non-zero mantissa
 *  bumps the exponent and clears the mantissa. */
export function ue8m0RoundUpBits(v: number): number {
  const b = bitsOf(v);
  return (b & 0x7fffff) !== 0 ? ((b + 0x800000) & 0x7f800000) >>> 0 : b >>> 0;
}
export { bitsOf as f32BitsOf, valueOf as f32ValueOf };

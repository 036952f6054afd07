// Each preset transcribed straight from the arithmetic its source describes (NUMERICS.md
// section 4 and the preset's one-line source), written without the contract interpreter and
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

export const clampTo = (bound: number) => (v: number): number => Math.min(Math.max(v, -bound), bound);
export { f };

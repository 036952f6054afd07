import { getPreset } from '../../src/contracts/presets.js';
import type { Contract, Shape } from '../../src/contracts/schema.js';
import { parseContract } from '../../src/contracts/validate.js';
import type { CaseInputs } from '../../src/engines/io.js';

// The rows on which the CPU engine and the WebGPU simulator gave different NaN bits before the
// CPU arithmetic followed the soft-float's NaN rule (src/numerics/f32ops.ts), with every output
// derived by hand from that rule: an invalid operation on non-NaN operands gives 0x7fc00000, a
// NaN operand gives the first NaN operand, quieted (src/softfloat/specialize.ts). Each row has a
// NaN-free tail of ones, so exactly one NaN enters the sum of squares and it reaches every
// element through rstd whatever the tree's order.

const ONE = 0x3f80;
const HIDDEN = 8;
export const NAN_SHAPE: Shape = { ranks: 2, tokens: 6, hidden: HIDDEN };

/** aiter-1stage-quant (e4m3fn, scale = amax / 448, no amax floor, x * rstd * w) with groups of 4
 *  and no zero-amax rule, so that an all-zero group has scale 0 and quantizes 0 / 0. */
export function nanContract(subnormals: 'keep' | 'flush'): Contract {
  const base = getPreset('aiter-1stage-quant').contract;
  return parseContract({ ...base, f32Subnormals: subnormals, quant: { ...base.quant!, groupSize: 4, zeroAmaxScaleOne: false } });
}

/** Per row: element 0 of rank 0 and rank 1 (bf16 bits) and the tail of rank 0 (rank 1's is 0), then
 *  the row's outputs: residual and norm at element 0 and over the tail, one code for the row. */
const ROWS: readonly { rank0: number; rank1: number; residual: number; norm: number; normTail: number; q: number; tail: number }[] = [
  // All-zero row: rstd = 1/sqrt(eps), every normed value 0, amax 0, scale 0, every code 0/0.
  { rank0: 0, rank1: 0, residual: 0, norm: 0, normTail: 0, q: 0x7f, tail: 0 },
  // +Inf: sumsq Inf, rstd 1/sqrt(Inf) = 0, Inf * 0 the default NaN; 1 * 0 = 0; the codes 0/0 and NaN/0.
  { rank0: 0x7f80, rank1: 0, residual: 0x7f80, norm: 0x7fc0, normTail: 0, q: 0x7f, tail: ONE },
  // Inf + -Inf in the all-reduce: the default NaN, then through rstd to every element.
  { rank0: 0x7f80, rank1: 0xff80, residual: 0x7fc0, norm: 0x7fc0, normTail: 0x7fc0, q: 0x7f, tail: ONE },
  // A negative quiet NaN input: its sign and payload reach every output.
  { rank0: 0xffc1, rank1: 0, residual: 0xffc1, norm: 0xffc1, normTail: 0xffc1, q: 0xff, tail: ONE },
  // A signalling NaN as the second operand: quieted (0x7fa1 -> 0x7fe1).
  { rank0: ONE, rank1: 0x7fa1, residual: 0x7fe1, norm: 0x7fe1, normTail: 0x7fe1, q: 0x7f, tail: ONE },
  // Two NaNs of opposite signs: the first operand's, quieted (x86 picks the second, 0xffc3).
  { rank0: 0x7fa1, rank1: 0xffc3, residual: 0x7fe1, norm: 0x7fe1, normTail: 0x7fe1, q: 0x7f, tail: ONE },
];

export function nanInputs(): CaseInputs {
  const rank = (first: (row: (typeof ROWS)[number]) => number, tail: (row: (typeof ROWS)[number]) => number): Uint16Array =>
    Uint16Array.from({ length: ROWS.length * HIDDEN }, (_, i) => (i % HIDDEN === 0 ? first : tail)(ROWS[Math.floor(i / HIDDEN)]));
  const shape = [ROWS.length, HIDDEN];
  return {
    rankInputs: [
      {
        dtype: 'BF16',
        shape,
        data: rank(
          (r) => r.rank0,
          (r) => r.tail,
        ),
      },
      {
        dtype: 'BF16',
        shape,
        data: rank(
          (r) => r.rank1,
          () => 0,
        ),
      },
    ],
    residual: { dtype: 'BF16', shape, data: new Uint16Array(ROWS.length * HIDDEN) },
    weight: { dtype: 'BF16', shape: [HIDDEN], data: new Uint16Array(HIDDEN).fill(ONE) },
  };
}

/** The hand-derived outputs, row-major: residual and norm, the codes, and every scale 0 (the amax
 *  skips NaNs as fmaxf does, so every group's amax is 0). */
export function nanExpected(): Map<string, number[]> {
  const perRow = (value: (row: (typeof ROWS)[number], h: number) => number): number[] =>
    ROWS.flatMap((row) => Array.from({ length: HIDDEN }, (_, h) => value(row, h)));
  return new Map([
    ['out.residual', perRow((row, h) => (h === 0 ? row.residual : row.tail))],
    ['out.norm', perRow((row, h) => (h === 0 ? row.norm : row.normTail))],
    ['out.q', perRow((row) => row.q)],
    ['out.scale', Array.from({ length: ROWS.length * 2 }, () => 0)],
  ]);
}

import { f32_mul } from '../../softfloat/f32_mul.js';
import { f32FromBits } from '../f32.js';
import { sm90RcpApproxFtz } from './sm90.js';

// sm_90's `div.full.f32` and `div.full.ftz.f32`, step by step as ptxas 13.0 compiles them
// (cuobjdump -sass of gpu/approx_measure.cu, div_list_kernel, on sm_90; gpu/MEASUREMENTS.md
// quotes the sequence):
//
//   non-ftz:  big = |b| > 2^126                      FSETP.GT  |b|, 8.507059e+37
//             b' = big ? b * 0.25 : b                FMUL + FSEL
//             a' = big ? a * 0.25 : a                FMUL + FSEL
//             if !(|b| >= 2^-126):                   FSETP.GEU |b|, 1.175494e-38 (false for 0 and subnormals, true for NaN)
//                 b' = b' * 2^24; a' = a' * 2^24     FMUL x2
//             q = a' * MUFU.RCP(b')                  MUFU.RCP, FMUL (round to nearest, subnormals kept)
//
//   ftz:      the same without the 2^24 step, every multiply FMUL.FTZ (subnormal inputs and
//             results flushed to sign-preserving zero).
//
// MUFU.RCP is the bare instruction: it flushes subnormal inputs and results, i.e. it is
// rcp.approx.ftz.f32 (the PTX rcp.approx.f32 adds a range reduction around it), which is what
// sm90RcpApproxFtz reproduces from the measured table.

const TWO_POW_MINUS_2 = 0x3e800000; // 0.25
const TWO_POW_24 = 0x4b800000; // 16777216
const TWO_POW_126 = 0x7e800000; // |b| > this: scale both operands by 1/4
const MIN_NORMAL = 0x00800000;

function isNanBits(b: number): boolean {
  return (b & 0x7fffffff) > 0x7f800000;
}

/**
 * FMUL.FTZ: subnormal operands read as signed zeros; the product is rounded to 24 bits as if
 * the exponent were unbounded, and flushed to a signed zero when that is below 2^-126
 * (tininess after rounding). Measured: 0x3fffffff / 0x7f000000 (product exactly
 * (2^24-1) * 2^-150) gives +0, while 0x00800001 / 0x3f800001 (product just below 2^-126,
 * rounding up to it) gives 0x00800000.
 */
function mulFtz(a: number, b: number): number {
  const fa = ((a & 0x7fffffff) < MIN_NORMAL ? a & 0x80000000 : a) >>> 0;
  const fb = ((b & 0x7fffffff) < MIN_NORMAL ? b & 0x80000000 : b) >>> 0;
  const r = f32_mul(fa, fb, 'keep') >>> 0;
  const exact = Math.abs(f32FromBits(fa) * f32FromBits(fb)); // exact in f64: 48 significant bits
  // 24-bit rounding with an unbounded exponent: scale into f32's normal range, round, compare
  const rounded = Math.fround(exact * 2 ** 100);
  return rounded < 2 ** -26 && exact !== 0 ? (r & 0x80000000) >>> 0 : r;
}

/** sm_90 div.full.f32: a / b with at most 2 ULP of error over the full range (PTX ISA). */
export function sm90DivFull(aBits: number, bBits: number): number {
  const a = aBits >>> 0;
  const b = bBits >>> 0;
  const magB = b & 0x7fffffff;
  const big = !isNanBits(b) && magB > TWO_POW_126;
  let bs = big ? f32_mul(b, TWO_POW_MINUS_2, 'keep') >>> 0 : b;
  let as = big ? f32_mul(a, TWO_POW_MINUS_2, 'keep') >>> 0 : a;
  const small = !isNanBits(b) && magB < MIN_NORMAL;
  if (small) {
    bs = f32_mul(bs, TWO_POW_24, 'keep') >>> 0;
    as = f32_mul(as, TWO_POW_24, 'keep') >>> 0;
  }
  return f32_mul(as, sm90RcpApproxFtz(bs), 'keep') >>> 0;
}

/** sm_90 div.full.ftz.f32. */
export function sm90DivFullFtz(aBits: number, bBits: number): number {
  const a = aBits >>> 0;
  const b = bBits >>> 0;
  const fb = (b & 0x7fffffff) < MIN_NORMAL ? (b & 0x80000000) >>> 0 : b;
  const big = !isNanBits(fb) && (fb & 0x7fffffff) > TWO_POW_126;
  const bs = big ? mulFtz(b, TWO_POW_MINUS_2) : b;
  const as = big ? mulFtz(a, TWO_POW_MINUS_2) : a;
  return mulFtz(sm90RcpApproxFtz(bs), as);
}

import { f32_mul } from '../../softfloat/f32_mul.js';
import { isNaNF32UI } from '../../softfloat/internals.js';
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
// The kernels' own div.full (hip/kernels/row_math.h divideSlot, nvcc 13.0, sm_90) compiles to the
// same sequence, with predicated FMULs for the FSELs (hip/tests/sm90_slots_sass.py checks it).
//
// MUFU.RCP is the bare instruction: it flushes subnormal inputs and results, i.e. it is
// rcp.approx.ftz.f32 (the PTX rcp.approx.f32 adds a range reduction around it), which is what
// sm90RcpApproxFtz reproduces from the measured table.

// Every function below reads statement for statement beside its WGSL twin
// (shaders/numerics/hardware/sm90Div.wgsl): the soft-float's f32_mul and integers only.

const SM90_TWO_POW_MINUS_2 = 0x3e800000; // 0.25
const SM90_TWO_POW_24 = 0x4b800000; // 16777216
const SM90_TWO_POW_126 = 0x7e800000; // |b| > this: scale both operands by 1/4
const SM90_TWO_POW_MINUS_102 = 0x0c800000; // 2^-126 * 2^24
const SM90_DIV_MIN_NORMAL = 0x00800000;
const SM90_DIV_SIGN = 0x80000000;

/** FTZ's operand rule: a subnormal reads as a zero of its sign. */
function sm90FlushSubnormal(x: number): number {
  return (x & 0x7fffffff) < SM90_DIV_MIN_NORMAL ? (x & SM90_DIV_SIGN) >>> 0 : x;
}

/**
 * FMUL.FTZ: subnormal operands read as signed zeros; the product is rounded to 24 bits as if
 * the exponent were unbounded, and flushed to a signed zero when that is below 2^-126
 * (tininess after rounding). Measured: 0x3fffffff / 0x7f000000 (product exactly
 * (2^24-1) * 2^-150) gives +0, while 0x00800001 / 0x3f800001 (product just below 2^-126,
 * rounding up to it) gives 0x00800000. The soft-float's product rounds on the subnormal grid,
 * which agrees except where it lands exactly on 2^-126: there the product is recomputed 2^24
 * times larger, in the normal range, where the 24-bit rounding is the unbounded one. The
 * smaller operand is the one scaled: it is below 2^-62, so the scaling is exact.
 */
function sm90MulFtz(a: number, b: number): number {
  const fa = sm90FlushSubnormal(a);
  const fb = sm90FlushSubnormal(b);
  const product = f32_mul(fa, fb, 'keep');
  const mag = product & 0x7fffffff;
  if (mag > SM90_DIV_MIN_NORMAL) return product;
  if (mag < SM90_DIV_MIN_NORMAL) return (product & SM90_DIV_SIGN) >>> 0;
  const aSmaller = (fa & 0x7fffffff) < (fb & 0x7fffffff);
  const scaled = f32_mul(aSmaller ? fa : fb, SM90_TWO_POW_24, 'keep');
  const onGrid = f32_mul(scaled, aSmaller ? fb : fa, 'keep');
  return (onGrid & 0x7fffffff) >= SM90_TWO_POW_MINUS_102 ? product : (product & SM90_DIV_SIGN) >>> 0;
}

function sm90DivFullBits(a: number, b: number): number {
  const magB = b & 0x7fffffff;
  const big = !isNaNF32UI(b) && magB > SM90_TWO_POW_126;
  let bScaled = big ? f32_mul(b, SM90_TWO_POW_MINUS_2, 'keep') : b;
  let aScaled = big ? f32_mul(a, SM90_TWO_POW_MINUS_2, 'keep') : a;
  const small = !isNaNF32UI(b) && magB < SM90_DIV_MIN_NORMAL;
  if (small) {
    bScaled = f32_mul(bScaled, SM90_TWO_POW_24, 'keep');
    aScaled = f32_mul(aScaled, SM90_TWO_POW_24, 'keep');
  }
  return f32_mul(aScaled, sm90RcpApproxFtz(bScaled), 'keep');
}

function sm90DivFullFtzBits(a: number, b: number): number {
  const fb = sm90FlushSubnormal(b);
  const big = !isNaNF32UI(fb) && (fb & 0x7fffffff) > SM90_TWO_POW_126;
  const bScaled = big ? sm90MulFtz(b, SM90_TWO_POW_MINUS_2) : b;
  const aScaled = big ? sm90MulFtz(a, SM90_TWO_POW_MINUS_2) : a;
  return sm90MulFtz(sm90RcpApproxFtz(bScaled), aScaled);
}

/** sm_90 div.full.f32: a / b with at most 2 ULP of error over the full range (PTX ISA). */
export function sm90DivFull(aBits: number, bBits: number): number {
  return sm90DivFullBits(aBits >>> 0, bBits >>> 0);
}

/** sm_90 div.full.ftz.f32. */
export function sm90DivFullFtz(aBits: number, bBits: number): number {
  return sm90DivFullFtzBits(aBits >>> 0, bBits >>> 0);
}

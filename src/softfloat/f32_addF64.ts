import { F32_SPECIALIZATION } from './specialize.js';
import { expF32UI, fracF32UI, isNaNF32UI, operandF32UI, signF32UI, type F32Subnormals, type U64 } from './internals.js';
import { s_add64 } from './s_add64.js';
import { s_countLeadingZeros64 } from './s_countLeadingZeros64.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { s_shiftLeft64 } from './s_shiftLeft64.js';
import { s_shiftRightJam64 } from './s_shiftRightJam64.js';

// An f32 plus an f64, added in f64 and converted back: fround32(fround64(a + b)), both roundings
// to nearest even, as aiter add_rmsnorm_quant adds its double epsilon to the f32 variance
// (ROCm/aiter@e4048607 csrc/kernels/rmsnorm_quant_kernels.cu:150; clang: v_cvt_f64_f32,
// v_add_f64, v_cvt_f32_f64). The domain is what that line sees: a >= 0 (or NaN, or +Inf) and b
// a positive finite double; anything else gives the default NaN. Subnormals flush on the f32
// ends only (the operand a and the f32 result), as AMD's f32 denormal mode does.

/** A magnitude as sig * 2^(exp - 1085) with sig's leading 1 at bit 62: the f64 significand's 53
 *  bits are bits 62..10, the 10 bits below it are round and sticky bits. */
interface Wide {
  readonly exp: number;
  readonly sig: U64;
}

/** A nonzero significand worth sig * 2^(exp - 1075), as a Wide: its top bit moved to bit 62. */
function normalised(exp: number, sig: U64): Wide {
  const dist = s_countLeadingZeros64(sig) - 1;
  return { exp: exp + 10 - dist, sig: s_shiftLeft64(sig, dist) };
}

export function f32_addF64(inA: number, bHi: number, bLo: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  if (isNaNF32UI(uiA)) return (uiA | F32_SPECIALIZATION.quietBitF32UI) >>> 0;
  const expB = (bHi >>> 20) & 0x7ff;
  const bZero = expB === 0 && ((bHi & 0x000fffff) | bLo) === 0;
  const bOutside = bHi >>> 31 !== 0 || expB === 0x7ff || bZero;
  if (bOutside || (signF32UI(uiA) !== 0 && (uiA & 0x7fffffff) !== 0)) return F32_SPECIALIZATION.defaultNaNF32UI;
  const expA = expF32UI(uiA);
  if (expA === 0xff) return uiA;
  // b in the wide frame: an f64 significand has its implicit 1 at bit 52, value sig * 2^(exp - 1075).
  const fracB: U64 = { hi: (bHi & 0x000fffff) | (expB !== 0 ? 0x00100000 : 0), lo: bLo };
  let sum = normalised(Math.max(expB, 1), fracB);
  if ((uiA & 0x7fffffff) !== 0) {
    // a: an f32 significand has its implicit 1 at bit 23, value sig * 2^(exp - 150) = sig * 2^(exp + 925 - 1075).
    const a = normalised(Math.max(expA, 1) + 925, { hi: 0, lo: fracF32UI(uiA) | (expA !== 0 ? 0x00800000 : 0) });
    const [big, small] = a.exp >= sum.exp ? [a, sum] : [sum, a];
    let exp = big.exp;
    let sig = s_add64(big.sig, s_shiftRightJam64(small.sig, big.exp - small.exp));
    if (sig.hi >>> 31 !== 0) {
      sig = s_shiftRightJam64(sig, 1);
      exp += 1;
    }
    // Round to the f64's 53 bits, to nearest even (a nonzero a keeps the sum in the normal range).
    const roundBits = sig.lo & 0x3ff;
    sig = s_add64(sig, { hi: 0, lo: 0x200 });
    sig = { hi: sig.hi, lo: (sig.lo & (roundBits === 0x200 ? ~0x7ff : ~0x3ff)) >>> 0 };
    if (sig.hi >>> 31 !== 0) {
      sig = s_shiftRightJam64(sig, 1);
      exp += 1;
    }
    sum = { exp, sig };
  }
  // To f32: the top 31 bits with a sticky bit, leading 1 at bit 30, value s * 2^(exp - 1053).
  return s_roundPackToF32(0, sum.exp - 897, s_shiftRightJam64(sum.sig, 32).lo, subnormals);
}

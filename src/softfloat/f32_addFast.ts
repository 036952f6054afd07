import { expF32UI, fracF32UI, isNaNF32UI, operandF32UI, signF32UI, type F32Subnormals } from './internals.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { s_shiftRightJam32 } from './s_shiftRightJam32.js';
import { F32_SPECIALIZATION } from './specialize.js';

/**
 * f32_add's bits on one straight path for every pair of operands, so that a GPU wave whose lanes
 * differ in sign runs one path instead of both s_addMagsF32 and s_subMagsF32, and a CPU adapter
 * (which runs every branch under a mask) runs no fallback: the all-reduce's adds. The larger
 * magnitude X keeps its hidden bit at 30 (7 bits below the result's last bit; a subnormal has
 * exponent 1 and no hidden bit, as in s_addMagsF32); Y is shifted right by the exponent
 * difference with a sticky bit; X + Y or X - Y is then exact up to that sticky bit (a shift of 1
 * drops only Y's zero low bits; at 2 or more the difference keeps its leading 1 at bit 29 or 30),
 * so s_roundPackToF32 rounds it correctly, as f32_add does. Zero sums, Inf and NaN are chosen
 * last, as s_addMagsF32 and s_subMagsF32 return them.
 */
export function f32_addFast(inA: number, inB: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  const uiB = operandF32UI(inB, subnormals);
  const swap = (uiB & 0x7fffffff) > (uiA & 0x7fffffff);
  const uiX = swap ? uiB : uiA;
  const uiY = swap ? uiA : uiB;
  const expX = expF32UI(uiX);
  const expY = expF32UI(uiY);
  const sigX = ((fracF32UI(uiX) | (expX !== 0 ? 0x00800000 : 0)) << 7) >>> 0;
  const sigY = s_shiftRightJam32(((fracF32UI(uiY) | (expY !== 0 ? 0x00800000 : 0)) << 7) >>> 0, Math.max(expX, 1) - Math.max(expY, 1));
  const sameSign = signF32UI(uiA) === signF32UI(uiB);
  const sum = (sameSign ? sigX + sigY : sigX - sigY) >>> 0;
  // Leading 1 to bit 30: a carry into bit 31 moves down one place (its bit 0 kept as sticky), a cancellation up.
  const leadingZeros = Math.clz32(sum);
  const carry = leadingZeros === 0;
  const sigZ = carry ? ((sum >>> 1) | (sum & 1)) >>> 0 : (sum << ((leadingZeros - 1) & 31)) >>> 0;
  const expZ = Math.max(expX, 1) - 1 + (carry ? 1 : 1 - leadingZeros);
  const rounded = s_roundPackToF32(signF32UI(uiX), expZ, sigZ, subnormals);
  // X is Inf or NaN when either operand is; a zero sum is +0 (rounding to nearest) unless both are zeros of one sign.
  const nonFinite = isNaNF32UI(uiA) || isNaNF32UI(uiB) ? s_propagateNaN(uiA, uiB) : expY === 0xff && !sameSign ? F32_SPECIALIZATION.defaultNaNF32UI : uiX;
  const zero = sameSign ? uiA : 0;
  return expX === 0xff ? nonFinite : sum === 0 ? zero : rounded;
}

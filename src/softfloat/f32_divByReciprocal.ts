import { expF32UI, fracF32UI, isNaNF32UI, operandF32UI, packToF32UI, signF32UI, type ExpSig32, type F32Subnormals } from './internals.js';
import { s_mul32To64 } from './s_mul32To64.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { F32_SPECIALIZATION } from './specialize.js';

// f32 division by a divisor shared by many dividends (a quant group's scale), in f32_div's bits
// on one straight path: the divisor's significand reciprocal is made once
// (f32_divisorReciprocal), then each quotient costs one 32 x 32 -> 64 multiply and two
// conditional corrections instead of f32_div's 31 one-bit steps. Zeros, Inf and NaN are chosen
// last, as f32_div returns them, so neither a GPU wave nor a CPU adapter (which runs every
// branch under a mask) runs a second path.

/** The significand with its leading 1 at bit 23 and the exponent that keeps the value, for a
 *  normal or subnormal operand alike (s_normSubnormalF32Sig's shift, or 0 and the hidden bit). */
function normF32Sig(ui: number): ExpSig32 {
  const exp = expF32UI(ui);
  const shiftDist = exp === 0 ? Math.clz32(fracF32UI(ui)) - 8 : 0;
  return { exp: exp === 0 ? 1 - shiftDist : exp, sig: ((fracF32UI(ui) | (exp !== 0 ? 0x00800000 : 0)) << (shiftDist & 31)) >>> 0 };
}

/**
 * floor(2^54 / sigB), sigB the divisor's normalised significand ([2^23, 2^24)), so in
 * (2^30, 2^31]: restoring division of 2^23 * 2^31, the remainder below 2 * sigB < 2^25. For a
 * zero, Inf or NaN divisor the value is never used (f32_divByReciprocal chooses the special).
 */
export function f32_divisorReciprocal(inB: number, subnormals: F32Subnormals): number {
  const sigB = normF32Sig(operandF32UI(inB, subnormals)).sig;
  let rem = 0x00800000;
  let reciprocal = 0;
  for (let i = 0; i < 32; i++) {
    const fits = rem >= sigB;
    reciprocal = ((reciprocal << 1) | (fits ? 1 : 0)) >>> 0;
    rem = ((fits ? rem - sigB : rem) << 1) >>> 0;
  }
  return reciprocal;
}

/**
 * f32_div(a, b) given reciprocal = f32_divisorReciprocal(b). It forms f32_div's quotient
 * sigZ = floor(sigA * 2^30 / sigB) (sigA scaled into [sigB, 2 * sigB)) and its sticky bit from the
 * reciprocal: with reciprocal = 2^54 / sigB - d (0 <= d < 1) and sigA < 2^25,
 * floor(sigA * reciprocal / 2^24) is sigZ, sigZ - 1 or sigZ - 2, so the remainder
 * sigA * 2^30 - estimate * sigB lies in [0, 3 * sigB) and is exact modulo 2^32; two conditional
 * subtractions of sigB leave sigZ and the true remainder, and the same s_roundPackToF32 call as
 * f32_div's rounds them.
 */
export function f32_divByReciprocal(inA: number, inB: number, reciprocal: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  const uiB = operandF32UI(inB, subnormals);
  const signZ = signF32UI(uiA) ^ signF32UI(uiB);
  const normA = normF32Sig(uiA);
  const normB = normF32Sig(uiB);
  const scaleUp = normA.sig < normB.sig;
  const expZ = normA.exp - normB.exp + 0x7e - (scaleUp ? 1 : 0);
  const sigA = (normA.sig << (scaleUp ? 1 : 0)) >>> 0;
  const sigB = normB.sig;
  const product = s_mul32To64(sigA, reciprocal);
  const estimate = ((product.hi << 8) | (product.lo >>> 24)) >>> 0;
  const rem0 = ((sigA << 30) - Math.imul(estimate, sigB)) >>> 0;
  const rem1 = rem0 >= sigB ? rem0 - sigB : rem0;
  const rem2 = rem1 >= sigB ? rem1 - sigB : rem1;
  const sigZ = (estimate + (rem0 >= sigB ? 1 : 0) + (rem1 >= sigB ? 1 : 0)) >>> 0;
  const quotient = s_roundPackToF32(signZ, expZ, (sigZ | (rem2 !== 0 ? 1 : 0)) >>> 0, subnormals);
  // f32_div's specials: NaN first, then Inf / Inf and 0 / 0, then Inf or x / 0, then 0 or x / Inf.
  const infA = (uiA & 0x7fffffff) === 0x7f800000;
  const infB = (uiB & 0x7fffffff) === 0x7f800000;
  const zeroA = (uiA & 0x7fffffff) === 0;
  const zeroB = (uiB & 0x7fffffff) === 0;
  const special =
    isNaNF32UI(uiA) || isNaNF32UI(uiB)
      ? s_propagateNaN(uiA, uiB)
      : (infA && infB) || (zeroA && zeroB)
        ? F32_SPECIALIZATION.defaultNaNF32UI
        : infA || zeroB
          ? packToF32UI(signZ, 0xff, 0)
          : packToF32UI(signZ, 0, 0);
  return expF32UI(uiA) === 0xff || expF32UI(uiB) === 0xff || zeroA || zeroB ? special : quotient;
}

/** f32_div(a, b) by way of the divisor's reciprocal: the pair above as one binary op, which the
 *  conformance suites and tests run beside f32_div. */
export function f32_divViaReciprocal(inA: number, inB: number, subnormals: F32Subnormals): number {
  return f32_divByReciprocal(inA, inB, f32_divisorReciprocal(inB, subnormals), subnormals);
}

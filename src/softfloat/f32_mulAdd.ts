import { expF32UI, type F32Subnormals, fracF32UI, isNaNF32UI, operandF32UI, packToF32UI, signF32UI, type U64 } from './internals.js';
import { s_add64 } from './s_add64.js';
import { s_countLeadingZeros64 } from './s_countLeadingZeros64.js';
import { s_mul32To64 } from './s_mul32To64.js';
import { s_normSubnormalF32Sig } from './s_normSubnormalF32Sig.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { s_shiftRightJam64 } from './s_shiftRightJam64.js';
import { s_shortShiftLeft64 } from './s_shortShiftLeft64.js';
import { s_sub64 } from './s_sub64.js';
import { F32_SPECIALIZATION } from './specialize.js';

/** Fused multiply-add a * b + c on bit patterns: the exact result, rounded once to nearest even. */
export function f32_mulAdd(inA: number, inB: number, inC: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  const uiB = operandF32UI(inB, subnormals);
  const uiC = operandF32UI(inC, subnormals);
  let expA = expF32UI(uiA);
  let sigA = fracF32UI(uiA);
  let expB = expF32UI(uiB);
  let sigB = fracF32UI(uiB);
  const signC = signF32UI(uiC);
  let expC = expF32UI(uiC);
  let sigC = fracF32UI(uiC);
  const signProd = signF32UI(uiA) ^ signF32UI(uiB);

  if (isNaNF32UI(uiA) || isNaNF32UI(uiB)) return s_propagateNaN(uiA, uiB);
  if (isNaNF32UI(uiC)) return s_propagateNaN(uiC, 0);
  if (expA === 0xff || expB === 0xff) {
    if ((uiA & 0x7fffffff) === 0 || (uiB & 0x7fffffff) === 0) return F32_SPECIALIZATION.defaultNaNF32UI; // Inf * 0
    if (expC === 0xff && signC !== signProd) return F32_SPECIALIZATION.defaultNaNF32UI; // Inf - Inf
    return packToF32UI(signProd, 0xff, 0);
  }
  if (expC === 0xff) return uiC;

  if ((expA === 0 && sigA === 0) || (expB === 0 && sigB === 0)) {
    // A zero product adds exactly; opposite-signed zeros sum to +0 when rounding to nearest.
    if ((uiC & 0x7fffffff) === 0 && signC !== signProd) return packToF32UI(0, 0, 0);
    return uiC;
  }
  if (expA === 0) {
    const normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }
  if (expB === 0) {
    const normB = s_normSubnormalF32Sig(sigB);
    expB = normB.exp;
    sigB = normB.sig;
  }

  // The exact product, 64 bits with its leading 1 at bit 61: the top word lines up with a
  // 32-bit significand whose leading 1 is at bit 29.
  let expProd = expA + expB - 0x7e;
  let sigProd = s_mul32To64(((sigA | 0x00800000) << 7) >>> 0, ((sigB | 0x00800000) << 7) >>> 0);
  if (sigProd.hi < 0x20000000) {
    expProd -= 1;
    sigProd = s_shortShiftLeft64(sigProd, 1);
  }
  let signZ = signProd;
  if (expC === 0) {
    if (sigC === 0) return s_roundPackToF32(signZ, expProd - 1, s_shiftRightJam64(sigProd, 31).lo, subnormals);
    const normC = s_normSubnormalF32Sig(sigC);
    expC = normC.exp;
    sigC = normC.sig;
  }
  sigC = ((sigC | 0x00800000) << 6) >>> 0;
  const expDiff = expProd - expC;
  let expZ: number;
  let sigZ: number;

  if (signProd === signC) {
    if (expDiff <= 0) {
      expZ = expC;
      sigZ = (sigC + s_shiftRightJam64(sigProd, 32 - expDiff).lo) >>> 0;
    } else {
      expZ = expProd;
      const sig64Z = s_add64(sigProd, s_shiftRightJam64({ hi: sigC, lo: 0 }, expDiff));
      sigZ = (sig64Z.hi | (sig64Z.lo !== 0 ? 1 : 0)) >>> 0;
    }
    if (sigZ < 0x40000000) {
      expZ -= 1;
      sigZ = (sigZ << 1) >>> 0;
    }
  } else {
    const sig64C: U64 = { hi: sigC, lo: 0 };
    let sig64Z: U64;
    if (expDiff < 0) {
      signZ = signC;
      expZ = expC;
      sig64Z = s_sub64(sig64C, s_shiftRightJam64(sigProd, -expDiff));
    } else if (expDiff === 0) {
      expZ = expProd;
      sig64Z = s_sub64(sigProd, sig64C);
      if ((sig64Z.hi | sig64Z.lo) === 0) return packToF32UI(0, 0, 0); // exact cancellation: +0
      if ((sig64Z.hi & 0x80000000) !== 0) {
        signZ ^= 1;
        sig64Z = s_sub64({ hi: 0, lo: 0 }, sig64Z);
      }
    } else {
      expZ = expProd;
      sig64Z = s_sub64(sigProd, s_shiftRightJam64(sig64C, expDiff));
    }
    // Cancellation may leave the leading 1 anywhere: move it to bit 62, then keep the top word.
    const shiftDist = s_countLeadingZeros64(sig64Z) - 1;
    expZ -= shiftDist;
    if (shiftDist < 32) sigZ = s_shiftRightJam64(sig64Z, 32 - shiftDist).lo;
    else sigZ = (sig64Z.lo << (shiftDist - 32)) >>> 0;
  }
  return s_roundPackToF32(signZ, expZ, sigZ, subnormals);
}

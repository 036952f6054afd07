import { expF32UI, fracF32UI, packToF32UI, signF32UI, type F32Subnormals } from './internals.js';
import { s_normRoundPackToF32 } from './s_normRoundPackToF32.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_shiftRightJam32 } from './s_shiftRightJam32.js';
import { F32_SPECIALIZATION } from './specialize.js';

/** a + b for operands of opposite signs (the magnitude of b is subtracted from a). */
export function s_subMagsF32(uiA: number, uiB: number, subnormals: F32Subnormals): number {
  const expA = expF32UI(uiA);
  let sigA = fracF32UI(uiA);
  const expB = expF32UI(uiB);
  let sigB = fracF32UI(uiB);
  let signZ = signF32UI(uiA);
  const expDiff = expA - expB;

  if (expDiff === 0) {
    if (expA === 0xff) {
      if ((sigA | sigB) !== 0) return s_propagateNaN(uiA, uiB);
      return F32_SPECIALIZATION.defaultNaNF32UI; // Inf - Inf
    }
    // Same exponent: the difference is exact.
    let sigDiff = sigA - sigB;
    if (sigDiff === 0) return packToF32UI(0, 0, 0); // exact cancellation is +0 when rounding to nearest
    if (sigDiff < 0) {
      signZ ^= 1;
      sigDiff = -sigDiff;
    }
    const expZ = expA !== 0 ? expA - 1 : 0;
    return s_normRoundPackToF32(signZ, expZ, sigDiff << 7, subnormals);
  }

  // Hidden bit at 30; the larger operand is X, and the result keeps X's sign.
  sigA <<= 7;
  sigB <<= 7;
  let expZ: number;
  let sigX: number;
  let sigY: number;
  let dist: number;
  if (expDiff < 0) {
    signZ ^= 1;
    if (expB === 0xff) {
      if (sigB !== 0) return s_propagateNaN(uiA, uiB);
      return packToF32UI(signZ, 0xff, 0);
    }
    expZ = expB - 1;
    sigX = sigB | 0x40000000;
    sigY = sigA + (expA !== 0 ? 0x40000000 : sigA);
    dist = -expDiff;
  } else {
    if (expA === 0xff) {
      if (sigA !== 0) return s_propagateNaN(uiA, uiB);
      return uiA;
    }
    expZ = expA - 1;
    sigX = sigA | 0x40000000;
    sigY = sigB + (expB !== 0 ? 0x40000000 : sigB);
    dist = expDiff;
  }
  return s_normRoundPackToF32(signZ, expZ, (sigX - s_shiftRightJam32(sigY, dist)) >>> 0, subnormals);
}

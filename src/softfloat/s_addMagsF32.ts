import { expF32UI, fracF32UI, packToF32UI, signF32UI, type F32Subnormals } from './internals.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { s_shiftRightJam32 } from './s_shiftRightJam32.js';

/** a + b for operands of the same sign. */
export function s_addMagsF32(uiA: number, uiB: number, subnormals: F32Subnormals): number {
  const expA = expF32UI(uiA);
  let sigA = fracF32UI(uiA);
  const expB = expF32UI(uiB);
  let sigB = fracF32UI(uiB);
  const signZ = signF32UI(uiA);
  const expDiff = expA - expB;

  if (expDiff === 0) {
    // Two subnormals (or zeros) add exactly; a carry into the exponent field makes a normal.
    if (expA === 0) return (uiA + sigB) >>> 0;
    if (expA === 0xff) {
      if ((sigA | sigB) !== 0) return s_propagateNaN(uiA, uiB);
      return uiA;
    }
    return s_roundPackToF32(signZ, expA, ((0x01000000 + sigA + sigB) << 6) >>> 0, subnormals);
  }

  // Hidden bit at 29; a subnormal doubles its fraction instead (its exponent is 1, not 0).
  sigA <<= 6;
  sigB <<= 6;
  let expZ: number;
  if (expDiff < 0) {
    if (expB === 0xff) {
      if (sigB !== 0) return s_propagateNaN(uiA, uiB);
      return packToF32UI(signZ, 0xff, 0);
    }
    expZ = expB;
    sigA += expA !== 0 ? 0x20000000 : sigA;
    sigA = s_shiftRightJam32(sigA, -expDiff);
  } else {
    if (expA === 0xff) {
      if (sigA !== 0) return s_propagateNaN(uiA, uiB);
      return uiA;
    }
    expZ = expA;
    sigB += expB !== 0 ? 0x20000000 : sigB;
    sigB = s_shiftRightJam32(sigB, expDiff);
  }
  let sigZ = 0x20000000 + sigA + sigB;
  if (sigZ < 0x40000000) {
    expZ -= 1;
    sigZ = (sigZ << 1) >>> 0;
  }
  return s_roundPackToF32(signZ, expZ, sigZ, subnormals);
}

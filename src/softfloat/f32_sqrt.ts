import { expF32UI, type F32Subnormals, fracF32UI, operandF32UI, signF32UI } from './internals.js';
import { s_normSubnormalF32Sig } from './s_normSubnormalF32Sig.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { F32_SPECIALIZATION } from './specialize.js';

/** f32 square root on bit patterns, round to nearest even. */
export function f32_sqrt(inA: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  const signA = signF32UI(uiA);
  let expA = expF32UI(uiA);
  let sigA = fracF32UI(uiA);

  if (expA === 0xff) {
    if (sigA !== 0) return s_propagateNaN(uiA, 0);
    if (signA === 0) return uiA;
    return F32_SPECIALIZATION.defaultNaNF32UI; // sqrt(-Inf)
  }
  if (signA !== 0) {
    if ((expA | sigA) === 0) return uiA; // sqrt(-0) = -0
    return F32_SPECIALIZATION.defaultNaNF32UI;
  }
  if (expA === 0) {
    if (sigA === 0) return uiA;
    const normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }

  // The value is R * 2^(2t) with R = sig << 1 or sig << 2 (by the parity of expA), so that
  // R is in [2^24, 2^26) and sqrt(R) in [2^12, 2^13). The root of R * 2^28 is taken bit by bit
  // (two radicand bits per step); it lands in [2^26, 2^27) and the remainder, at most twice
  // the root, stays below 2^30. A non-zero remainder becomes the sticky bit.
  const expZ = (expA + 125) >> 1;
  let radicandBits = (((sigA | 0x00800000) << (2 - (expA & 1))) << 6) >>> 0;
  let root = 0;
  let rem = 0;
  for (let i = 0; i < 27; i++) {
    rem = ((rem << 2) | (radicandBits >>> 30)) >>> 0;
    radicandBits = (radicandBits << 2) >>> 0;
    const trial = ((root << 2) | 1) >>> 0;
    root = (root << 1) >>> 0;
    if (rem >= trial) {
      rem -= trial;
      root |= 1;
    }
  }
  return s_roundPackToF32(0, expZ, ((root << 4) | (rem !== 0 ? 1 : 0)) >>> 0, subnormals);
}

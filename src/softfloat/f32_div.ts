import { expF32UI, type F32Subnormals, fracF32UI, operandF32UI, packToF32UI, signF32UI } from './internals.js';
import { s_normSubnormalF32Sig } from './s_normSubnormalF32Sig.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { F32_SPECIALIZATION } from './specialize.js';

/** f32 division on bit patterns, round to nearest even. */
export function f32_div(inA: number, inB: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  const uiB = operandF32UI(inB, subnormals);
  let expA = expF32UI(uiA);
  let sigA = fracF32UI(uiA);
  let expB = expF32UI(uiB);
  let sigB = fracF32UI(uiB);
  const signZ = signF32UI(uiA) ^ signF32UI(uiB);

  if (expA === 0xff) {
    if (sigA !== 0) return s_propagateNaN(uiA, uiB);
    if (expB === 0xff) {
      if (sigB !== 0) return s_propagateNaN(uiA, uiB);
      return F32_SPECIALIZATION.defaultNaNF32UI; // Inf / Inf
    }
    return packToF32UI(signZ, 0xff, 0);
  }
  if (expB === 0xff) {
    if (sigB !== 0) return s_propagateNaN(uiA, uiB);
    return packToF32UI(signZ, 0, 0);
  }
  if (expB === 0) {
    if (sigB === 0) {
      if ((expA | sigA) === 0) return F32_SPECIALIZATION.defaultNaNF32UI; // 0 / 0
      return packToF32UI(signZ, 0xff, 0);
    }
    const normB = s_normSubnormalF32Sig(sigB);
    expB = normB.exp;
    sigB = normB.sig;
  }
  if (expA === 0) {
    if (sigA === 0) return packToF32UI(signZ, 0, 0);
    const normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }

  // Scale A so the quotient lies in [1, 2), then divide one bit at a time: the remainder stays
  // below 2 * sigB < 2^25, so 32-bit integers suffice. 31 quotient bits put the leading 1 at
  // bit 30; a non-zero remainder becomes the sticky bit.
  let expZ = expA - expB + 0x7e;
  sigA |= 0x00800000;
  sigB |= 0x00800000;
  if (sigA < sigB) {
    expZ -= 1;
    sigA <<= 1;
  }
  let rem = sigA;
  let sigZ = 0;
  for (let i = 0; i < 31; i++) {
    sigZ = (sigZ << 1) >>> 0;
    if (rem >= sigB) {
      rem -= sigB;
      sigZ |= 1;
    }
    rem <<= 1;
  }
  return s_roundPackToF32(signZ, expZ, (sigZ | (rem !== 0 ? 1 : 0)) >>> 0, subnormals);
}

import { expF32UI, type F32Subnormals, fracF32UI, isNaNF32UI, operandF32UI, packToF32UI, signF32UI } from './internals.js';
import { s_mul32To64 } from './s_mul32To64.js';
import { s_normSubnormalF32Sig } from './s_normSubnormalF32Sig.js';
import { s_propagateNaN } from './s_propagateNaN.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';
import { F32_SPECIALIZATION } from './specialize.js';

/** f32 multiplication on bit patterns, round to nearest even. */
export function f32_mul(inA: number, inB: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  const uiB = operandF32UI(inB, subnormals);
  let expA = expF32UI(uiA);
  let sigA = fracF32UI(uiA);
  let expB = expF32UI(uiB);
  let sigB = fracF32UI(uiB);
  const signZ = signF32UI(uiA) ^ signF32UI(uiB);

  if (expA === 0xff || expB === 0xff) {
    if (isNaNF32UI(uiA) || isNaNF32UI(uiB)) return s_propagateNaN(uiA, uiB);
    if ((uiA & 0x7fffffff) === 0 || (uiB & 0x7fffffff) === 0) return F32_SPECIALIZATION.defaultNaNF32UI; // Inf * 0
    return packToF32UI(signZ, 0xff, 0);
  }
  if (expA === 0) {
    if (sigA === 0) return packToF32UI(signZ, 0, 0);
    const normA = s_normSubnormalF32Sig(sigA);
    expA = normA.exp;
    sigA = normA.sig;
  }
  if (expB === 0) {
    if (sigB === 0) return packToF32UI(signZ, 0, 0);
    const normB = s_normSubnormalF32Sig(sigB);
    expB = normB.exp;
    sigB = normB.sig;
  }

  // [2^30, 2^31) x [2^31, 2^32): the product's top half has its leading 1 at bit 29 or 30.
  let expZ = expA + expB - 0x7f;
  const product = s_mul32To64(((sigA | 0x00800000) << 7) >>> 0, ((sigB | 0x00800000) << 8) >>> 0);
  let sigZ = (product.hi | (product.lo !== 0 ? 1 : 0)) >>> 0;
  if (sigZ < 0x40000000) {
    expZ -= 1;
    sigZ = (sigZ << 1) >>> 0;
  }
  return s_roundPackToF32(signZ, expZ, sigZ, subnormals);
}

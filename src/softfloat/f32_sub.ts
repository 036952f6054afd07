import { type F32Subnormals, operandF32UI, signF32UI } from './internals.js';
import { s_addMagsF32 } from './s_addMagsF32.js';
import { s_subMagsF32 } from './s_subMagsF32.js';

/** f32 subtraction on bit patterns, round to nearest even. */
export function f32_sub(inA: number, inB: number, subnormals: F32Subnormals): number {
  const uiA = operandF32UI(inA, subnormals);
  const uiB = operandF32UI(inB, subnormals);
  if (signF32UI(uiA) === signF32UI(uiB)) return s_subMagsF32(uiA, uiB, subnormals);
  return s_addMagsF32(uiA, uiB, subnormals);
}

import { signF32UI } from './internals.js';
import { s_addMagsF32 } from './s_addMagsF32.js';
import { s_subMagsF32 } from './s_subMagsF32.js';

/** f32 addition on bit patterns, round to nearest even. */
export function f32_add(uiA: number, uiB: number): number {
  if (signF32UI(uiA) === signF32UI(uiB)) return s_addMagsF32(uiA, uiB);
  return s_subMagsF32(uiA, uiB);
}

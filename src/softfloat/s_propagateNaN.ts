import { isNaNF32UI } from './internals.js';
import { F32_SPECIALIZATION } from './specialize.js';

/** The specialisation's NaN rule: the first NaN operand, quieted. At least one operand is a NaN. */
export function s_propagateNaN(uiA: number, uiB: number): number {
  return ((isNaNF32UI(uiA) ? uiA : uiB) | F32_SPECIALIZATION.quietBitF32UI) >>> 0;
}

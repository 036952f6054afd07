import { F32_CANONICAL_NAN } from '../numerics/f32.js';

/**
 * The implementation-defined choices of the soft-float, in one place (SoftFloat's
 * specialize.h). wgslSource.ts emits these same values as WGSL constants, so the TS and WGSL
 * twins cannot drift.
 *
 * - Default NaN: what an invalid operation on non-NaN operands returns (0 * Inf, Inf - Inf,
 *   0 / 0, Inf / Inf, sqrt of a negative): +qNaN with an empty payload.
 * - NaN propagation (s_propagateNaN): a NaN operand makes the result the first NaN operand
 *   (a, then b, then c), quieted. Signalling NaNs get no priority: there are no flags to raise.
 *   The CPU engine's arithmetic (src/numerics/f32ops.ts) gives the same NaN bits on every host.
 * - Tininess is detected after rounding. Without exception flags this changes no result bits
 *   (it only decides when underflow would be signalled), so nothing below reads it.
 */
export const F32_SPECIALIZATION = {
  defaultNaNF32UI: F32_CANONICAL_NAN,
  /** IEEE 754-2008 6.2.1: the top significand bit set means quiet. */
  quietBitF32UI: 0x00400000,
} as const;

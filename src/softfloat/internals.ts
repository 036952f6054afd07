// Field access on f32 bit patterns (u32 in a JS number, [0, 2^32)) and the small value types
// the helpers pass around. Twin: shaders/softfloat/internals.wgsl.

/** What the arithmetic does with f32 subnormals: keep them (IEEE 754), or flush them: an
 *  operand reads as a zero of its sign (denormals-are-zero) and a subnormal result, after
 *  rounding, becomes a zero of its sign (flush-to-zero), as GPU code built with FTZ does. */
export const F32_SUBNORMALS = ['keep', 'flush'] as const;
export type F32Subnormals = (typeof F32_SUBNORMALS)[number];

/** An unsigned 64-bit integer as two u32 halves: WGSL has no 64-bit integer, so the twin has none. */
export interface U64 {
  readonly hi: number;
  readonly lo: number;
}

/** A normalised significand (leading 1 at bit 23) and its biased exponent, which may be <= 0. */
export interface ExpSig32 {
  readonly exp: number;
  readonly sig: number;
}

export function signF32UI(a: number): number {
  return a >>> 31;
}

/** The biased exponent field; i32 in WGSL. */
export function expF32UI(a: number): number {
  return (a >>> 23) & 0xff;
}

export function fracF32UI(a: number): number {
  return a & 0x007fffff;
}

export function isNaNF32UI(a: number): boolean {
  return (a & 0x7fffffff) > 0x7f800000;
}

/** An operand as the arithmetic reads it: a subnormal is a zero of its sign when subnormals flush. */
export function operandF32UI(a: number, subnormals: F32Subnormals): number {
  if (subnormals === 'flush' && expF32UI(a) === 0) return (a & 0x80000000) >>> 0;
  return a;
}

/** Adds rather than ORs the fields, so a significand that carried into 2^24 bumps the exponent. */
export function packToF32UI(sign: number, exp: number, sig: number): number {
  return ((sign << 31) + (exp << 23) + sig) >>> 0;
}

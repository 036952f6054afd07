// Reference f32 helpers for the tests, built from the IEEE 754 field definitions and the
// platform's DataView, never from src/numerics, so the expectations stay independent.

const view = new DataView(new ArrayBuffer(4));

/** Exact value of f32 bits from the fields: (-1)^s * 2^(e-127) * (1 + f/2^23), or subnormal. */
export function valueOfF32Bits(bits: number): number {
  const negative = bits >>> 31 === 1;
  const exponentField = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  let magnitude: number;
  if (exponentField === 0xff) magnitude = fraction === 0 ? Infinity : NaN;
  else if (exponentField === 0) magnitude = fraction * 2 ** -149;
  else magnitude = (1 + fraction / 2 ** 23) * 2 ** (exponentField - 127);
  return negative ? -magnitude : magnitude;
}

/** bf16 is the upper half of f32 (1 sign, 8 exponent bits with bias 127, 7 fraction bits). */
export function valueOfBf16(code: number): number {
  return valueOfF32Bits((code << 16) >>> 0);
}

/** Bits of a value the caller knows to be an exact f32 (throws otherwise, so nothing rounds silently). */
export function f32BitsOfExactValue(value: number): number {
  if (!Number.isNaN(value) && Math.fround(value) !== value) {
    throw new Error(`${value} is not exactly representable in f32`);
  }
  view.setFloat32(0, value);
  return view.getUint32(0);
}

export function isF32NanBits(bits: number): boolean {
  return ((bits >>> 23) & 0xff) === 0xff && (bits & 0x7fffff) !== 0;
}

export function signOfBits(bits: number): number {
  return bits >>> 31;
}

export function hex(bits: number, digits = 8): string {
  return `0x${(bits >>> 0).toString(16).padStart(digits, '0')}`;
}

// The TestFloat significand patterns are inputs, not expectations: one copy, shared with the
// soft-float tests and the selftest.
export { SIGNIFICAND_PATTERNS } from '../../src/softfloat/conformance/testfloat.js';

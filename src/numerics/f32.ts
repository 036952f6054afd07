// f32 values travel as their bit patterns (uint32 in a JS number) wherever exactness
// matters: a JS number cannot carry a NaN payload, and bits are what we compare.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
const scratchF64 = new Float64Array(1);
const scratchU64 = new BigUint64Array(scratchF64.buffer);

export const F32_CANONICAL_NAN = 0x7fc00000;

export function f32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0];
}

export function bitsFromF32(value: number): number {
  scratchF32[0] = value;
  return scratchU32[0];
}

export function isNanBits(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000;
}

/** Views a Float32Array's storage as bits without going through JS numbers (keeps NaN payloads). */
export function bitsOfFloat32Array(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

export function float32ArrayOfBits(bits: Uint32Array): Float32Array {
  return new Float32Array(bits.buffer, bits.byteOffset, bits.length);
}

/**
 * Correctly rounded f32 fused multiply-add on f32 operands.
 * a*b is exact in f64 (48 significant bits). The sum is formed in f64 with its exact error
 * (TwoSum), then forced to round-to-odd at 53 bits, which makes the final rounding to 24 bits
 * correct (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums", 2008).
 */
export function fmaF32(a: number, b: number, c: number): number {
  const product = a * b;
  const sum = product + c;
  // Zero, infinite and NaN sums are already exact (f64 neither underflows nor overflows here).
  if (!Number.isFinite(sum) || sum === 0) return Math.fround(sum);
  const bVirtual = sum - product;
  const aVirtual = sum - bVirtual;
  const error = product - aVirtual + (c - bVirtual);
  if (error === 0) return Math.fround(sum);
  scratchF64[0] = sum;
  let bits = scratchU64[0];
  if ((bits & 1n) === 0n) {
    // Move one f64 ulp towards the exact value, landing on an odd significand.
    const towardsLarger = error > 0 === sum > 0;
    bits = towardsLarger ? bits + 1n : bits - 1n;
    scratchU64[0] = bits;
  }
  return Math.fround(scratchF64[0]);
}

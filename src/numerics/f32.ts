// f32 values travel as their bit patterns (uint32 in a JS number) wherever exactness
// matters: a JS number cannot carry a NaN payload, and bits are what we compare.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
const scratchF64 = new Float64Array(1);
/** The f64's two 32-bit words (not a BigUint64Array: reading one allocates a BigInt, and fmaF32
 *  runs per element of a sum of squares), the low word first on a little-endian host. */
const scratchWords = new Uint32Array(scratchF64.buffer);
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HIGH_WORD = 1 - LOW_WORD;

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
  if ((scratchWords[LOW_WORD] & 1) === 0) {
    // Move one f64 ulp towards the exact value, landing on an odd significand: the 64-bit pattern
    // one up (away from zero) or one down. The low word is even, so one up never carries; one
    // down borrows from the high word only when the low word is 0 (sum is not a zero here).
    const towardsLarger = error > 0 === sum > 0;
    if (towardsLarger) scratchWords[LOW_WORD] += 1;
    else if (scratchWords[LOW_WORD] !== 0) scratchWords[LOW_WORD] -= 1;
    else {
      scratchWords[LOW_WORD] = 0xffffffff;
      scratchWords[HIGH_WORD] -= 1;
    }
  }
  return Math.fround(scratchF64[0]);
}

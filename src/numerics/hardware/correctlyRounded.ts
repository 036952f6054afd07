import { f32_div } from '../../softfloat/f32_div.js';
import { bitsFromF32, f32FromBits, F32_CANONICAL_NAN, isNanBits } from '../f32.js';

// Correctly rounded (nearest-even) 1/sqrt(x) and 1/x on f32 bit patterns: the references the
// measured hardware tables are stored against (src/numerics/hardware/sm90.ts).

const POS_INF = 0x7f800000;

/** Significand (24 bits, implicit one included) and unbiased exponent of the least bit. */
function decompose(bits: number): { sig: bigint; exp: number } {
  const biased = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (biased === 0) return { sig: BigInt(frac), exp: -149 };
  return { sig: BigInt(frac | 0x800000), exp: biased - 150 };
}

/**
 * Exact test that the positive normal f32 y is the nearest f32 to 1/sqrt(x) (x positive,
 * finite): with the rounding midpoints m = (2*my -+ 1) * 2^(ey-1) around y = my * 2^ey, y is
 * nearest iff m_lo^2 * x < 1 < m_hi^2 * x. No midpoint is ever exact (an odd 25-bit square
 * times x cannot be a power of two), so ties do not arise.
 */
function isNearestRsqrt(xBits: number, yBits: number): boolean {
  const x = decompose(xBits);
  const y = decompose(yBits);
  const e = 2 * (y.exp - 1) + x.exp; // m^2 * x = (2my +- 1)^2 * mx * 2^e
  const lo = (2n * y.sig - 1n) ** 2n * x.sig;
  const hi = (2n * y.sig + 1n) ** 2n * x.sig;
  const one = e <= 0 ? 1n << BigInt(-e) : 0n;
  if (e > 0) return false; // m^2 * x >= 2^e > 1 for both midpoints
  return lo < one && one < hi;
}

/** Correctly rounded 1/sqrt(x) on f32 bits (IEEE specials: NaN in, NaN out; -x -> NaN). */
export function correctlyRoundedRsqrtF32(bits: number): number {
  const b = bits >>> 0;
  if (isNanBits(b)) return F32_CANONICAL_NAN;
  if ((b & 0x7fffffff) === 0) return (b & 0x80000000) | POS_INF;
  if (b & 0x80000000) return F32_CANONICAL_NAN;
  if (b === POS_INF) return 0;
  const x = f32FromBits(b);
  const estimate = 1 / Math.sqrt(x); // within 1.5 f64 ulp of the exact value
  const y = bitsFromF32(estimate);
  // Far from every f32 midpoint, the f64 estimate rounds like the exact value.
  const yValue = f32FromBits(y);
  const halfUlp = Math.abs(f32FromBits(y + 1) - yValue) / 2;
  const nearestMid = estimate >= yValue ? yValue + halfUlp : yValue - Math.abs(yValue - f32FromBits(y - 1)) / 2;
  if (Math.abs(estimate - nearestMid) > estimate * 2 ** -45) return y;
  for (const candidate of [y, y - 1, y + 1]) if (isNearestRsqrt(b, candidate)) return candidate;
  throw new Error(`correctlyRoundedRsqrtF32: no candidate for 0x${b.toString(16)}`);
}

/** Correctly rounded 1/x on f32 bits (SoftFloat division of 1 by x). */
export function correctlyRoundedRcpF32(bits: number): number {
  return f32_div(0x3f800000, bits >>> 0, 'keep') >>> 0;
}

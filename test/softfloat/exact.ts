// A deliberately simple, independent f32 reference (TestFloat's slowfloat, in BigInt): decode
// each operand to an exact rational, do the operation exactly, round once to nearest even.
// It shares no code with src/softfloat. NaN results come back as the default NaN: callers
// compare NaN as a class.

const NAN_BITS = 0x7fc00000;
const INF_BITS = 0x7f800000;
const SIGN_BIT = 0x80000000;

type Decoded =
  | { readonly kind: 'nan' }
  | { readonly kind: 'inf'; readonly negative: boolean }
  /** value = (negative ? -1 : 1) * mantissa * 2^exponent; mantissa 0 is a (signed) zero. */
  | { readonly kind: 'finite'; readonly negative: boolean; readonly mantissa: bigint; readonly exponent: number };

export function decodeF32(bits: number): Decoded {
  const negative = bits >>> 31 === 1;
  const field = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  if (field === 0xff) return fraction === 0 ? { kind: 'inf', negative } : { kind: 'nan' };
  if (field === 0) return { kind: 'finite', negative, mantissa: BigInt(fraction), exponent: -149 };
  return { kind: 'finite', negative, mantissa: BigInt(fraction + 0x800000), exponent: field - 150 };
}

function signed(negative: boolean, magnitudeBits: number): number {
  return negative ? (magnitudeBits | SIGN_BIT) >>> 0 : magnitudeBits;
}

function bitLength(x: bigint): number {
  return x.toString(2).length;
}

/**
 * Rounds (negative ? -1 : 1) * num / den * 2^exp2 (num, den > 0) to the nearest f32, ties to
 * even, with subnormals and overflow to Inf.
 */
export function roundToF32(negative: boolean, num: bigint, den: bigint, exp2: number): number {
  // floor(log2(num / den)): num / den is in [2^(e-1), 2^(e+1)) for e = the bit-length difference.
  let e = bitLength(num) - bitLength(den);
  if (e >= 0 ? num < den << BigInt(e) : num << BigInt(-e) < den) e -= 1;
  const quantumExponent = Math.max(e + exp2 - 23, -149);
  // quanta = num / den * 2^(exp2 - quantumExponent), an integer part and a remainder.
  const shift = exp2 - quantumExponent;
  const scaledNum = shift >= 0 ? num << BigInt(shift) : num;
  const scaledDen = shift >= 0 ? den : den << BigInt(-shift);
  let quanta = scaledNum / scaledDen;
  const twiceRemainder = (scaledNum - quanta * scaledDen) * 2n;
  if (twiceRemainder > scaledDen || (twiceRemainder === scaledDen && (quanta & 1n) === 1n)) quanta += 1n;
  if (quanta < 0x800000n) return signed(negative, Number(quanta)); // subnormal or zero
  let exponent = quantumExponent;
  if (quanta === 0x1000000n) {
    quanta = 0x800000n;
    exponent += 1;
  }
  const field = exponent + 23 + 127;
  if (field >= 0xff) return signed(negative, INF_BITS);
  return signed(negative, ((field << 23) | (Number(quanta) - 0x800000)) >>> 0);
}

/** Exact x + y of two finite values, rounded; an exact zero follows IEEE 754 6.3 (RNE). */
function addFinite(x: { negative: boolean; mantissa: bigint; exponent: number }, y: { negative: boolean; mantissa: bigint; exponent: number }): number {
  const exponent = Math.min(x.exponent, y.exponent);
  const xs = (x.negative ? -x.mantissa : x.mantissa) << BigInt(x.exponent - exponent);
  const ys = (y.negative ? -y.mantissa : y.mantissa) << BigInt(y.exponent - exponent);
  const sum = xs + ys;
  if (sum === 0n) return x.negative && y.negative && x.mantissa === 0n && y.mantissa === 0n ? SIGN_BIT : 0;
  return roundToF32(sum < 0n, sum < 0n ? -sum : sum, 1n, exponent);
}

export function exactAdd(a: number, b: number): number {
  const x = decodeF32(a);
  const y = decodeF32(b);
  if (x.kind === 'nan' || y.kind === 'nan') return NAN_BITS;
  if (x.kind === 'inf' && y.kind === 'inf') return x.negative === y.negative ? signed(x.negative, INF_BITS) : NAN_BITS;
  if (x.kind === 'inf') return signed(x.negative, INF_BITS);
  if (y.kind === 'inf') return signed(y.negative, INF_BITS);
  return addFinite(x, y);
}

export function exactSub(a: number, b: number): number {
  return exactAdd(a, (b ^ SIGN_BIT) >>> 0);
}

export function exactMul(a: number, b: number): number {
  const x = decodeF32(a);
  const y = decodeF32(b);
  if (x.kind === 'nan' || y.kind === 'nan') return NAN_BITS;
  const negative = x.negative !== y.negative;
  if (x.kind === 'inf' || y.kind === 'inf') {
    const zeroOperand = (x.kind === 'finite' && x.mantissa === 0n) || (y.kind === 'finite' && y.mantissa === 0n);
    return zeroOperand ? NAN_BITS : signed(negative, INF_BITS);
  }
  const product = x.mantissa * y.mantissa;
  if (product === 0n) return signed(negative, 0);
  return roundToF32(negative, product, 1n, x.exponent + y.exponent);
}

export function exactDiv(a: number, b: number): number {
  const x = decodeF32(a);
  const y = decodeF32(b);
  if (x.kind === 'nan' || y.kind === 'nan') return NAN_BITS;
  const negative = x.negative !== y.negative;
  if (x.kind === 'inf') return y.kind === 'inf' ? NAN_BITS : signed(negative, INF_BITS);
  if (y.kind === 'inf') return signed(negative, 0);
  if (y.mantissa === 0n) return x.mantissa === 0n ? NAN_BITS : signed(negative, INF_BITS);
  if (x.mantissa === 0n) return signed(negative, 0);
  return roundToF32(negative, x.mantissa, y.mantissa, x.exponent - y.exponent);
}

export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  // Newton from above: x_{k+1} = (x_k + n / x_k) / 2 decreases until it reaches floor(sqrt(n)).
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

export function exactSqrt(a: number): number {
  const x = decodeF32(a);
  if (x.kind === 'nan') return NAN_BITS;
  if (x.kind === 'inf') return x.negative ? NAN_BITS : INF_BITS;
  if (x.mantissa === 0n) return signed(x.negative, 0);
  if (x.negative) return NAN_BITS;
  // sqrt(m * 2^e) with e even = sqrt(m * 2^60) * 2^(e/2 - 30). The root r has more than 26
  // bits, so rounding r + 1/2 (when r^2 < radicand) rounds the same as the true root: every
  // rounding boundary is an integer multiple of the root's unit.
  let mantissa = x.mantissa;
  let exponent = x.exponent;
  if ((exponent & 1) !== 0) {
    mantissa <<= 1n;
    exponent -= 1;
  }
  const radicand = mantissa << 60n;
  const root = isqrt(radicand);
  const sticky = root * root === radicand ? 0n : 1n;
  return roundToF32(false, 2n * root + sticky, 1n, exponent / 2 - 30 - 1);
}

export function exactMulAdd(a: number, b: number, c: number): number {
  const x = decodeF32(a);
  const y = decodeF32(b);
  const z = decodeF32(c);
  if (x.kind === 'nan' || y.kind === 'nan' || z.kind === 'nan') return NAN_BITS;
  const productNegative = x.negative !== y.negative;
  if (x.kind === 'inf' || y.kind === 'inf') {
    const zeroOperand = (x.kind === 'finite' && x.mantissa === 0n) || (y.kind === 'finite' && y.mantissa === 0n);
    if (zeroOperand) return NAN_BITS;
    if (z.kind === 'inf' && z.negative !== productNegative) return NAN_BITS;
    return signed(productNegative, INF_BITS);
  }
  if (z.kind === 'inf') return signed(z.negative, INF_BITS);
  const product = { negative: productNegative, mantissa: x.mantissa * y.mantissa, exponent: x.exponent + y.exponent };
  return addFinite(product, z);
}

import { bitsOfFloat32Array, float32ArrayOfBits } from './f32.js';

export const FP8_FORMATS = ['e4m3fn', 'e4m3fnuz', 'e5m2', 'e5m2fnuz'] as const;
export type Fp8Format = (typeof FP8_FORMATS)[number];

/** satfinite: clamp to max finite, Inf included (NVIDIA cvt.rn.satfinite, PyTorch >= 2.12 e4m3fn).
 *  overflow: the ml_dtypes rule (e4m3fn -> NaN, fnuz -> 0x80, e5m2 -> Inf). */
export type Fp8Saturation = 'satfinite' | 'overflow';

export interface Fp8Traits {
  readonly exponentBits: number;
  readonly mantissaBits: number;
  readonly bias: number;
  readonly hasInfinity: boolean;
  /** fnuz formats: 0x80 is the only NaN and there is no -0. */
  readonly fnuz: boolean;
  /** Largest finite magnitude code (sign bit clear). */
  readonly maxFiniteCode: number;
  /** The NaN code we produce (sign bit clear; fnuz ignores sign). */
  readonly nanCode: number;
  readonly maxFinite: number;
}

// ml_dtypes include/float8.h and OCP OFP8 1.0; fnuz is a bias override plus the 0x80 NaN.
export const FP8_TRAITS: Readonly<Record<Fp8Format, Fp8Traits>> = {
  e4m3fn: { exponentBits: 4, mantissaBits: 3, bias: 7, hasInfinity: false, fnuz: false, maxFiniteCode: 0b0_1111_110, nanCode: 0b0_1111_111, maxFinite: 448 },
  e4m3fnuz: { exponentBits: 4, mantissaBits: 3, bias: 8, hasInfinity: false, fnuz: true, maxFiniteCode: 0b0_1111_111, nanCode: 0b1_0000_000, maxFinite: 240 },
  e5m2: { exponentBits: 5, mantissaBits: 2, bias: 15, hasInfinity: true, fnuz: false, maxFiniteCode: 0b0_11110_11, nanCode: 0b0_11111_10, maxFinite: 57344 },
  e5m2fnuz: {
    exponentBits: 5,
    mantissaBits: 2,
    bias: 16,
    hasInfinity: false,
    fnuz: true,
    maxFiniteCode: 0b0_11111_11,
    nanCode: 0b1_0000_000,
    maxFinite: 57344,
  },
};

const F32_SIGNIFICAND_BITS = 23;

function overflowCode(format: Fp8Format, negative: boolean, saturation: Fp8Saturation): number {
  const t = FP8_TRAITS[format];
  const sign = negative ? 0x80 : 0;
  if (saturation === 'satfinite') return sign | t.maxFiniteCode;
  if (t.fnuz) return t.nanCode;
  if (t.hasInfinity) return sign | (t.maxFiniteCode + 1);
  return sign | t.nanCode;
}

/**
 * f32 bits -> fp8 code, round to nearest even. Steps: non-finite, zero, unpack and
 * normalise, round at the target quantum, pack and handle overflow, apply sign.
 */
export function fp8FromF32Bits(bits: number, format: Fp8Format, saturation: Fp8Saturation): number {
  const t = FP8_TRAITS[format];
  const negative = bits >>> 31 === 1;
  const sign = negative ? 0x80 : 0;
  const magnitudeBits = bits & 0x7fffffff;

  // 1. Non-finite.
  if (magnitudeBits > 0x7f800000) return t.fnuz ? t.nanCode : sign | t.nanCode;
  if (magnitudeBits === 0x7f800000) return overflowCode(format, negative, saturation);

  // 2. Zero (fnuz has no -0).
  if (magnitudeBits === 0) return t.fnuz ? 0 : sign;

  // 3. Unpack: value = significand * 2^(exponent - 23), significand normalised to [2^23, 2^24).
  const exponentField = magnitudeBits >>> 23;
  let significand = magnitudeBits & 0x7fffff;
  let exponent: number;
  if (exponentField === 0) {
    const shift = Math.clz32(significand) - 8;
    significand <<= shift;
    exponent = -126 - shift;
  } else {
    significand |= 0x800000;
    exponent = exponentField - 127;
  }

  // 4. Round at the quantum of the target binade (fixed at the subnormal quantum below min normal).
  const minNormalExponent = 1 - t.bias;
  const quantumExponent = Math.max(exponent, minNormalExponent) - t.mantissaBits;
  const shift = F32_SIGNIFICAND_BITS + quantumExponent - exponent;
  // shift >= 23 - mantissaBits; past 25 the value is under a quarter quantum.
  let quanta = 0;
  if (shift <= 25) {
    // Integer masks, not 2 ** shift: shift <= 25 and the significand < 2^24 fit 32-bit ints.
    const kept = significand >>> shift;
    const remainder = significand & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    quanta = remainder > half || (remainder === half && (kept & 1) === 1) ? kept + 1 : kept;
  }

  // 5. Pack: quanta counts steps of 2^quantumExponent; a carry past 2^(m+1) moves up a binade.
  const hidden = 1 << t.mantissaBits;
  let code: number;
  if (quanta < hidden) {
    code = quanta; // subnormal or zero
  } else {
    let q = quanta;
    let e = quantumExponent;
    if (q >= hidden << 1) {
      q >>>= 1;
      e += 1;
    }
    code = ((e + t.mantissaBits + t.bias) << t.mantissaBits) | (q - hidden);
  }
  if (code > t.maxFiniteCode) return overflowCode(format, negative, saturation);

  // 6. Sign.
  if (code === 0) return t.fnuz ? 0 : sign;
  return sign | code;
}

/** fp8FromF32Bits for one format and saturation. */
export type Fp8Encoder = (bits: number) => number;
const encoders = new Map<string, Fp8Encoder>();

/** Table entries not built yet (codes are 0..255). */
const UNBUILT = 0xffff;

/**
 * fp8FromF32Bits (the twin of shaders/numerics/fp8.wgsl, kept as the definition) as a table
 * lookup, for the CPU engine's quantize: the code of every f32 is read from its top 16 bits and
 * whether its low 16 bits are zero. That is all the code depends on: a finite input that can
 * round to a nonzero code is rounded at bit 23 - mantissaBits >= 20 of its significand or
 * higher, so its half quantum is a multiple of 2^16 and the low bits only tell an exact tie
 * (zero) from just past it; an f32 subnormal rounds to a signed zero whatever its bits; and
 * 0x7f80 with zero low bits is Inf, with any other low bits NaN. Each entry (2^17 per format and
 * saturation) is fp8FromF32Bits of the entry's first input, built on first use. Checked against
 * fp8FromF32Bits over every f32 input (bench/fp8-exhaustive.ts, once) and on seeded and edge
 * inputs in CI (test/numerics/fp8.test.ts).
 */
export function fp8Encoder(format: Fp8Format, saturation: Fp8Saturation): Fp8Encoder {
  const key = `${format}|${saturation}`;
  const cached = encoders.get(key);
  if (cached) return cached;
  // Entry 2 * high + (low bits nonzero ? 1 : 0).
  const table = new Uint16Array(1 << 17).fill(UNBUILT);
  const encode: Fp8Encoder = (bits) => {
    const entry = ((bits >>> 15) & 0x1fffe) | ((bits & 0xffff) === 0 ? 0 : 1);
    let code = table[entry];
    if (code === UNBUILT) {
      code = fp8FromF32Bits((((entry >>> 1) << 16) | (entry & 1)) >>> 0, format, saturation);
      table[entry] = code;
    }
    return code;
  };
  encoders.set(key, encode);
  return encode;
}

export function f32BitsFromFp8(code: number, format: Fp8Format): number {
  const t = FP8_TRAITS[format];
  const negative = (code & 0x80) !== 0;
  const magnitude = code & 0x7f;
  if (t.fnuz) {
    if (code === 0x80) return 0xffc00000;
  } else {
    if (magnitude === t.nanCode || (t.hasInfinity && magnitude > t.maxFiniteCode + 1)) {
      return (negative ? 0xffc00000 : 0x7fc00000) >>> 0;
    }
    if (t.hasInfinity && magnitude === t.maxFiniteCode + 1) return (negative ? 0xff800000 : 0x7f800000) >>> 0;
  }
  const sign = negative ? 0x80000000 : 0;
  if (magnitude === 0) return sign >>> 0;
  const exponentField = magnitude >>> t.mantissaBits;
  let mantissa = magnitude & ((1 << t.mantissaBits) - 1);
  let exponent: number;
  if (exponentField === 0) {
    // Subnormal: normalise into an f32 normal (every fp8 subnormal is an f32 normal).
    const lead = 31 - Math.clz32(mantissa);
    exponent = 1 - t.bias - (t.mantissaBits - lead);
    mantissa = (mantissa ^ (1 << lead)) << (t.mantissaBits - lead);
  } else {
    exponent = exponentField - t.bias;
  }
  return (sign | ((exponent + 127) << 23) | (mantissa << (F32_SIGNIFICAND_BITS - t.mantissaBits))) >>> 0;
}

export function encodeFp8(values: Float32Array, format: Fp8Format, opts: { saturation?: Fp8Saturation } = {}): Uint8Array {
  const saturation = opts.saturation ?? 'satfinite';
  const bits = bitsOfFloat32Array(values);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = fp8FromF32Bits(bits[i], format, saturation);
  return out;
}

export function decodeFp8(codes: Uint8Array, format: Fp8Format): Float32Array {
  const out = new Uint32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = f32BitsFromFp8(codes[i], format);
  return float32ArrayOfBits(out);
}

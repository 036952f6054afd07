// The four fp8 formats derived from their definitions alone (OCP OFP8 1.0; ml_dtypes for the fnuz
// pair: jax-ml/ml_dtypes@b793a6e2 ml_dtypes/include/float8.h:279-418), independently of src/numerics.
import type { Fp8Format } from '../../src/numerics/index.js';

export type SpecialRule =
  | 'ieee' // exponent all ones: fraction 0 is Inf, else NaN (e5m2)
  | 'fn' // only S.1111.111 is NaN, no Inf (e4m3fn)
  | 'fnuz'; // only 0x80 is NaN (the would-be -0), no Inf, no -0

export interface Fp8Spec {
  readonly exponentBits: number;
  readonly mantissaBits: number;
  readonly bias: number;
  readonly special: SpecialRule;
}

export const FP8_SPECS: Readonly<Record<Fp8Format, Fp8Spec>> = {
  e4m3fn: { exponentBits: 4, mantissaBits: 3, bias: 7, special: 'fn' },
  e4m3fnuz: { exponentBits: 4, mantissaBits: 3, bias: 8, special: 'fnuz' },
  e5m2: { exponentBits: 5, mantissaBits: 2, bias: 15, special: 'ieee' },
  e5m2fnuz: { exponentBits: 5, mantissaBits: 2, bias: 16, special: 'fnuz' },
};

/** (-1)^s * 2^(e-bias) * (1 + m/2^M), subnormals 2^(1-bias) * m/2^M, in doubles. */
export function fp8ValueFromSpec(code: number, spec: Fp8Spec): number {
  const negative = code >>> 7 === 1;
  const exponentField = (code >>> spec.mantissaBits) & ((1 << spec.exponentBits) - 1);
  const fraction = code & ((1 << spec.mantissaBits) - 1);
  const allOnesExponent = exponentField === (1 << spec.exponentBits) - 1;
  if (spec.special === 'fnuz' && code === 0x80) return NaN;
  if (spec.special === 'ieee' && allOnesExponent) return fraction === 0 ? (negative ? -Infinity : Infinity) : NaN;
  if (spec.special === 'fn' && allOnesExponent && fraction === (1 << spec.mantissaBits) - 1) return NaN;
  const scale = 2 ** spec.mantissaBits;
  const magnitude = exponentField === 0 ? 2 ** (1 - spec.bias) * (fraction / scale) : 2 ** (exponentField - spec.bias) * (1 + fraction / scale);
  return negative ? -magnitude : magnitude;
}

export interface Fp8Table {
  readonly spec: Fp8Spec;
  /** value of every code 0..255 */
  readonly values: readonly number[];
  /** finite non-negative values by code 0..maxCode (increasing, consecutive codes) */
  readonly positive: readonly number[];
  readonly maxCode: number;
  readonly max: number;
  /** the value one top-binade step past max: what max's successor code would be if finite */
  readonly beyond: number;
  readonly positiveNanCodes: readonly number[];
  readonly positiveInfCode: number | null;
}

export function buildTable(spec: Fp8Spec): Fp8Table {
  const values: number[] = [];
  for (let code = 0; code < 256; code++) values.push(fp8ValueFromSpec(code, spec));
  const positive: number[] = [];
  while (positive.length < 128 && Number.isFinite(values[positive.length])) positive.push(values[positive.length]);
  const maxCode = positive.length - 1;
  const max = positive[maxCode];
  const positiveNanCodes: number[] = [];
  let positiveInfCode: number | null = null;
  for (let code = 0; code < 128; code++) {
    if (Number.isNaN(values[code])) positiveNanCodes.push(code);
    if (values[code] === Infinity) positiveInfCode = code;
  }
  return { spec, values, positive, maxCode, max, beyond: 2 * max - positive[maxCode - 1], positiveNanCodes, positiveInfCode };
}

import type { Bf16Rounding } from '../numerics/bf16.js';
import { E8M0_ROUNDINGS, type E8m0Rounding } from '../numerics/e8m0.js';
import { FP8_FORMATS, type Fp8Format, type Fp8Saturation } from '../numerics/fp8.js';
import { F32_SUBNORMALS, type F32Subnormals } from './internals.js';

// The u32 codes that pick a format or mode in the WGSL conversions and arithmetic. wgslSource.ts emits them
// as WGSL constants (FP8_FORMAT_E4M3FN, BF16_ROUNDING_RNE, ...), so host and shader agree.

function indexCodes<Name extends string>(names: readonly Name[]): Readonly<Record<Name, number>> {
  return Object.fromEntries(names.map((name, index) => [name, index])) as Record<Name, number>;
}

export const WGSL_CODES = {
  fp8Format: indexCodes<Fp8Format>(FP8_FORMATS),
  fp8Saturation: { satfinite: 0, overflow: 1 } satisfies Record<Fp8Saturation, number>,
  bf16Rounding: { rne: 0, truncate: 1 } satisfies Record<Bf16Rounding, number>,
  e8m0Rounding: indexCodes<E8m0Rounding>(E8M0_ROUNDINGS),
  f32Subnormals: indexCodes<F32Subnormals>(F32_SUBNORMALS),
} as const;

export type WgslCodeTable = keyof typeof WGSL_CODES;

/**
 * What a WGSL conversion returns for a format or mode code it does not know: no fp8 or bf16
 * code, and an f32 NaN that no valid path produces, so a bad code cannot pass as a result.
 */
export const WGSL_INVALID_ARGUMENT = 0xffffffff;

/** The name a code stands for in a table; throws on a code the table does not have. */
export function nameOfWgslCode<Table extends WgslCodeTable>(table: Table, code: number): keyof (typeof WGSL_CODES)[Table] {
  const codes: Readonly<Record<string, number>> = WGSL_CODES[table];
  const name = Object.keys(codes).find((key) => codes[key] === code);
  if (name === undefined) throw new RangeError(`${table}: no name has WGSL code ${code}`);
  return name as keyof (typeof WGSL_CODES)[Table];
}

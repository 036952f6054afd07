import type { Fp8Format } from './fp8.js';

// Tensors hold bits, never floats: BF16 as Uint16Array, F32 and I32 as Uint32Array, FP8 as Uint8Array.
// Dtype names are safetensors' own.

export const FP8_DTYPE: Readonly<Record<Fp8Format, Fp8Dtype>> = {
  e4m3fn: 'F8_E4M3',
  e4m3fnuz: 'F8_E4M3FNUZ',
  e5m2: 'F8_E5M2',
  e5m2fnuz: 'F8_E5M2FNUZ',
};
export type Fp8Dtype = 'F8_E4M3' | 'F8_E4M3FNUZ' | 'F8_E5M2' | 'F8_E5M2FNUZ';
export type Dtype = 'BF16' | 'F32' | 'I32' | Fp8Dtype;

export type Tensor =
  | { readonly dtype: 'BF16'; readonly shape: readonly number[]; readonly data: Uint16Array }
  | { readonly dtype: 'F32'; readonly shape: readonly number[]; readonly data: Uint32Array }
  /** Packed words (UE8M0 scale bytes, four per word), held as their unsigned bits. */
  | { readonly dtype: 'I32'; readonly shape: readonly number[]; readonly data: Uint32Array }
  | { readonly dtype: Fp8Dtype; readonly shape: readonly number[]; readonly data: Uint8Array };

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  BF16: 2,
  F32: 4,
  I32: 4,
  F8_E4M3: 1,
  F8_E4M3FNUZ: 1,
  F8_E5M2: 1,
  F8_E5M2FNUZ: 1,
};

export function fp8FormatOfDtype(dtype: Dtype): Fp8Format | null {
  for (const [format, d] of Object.entries(FP8_DTYPE) as [Fp8Format, Fp8Dtype][]) if (d === dtype) return format;
  return null;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

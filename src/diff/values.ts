import { f32BitsFromBf16 } from '../numerics/bf16.js';
import { f32BitsFromE8m0 } from '../numerics/e8m0.js';
import { f32FromBits } from '../numerics/f32.js';
import { f32BitsFromFp8 } from '../numerics/fp8.js';
import { fp8FormatOfDtype, type Dtype } from '../numerics/tensor.js';

// How an element is shown to a person: its bits in hex at the dtype's width, and the number it
// encodes, written with the fewest digits that still name that exact f32 value.

const HEX_DIGITS: Readonly<Record<Dtype, number>> = {
  BF16: 4,
  F32: 8,
  I32: 8,
  F8_E4M3: 2,
  F8_E4M3FNUZ: 2,
  F8_E5M2: 2,
  F8_E5M2FNUZ: 2,
};

export function hexBits(code: number, dtype: Dtype): string {
  return `0x${code.toString(16).toUpperCase().padStart(HEX_DIGITS[dtype], '0')}`;
}

/** The f32 value a code of `dtype` stands for (every float output dtype is exact in f32); an I32
 *  word of packed scale bytes stands for itself. */
export function decodeCode(code: number, dtype: Dtype): number {
  if (dtype === 'BF16') return f32FromBits(f32BitsFromBf16(code));
  if (dtype === 'F32') return f32FromBits(code);
  if (dtype === 'I32') return code | 0;
  return f32FromBits(f32BitsFromFp8(code, fp8FormatOfDtype(dtype)!));
}

/** Shortest decimal that reads back as the same f32; NaN, Inf and -0 spelled out. */
export function formatF32(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Inf';
  if (value === -Infinity) return '-Inf';
  if (Object.is(value, -0)) return '-0';
  for (let digits = 1; digits < 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
}

export function formatCode(code: number, dtype: Dtype): { bits: string; value: string } {
  return { bits: hexBits(code, dtype), value: formatF32(decodeCode(code, dtype)) };
}

/** One UE8M0 exponent byte of a packed scale word: 0x7F is 1, 0xFF NaN. */
export function formatUe8m0(code: number): { bits: string; value: string } {
  return { bits: `0x${code.toString(16).toUpperCase().padStart(2, '0')}`, value: formatF32(f32FromBits(f32BitsFromE8m0(code))) };
}

/** Sorted integers as compact ranges: [0,1,2,5,7,8] -> '0-2, 5, 7-8'; at most `limit` ranges. */
export function formatRanges(values: readonly number[], limit = 12): string {
  const ranges: string[] = [];
  let i = 0;
  while (i < values.length) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    ranges.push(i === j ? `${values[i]}` : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  if (ranges.length <= limit) return ranges.join(', ');
  return `${ranges.slice(0, limit).join(', ')}, … (${ranges.length - limit} more ranges)`;
}

export function percent(share: number): string {
  if (share === 1) return '100%';
  // Never print 100.00% for a share that is not exactly one.
  return `${Math.min(share * 100, 99.99).toFixed(2)}%`;
}

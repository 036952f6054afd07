// Bit comparison with the NaN policy made explicit (any NaN matches any NaN; everything else,
// signed zeros included, bit for bit), and TestFloat-style failure reports, field by field.

import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';

export function isNaNBits(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000;
}

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

export function sameF32(got: number, want: number): boolean {
  if (!isU32(got)) return false;
  if (isNaNBits(got) && isNaNBits(want)) return true;
  return got === want;
}

/** "0x3f800000 (+ 7f 000000)": the bits, then sign, exponent field and fraction. */
export function describeF32(bits: number): string {
  if (!isU32(bits)) return `${bits} (not a u32)`;
  const hex = (value: number, width: number): string => value.toString(16).padStart(width, '0');
  return `0x${hex(bits, 8)} (${bits >>> 31 === 1 ? '-' : '+'} ${hex((bits >>> 23) & 0xff, 2)} ${hex(bits & 0x7fffff, 6)})`;
}

/** Counts mismatches; keeps the first few for the report. */
export class Failures {
  count = 0;
  private readonly examples: string[] = [];

  constructor(private readonly label: string) {}

  check(inputs: readonly number[], got: number, want: number, against: string): void {
    if (sameF32(got, want)) return;
    this.count++;
    if (this.examples.length < 10) {
      const operands = inputs.map(describeF32).join(', ');
      this.examples.push(`${this.label}(${operands})\n    got  ${describeF32(got)}\n    want ${describeF32(want)}  [${against}]`);
    }
  }

  report(): string {
    return `${this.count} mismatches\n${this.examples.join('\n')}`;
  }
}

/** The correctly rounded f32 result of a double computation on f32 inputs (NUMERICS section 3). */
export function viaDouble(op: (x: number, y: number) => number, a: number, b: number): number {
  return bitsFromF32(Math.fround(op(f32FromBits(a), f32FromBits(b))));
}

export const DOUBLE_OPS = {
  add: (x: number, y: number) => x + y,
  sub: (x: number, y: number) => x - y,
  mul: (x: number, y: number) => x * y,
  div: (x: number, y: number) => x / y,
} as const;

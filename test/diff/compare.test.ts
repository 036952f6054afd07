import { describe, expect, test } from 'vitest';
import { compareTensors } from '../../src/diff/compare.js';
import type { Tensor } from '../../src/numerics/tensor.js';

describe('compareTensors on packed UE8M0 scale words (I32)', () => {
  // Word 1 differs in one exponent byte (0x7f -> 0x80, a factor of 2), word 2 in none.
  const expected = { dtype: 'I32', shape: [3], data: Uint32Array.of(0x7f7f7f7f, 0x7f007c00, 0x80) } as Tensor;
  const actual = { dtype: 'I32', shape: [3], data: Uint32Array.of(0x7f7f7f7f, 0x80007c00, 0x80) } as Tensor;
  test('counts differing words bit for bit, with no ULP distance', () => {
    const c = compareTensors(expected, actual, 4);
    expect(c).toMatchObject({ elements: 3, differing: 1, nanMismatches: 0, infMismatches: 0, maxUlp: 0 });
    expect(c.histogram.size).toBe(0);
    expect(c.worst.map((w) => [w.index, w.expected, w.actual])).toEqual([[1, 0x7f007c00, 0x80007c00]]);
    expect(compareTensors(expected, expected).differing).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { FLUSHING_F32, IEEE_F32 } from '../../src/numerics/f32ops.js';
import { f32_add } from '../../src/softfloat/f32_add.js';
import { f32_div } from '../../src/softfloat/f32_div.js';
import { f32_mul } from '../../src/softfloat/f32_mul.js';
import { f32_mulAdd } from '../../src/softfloat/f32_mulAdd.js';
import { f32_sqrt } from '../../src/softfloat/f32_sqrt.js';
import { NAN_SHAPE, nanContract, nanExpected, nanInputs } from './nanCase.js';

// The CPU engine's NaN bits are the soft-float's on every host (src/numerics/f32ops.ts): the
// default NaN 0x7fc00000 for an invalid operation (x86's own is 0xffc00000), the first NaN
// operand quieted otherwise (V8 on x86 may return the second).

const hex = (bits: number): string => `0x${bits.toString(16).padStart(8, '0')}`;
const INF = 0x7f800000;
const NEG_INF = 0xff800000;
const ONE = 0x3f800000;
const NEG_ONE = 0xbf800000;

/** [operation, operand bits, result bits derived by hand from the rule]. */
const BINARY: readonly [op: 'add' | 'mul' | 'div', a: number, b: number, want: number][] = [
  ['div', 0, 0, 0x7fc00000],
  ['div', INF, NEG_INF, 0x7fc00000],
  ['mul', INF, 0, 0x7fc00000],
  ['mul', 0x80000000, NEG_INF, 0x7fc00000],
  ['add', INF, NEG_INF, 0x7fc00000],
  ['add', 0x7fc12345, ONE, 0x7fc12345],
  ['add', ONE, 0xffc00001, 0xffc00001],
  ['add', 0x7fc00001, 0xffc00002, 0x7fc00001],
  ['mul', 0xffc00002, 0x7fc00001, 0xffc00002],
  ['div', ONE, 0x7f800001, 0x7fc00001],
  ['div', 0xff800003, 0, 0xffc00003],
];

const TERNARY: readonly [a: number, b: number, c: number, want: number][] = [
  [INF, 0, ONE, 0x7fc00000],
  [INF, ONE, NEG_INF, 0x7fc00000],
  [INF, 0, 0xffc00005, 0xffc00005], // a NaN c comes before Inf * 0 (f32_mulAdd)
  [ONE, 0xffc00006, 0x7fc00007, 0xffc00006],
  [0x7fc00008, ONE, 0xffc00007, 0x7fc00008],
];

const SQRT: readonly [a: number, want: number][] = [
  [NEG_ONE, 0x7fc00000],
  [NEG_INF, 0x7fc00000],
  [0xffc00009, 0xffc00009],
  [0x7f800009, 0x7fc00009],
];

describe('f32 arithmetic NaN bits', () => {
  for (const [name, f32, subnormals] of [
    ['IEEE_F32', IEEE_F32, 'keep'],
    ['FLUSHING_F32', FLUSHING_F32, 'flush'],
  ] as const) {
    it(`${name}: hand-derived bits, and the soft-float's`, () => {
      const problems: string[] = [];
      const check = (what: string, got: number, want: number, softFloat: number): void => {
        if (got !== want || softFloat !== want) problems.push(`${what}: got ${hex(got)}, soft-float ${hex(softFloat)}, want ${hex(want)}`);
      };
      const soft = { add: f32_add, mul: f32_mul, div: f32_div };
      for (const [op, a, b, want] of BINARY) {
        check(`${op}(${hex(a)}, ${hex(b)})`, bitsFromF32(f32[op](f32FromBits(a), f32FromBits(b))), want, soft[op](a, b, subnormals));
      }
      for (const [a, b, c, want] of TERNARY) {
        check(
          `fma(${hex(a)}, ${hex(b)}, ${hex(c)})`,
          bitsFromF32(f32.fma(f32FromBits(a), f32FromBits(b), f32FromBits(c))),
          want,
          f32_mulAdd(a, b, c, subnormals),
        );
      }
      for (const [a, want] of SQRT) check(`sqrt(${hex(a)})`, bitsFromF32(f32.sqrt(f32FromBits(a))), want, f32_sqrt(a, subnormals));
      expect(problems).toEqual([]);
    });
  }
});

describe('CPU engine NaN bits', () => {
  it.for(['keep', 'flush'] as const)('all-zero group 0/0, Inf * 0 in the norm, Inf - Inf in the all-reduce, NaN inputs of either sign (%s)', (subnormals) => {
    const outputs = runCpuEngine(nanContract(subnormals), NAN_SHAPE, nanInputs());
    for (const [name, want] of nanExpected())
      expect(
        Array.from(outputs.get(name)!.data, (v) => hex(v)),
        name,
      ).toEqual(want.map(hex));
  });
});

import { describe } from 'vitest';
import { f32_mul } from '../../src/softfloat/f32_mul.js';
import { binaryOpSuite } from './binarySuite.js';
import { mulTiePair } from './cases.js';
import { DOUBLE_OPS } from './check.js';
import { exactMul } from './exact.js';

describe('f32_mul', () => {
  binaryOpSuite({ name: 'mul', softfloat: (a, b) => f32_mul(a, b, 'keep'), exact: exactMul, double: DOUBLE_OPS.mul, tiePair: mulTiePair, seed: 3001 });
});

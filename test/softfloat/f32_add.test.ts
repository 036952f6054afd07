import { describe } from 'vitest';
import { f32_add } from '../../src/softfloat/f32_add.js';
import { binaryOpSuite } from './binarySuite.js';
import { addTiePair } from './cases.js';
import { DOUBLE_OPS } from './check.js';
import { exactAdd } from './exact.js';

describe('f32_add', () => {
  binaryOpSuite({ name: 'add', softfloat: (a, b) => f32_add(a, b, 'keep'), exact: exactAdd, double: DOUBLE_OPS.add, tiePair: addTiePair, seed: 1001 });
});

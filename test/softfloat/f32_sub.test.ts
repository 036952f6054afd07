import { describe } from 'vitest';
import { f32_sub } from '../../src/softfloat/f32_sub.js';
import { binaryOpSuite } from './binarySuite.js';
import { addTiePair } from './cases.js';
import { DOUBLE_OPS } from './check.js';
import { exactSub } from './exact.js';

describe('f32_sub', () => {
  binaryOpSuite({ name: 'sub', softfloat: (a, b) => f32_sub(a, b, 'keep'), exact: exactSub, double: DOUBLE_OPS.sub, tiePair: addTiePair, seed: 2001 });
});

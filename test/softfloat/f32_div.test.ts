import { describe } from 'vitest';
import { f32_div } from '../../src/softfloat/f32_div.js';
import { binaryOpSuite } from './binarySuite.js';
import { divTiePair } from './cases.js';
import { DOUBLE_OPS } from './check.js';
import { exactDiv } from './exact.js';

describe('f32_div', () => {
  binaryOpSuite({ name: 'div', softfloat: (a, b) => f32_div(a, b, 'keep'), exact: exactDiv, double: DOUBLE_OPS.div, tiePair: divTiePair, seed: 4001 });
});

// bits.h's f32 operations (one rounding each, subnormals flushed in integers for the contract's
// f32Subnormals 'flush') and row_math.h's per-thread sums of squares, compiled for the host
// (hip/build/host/row_math_check), against bits derived by hand below. Values: 2^-12 =
// 0x39800000 (square 2^-24 exact), 1 + 2^-12 = 0x3f800800 (square 1 + 2^-11 + 2^-24 exact,
// which rounds to 1 + 2^-11 = 0x3f801000: a tie, to even), 2^-64 = 0x1f800000 (square 2^-128 =
// 0x00200000, subnormal).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/packageRoot.js';

const HIP_DIR = join(PACKAGE_ROOT, 'hip');
const ROW_MATH_CHECK = join(HIP_DIR, 'build', 'host', 'row_math_check');
const inCi = process.env.CI === 'true';

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;
}
const compiler = [process.env.CXX, 'c++', 'g++', 'clang++'].find((t) => t !== undefined && t !== '' && onPath(t));
const available = compiler !== undefined && onPath('make');

const EXPECTED: Record<string, string> = {
  'flush.subnormal': '00000000',
  'flush.negativeSubnormal': '80000000',
  'flush.minNormal': '00800000',
  // 2^-126 - 2^-127 = 2^-127; flushed, the subnormal operand is -0 and 2^-126 stays.
  'add.keep': '00400000',
  'add.flush': '00800000',
  // 1.5*2^-126 - 2^-126 = 2^-127 (subnormal), flushed to +0.
  'add.subnormalResult.keep': '00400000',
  'add.subnormalResult.flush': '00000000',
  'mul.keep': '00400000',
  'mul.flush': '00000000',
  // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 with one rounding (0x3a000400); 2^-11 after two.
  fma: '3a000400',
  mulAdd: '3a000000',
  // 1 / 2^-127 = 2^127; with the divisor flushed, 1 / +0 = +Inf.
  'div.keep': '7f000000',
  'div.flush': '7f800000',
  // [2^-12, 1+2^-12]: chain 2^-24 + 0x3f801000 ties to 0x3f801000; fma-chain adds the exact
  // square: 1 + 2^-11 + 2^-23 = 0x3f801001; pair rounds both squares first: 0x3f801000;
  // pair-fma fma(2^-12, 2^-12, 0x3f801000) ties to 0x3f801000.
  'squares.chain.small-first': '3f801000',
  'squares.fma-chain.small-first': '3f801001',
  'squares.pair.small-first': '3f801000',
  'squares.pair-fma.small-first': '3f801000',
  // [1+2^-12, 2^-12]: chain and pair tie to 0x3f801000; fma-chain fma(2^-12, 2^-12, 0x3f801000)
  // ties likewise; pair-fma fma(x0, x0, 2^-24) = 1 + 2^-11 + 2^-23 exactly.
  'squares.chain.large-first': '3f801000',
  'squares.fma-chain.large-first': '3f801000',
  'squares.pair.large-first': '3f801000',
  'squares.pair-fma.large-first': '3f801001',
  // [1, 2^-12, 2^-12, 2^-12]: one at a time each 2^-24 ties back to 1; in pairs,
  // fl(1 + 2^-24) = 1 and 2^-24 + 2^-24 = 2^-23, so 1 + 2^-23.
  'squares.chain.one-then-three-small': '3f800000',
  'squares.fma-chain.one-then-three-small': '3f800000',
  'squares.pair.one-then-three-small': '3f800001',
  'squares.pair-fma.one-then-three-small': '3f800001',
  // [2^-64, 2^-64]: 2^-128 + 2^-128 = 2^-127 kept; every square (or fma result) flushed.
  'squares.chain.subnormal-square.keep': '00400000',
  'squares.fma-chain.subnormal-square.keep': '00400000',
  'squares.pair.subnormal-square.keep': '00400000',
  'squares.pair-fma.subnormal-square.keep': '00400000',
  'squares.chain.subnormal-square.flush': '00000000',
  'squares.fma-chain.subnormal-square.flush': '00000000',
  'squares.pair.subnormal-square.flush': '00000000',
  'squares.pair-fma.subnormal-square.flush': '00000000',
  // [1, 0, 2^-12, 0, 2^-12, 0, 2^-12, 0]: the chains and one run of pairs add each 2^-24 to 1
  // and tie back to 1; two runs of four (vLLM's vectors, each summed from 0) give
  // fl(1 + 2^-24) = 1 and 2^-24 + 2^-24 = 2^-23, then 1 + 2^-23.
  'squares.chain.one-run-of-eight': '3f800000',
  'squares.fma-chain.one-run-of-eight': '3f800000',
  'squares.pair.one-run-of-eight': '3f800000',
  'squares.pair-fma.one-run-of-eight': '3f800000',
  'squares.chain.runs-of-four': '3f800000',
  'squares.fma-chain.runs-of-four': '3f800000',
  'squares.pair.runs-of-four': '3f800001',
  'squares.pair-fma.runs-of-four': '3f800001',
};

beforeAll(() => {
  if (!available) {
    if (inCi) throw new Error('CI=true but a C++ compiler or make is missing: install g++ and make so row_math.h is checked');
    return;
  }
  const build = spawnSync('make', ['-C', HIP_DIR, 'row-math-check', `CXX=${compiler as string}`], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`make -C hip row-math-check failed:\n${build.stdout}${build.stderr}`);
});

const check = available || inCi ? it : it.skip;
if (!available && !inCi) it.skip('needs a C++ compiler and make (CI=true makes this a failure)', () => {});

describe('bits.h f32 operations and row_math.h sums of squares, host build', () => {
  check('give the hand-derived bits', () => {
    const run = spawnSync(ROW_MATH_CHECK, [], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const got = new Map(
      run.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    expect([...got.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, bits] of Object.entries(EXPECTED)) expect(got.get(name), name).toBe(bits);
  });
});

// bits.h's f32 operations (one rounding each, subnormals flushed in integers for the contract's
// f32Subnormals 'flush') and row_math.h's per-thread sums of squares, compiled for the host
// (hip/build/host/row_math_check), against bits derived by hand below. Values: 2^-12 =
// 0x39800000 (square 2^-24 exact), 1 + 2^-12 = 0x3f800800 (square 1 + 2^-11 + 2^-24 exact,
// which rounds to 1 + 2^-11 = 0x3f801000: a tie, to even), 2^-64 = 0x1f800000 (square 2^-128 =
// 0x00200000, subnormal).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { Contract, PerThreadPattern } from '../../src/contracts/schema.js';
import { checkContractForShape, parseContract } from '../../src/contracts/validate.js';
import { planSumOfSquares } from '../../src/engines/cpu/sumOfSquares.js';
import { reductionPlan } from '../../src/engines/layout/reduction.js';
import { generateInputs } from '../../src/fixtures/inputs.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { f32Arithmetic } from '../../src/numerics/f32ops.js';
import { HIP_DIR, hostBuild } from './hostBuild.js';

const ROW_MATH_CHECK = join(HIP_DIR, 'build', 'host', 'row_math_check');

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

const { check } = hostBuild('row-math-check', 'row_math.h is checked');

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

// aiter's local_device_load_rmsnorm sum of squares (the 2-stage kernel's smem-halving tree): the
// host model in row_math_check.cpp (written from ROCm/aiter@e4048607 custom_all_reduce.cuh
// :1342-1370, :1468-1496; its per-thread loop is the kernel's own halvingThreadSquares) against the
// CPU engine's plan for the aiter-2stage presets, bit for bit, on seeded rows and edge rows, for
// every per-thread pattern of the schema and the block sizes the kernel takes.
const PATTERNS: readonly PerThreadPattern[] = ['fma-chain', 'chain', 'pair', 'pair-fma'];

interface HalvingRow {
  readonly what: string;
  readonly pattern: PerThreadPattern;
  readonly subnormals: 'keep' | 'flush';
  readonly blockSize: number;
  /** f32 norm inputs, as bits. */
  readonly x: Uint32Array;
}

/** The preset's contract with the tree's block size, the per-thread pattern and the subnormal mode set. */
function halvingContract(preset: string, row: HalvingRow): Contract {
  const c = getPreset(preset).contract;
  const tree = c.norm.sumOfSquares.tree;
  if (tree.kind !== 'smem-halving') throw new Error(`${preset} has tree ${tree.kind}`);
  return parseContract({
    ...c,
    f32Subnormals: row.subnormals,
    norm: { ...c.norm, sumOfSquares: { perThread: row.pattern, tree: { ...tree, blockSize: row.blockSize } } },
  });
}

function engineSumOfSquares(preset: string, row: HalvingRow): number {
  const contract = halvingContract(preset, row);
  const shape = checkContractForShape(contract, { ranks: 1, tokens: 1, hidden: row.x.length });
  const x = Float32Array.from(row.x, (b) => f32FromBits(b));
  return bitsFromF32(planSumOfSquares(reductionPlan(contract, shape), row.pattern, f32Arithmetic(row.subnormals), x));
}

function modelSumsOfSquares(rows: readonly HalvingRow[]): string[] {
  const input = rows.map((r) => `${r.pattern} ${r.subnormals} ${r.blockSize} ${Array.from(r.x, (b) => b.toString(16)).join(' ')}`).join('\n') + '\n';
  const run = spawnSync(ROW_MATH_CHECK, ['halving'], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`row_math_check halving failed: ${run.stdout}${run.stderr}`);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines.length).toBe(rows.length);
  return lines.map((line) => line.replace(/^sumsq /, ''));
}

const hex = (bits: number) => (bits >>> 0).toString(16).padStart(8, '0');

/** Norm inputs as the 2-stage kernel forms them, x = fround(ar + residual) of bf16 values, from a
 *  committed input generator (seeded). */
function generatedRows(generator: string, hidden: number, seed: number): Uint32Array {
  const g = generateInputs(generator, { ranks: 1, tokens: 1, hidden, group: hidden % 128 === 0 ? 128 : undefined, seed });
  return Uint32Array.from({ length: hidden }, (_, i) => bitsFromF32(Math.fround(f32FromBits(g.rankInputs[0][i] << 16) + f32FromBits(g.residual[i] << 16))));
}

/** Hand-made rows: 1 = 0x3f800000, 2^-12 = 0x39800000 (square 2^-24: each one alone ties back to
 *  1, in pairs it moves 1 by an ulp), 2^-64 = 0x1f800000 (square subnormal), 0x00000001 (a
 *  subnormal input), 2^20 = 0x49800000 (absorbs the small squares added to it). */
function edgeRows(hidden: number): [string, Uint32Array][] {
  const fill = (f: (i: number) => number) => Uint32Array.from({ length: hidden }, (_, i) => f(i));
  return [
    ['ties: 1 then 2^-12 everywhere', fill((i) => (i === 0 ? 0x3f800000 : 0x39800000))],
    ['ties: 1 in the last pack, 2^-12 in one element of each other pack', fill((i) => (i === hidden - 1 ? 0x3f800000 : i % 8 === 0 ? 0x39800000 : 0))],
    ['absorption: 2^20 in pack 0, small values elsewhere', fill((i) => (i === 3 ? 0x49800000 : 0x3f800000 + ((i * 2654435761) & 0xffff)))],
    ['absorption: 2^20 in the middle pack', fill((i) => (i === hidden >> 1 ? 0x49800000 : 0x3c000000 | ((i * 40503) & 0x7fffff)))],
    ['subnormal squares: 2^-64 everywhere', fill(() => 0x1f800000)],
    ['subnormal squares beside 2^-60', fill((i) => (i % 5 === 0 ? 0x21800000 : 0x1f800000))],
    ['subnormal inputs', fill((i) => (i % 3 === 0 ? 0x00000001 + i : 0x807fffff - i))],
    ['signed zeros and one value', fill((i) => (i === hidden - 3 ? 0xbf800001 : i % 2 === 0 ? 0x80000000 : 0))],
  ];
}

describe('smem-halving (aiter local_device_load_rmsnorm): host model against the CPU engine', () => {
  const preset = 'aiter-2stage@gfx942';
  const rows: HalvingRow[] = [];
  // The preset's pattern first: the one the contract names.
  expect(getPreset(preset).contract.norm.sumOfSquares.perThread).toBe('chain');
  // Hidden sizes: one pack; packs fewer than the threads; the golden sizes 2880 (360 packs, under
  // 512 threads) and 7168 (896 packs: threads 0..383 take two); 4104 = 513 packs (thread 0 alone
  // takes two); 8192 = 1024 packs (every thread two at 512).
  const shapes: [number, number][] = [
    [8, 64],
    [40, 64],
    [520, 64],
    [1024, 128],
    [2880, 512],
    [4104, 512],
    [7168, 512],
    [7168, 256],
    [8192, 512],
    [2048, 1024],
  ];
  let seed = 1;
  for (const pattern of PATTERNS) {
    for (const subnormals of ['flush', 'keep'] as const) {
      for (const [hidden, blockSize] of shapes) {
        for (const generator of ['random', 'cancellation', 'residual-outliers', 'bf16-ties', 'subnormals']) {
          rows.push({ what: `${generator} s${seed} H${hidden}`, pattern, subnormals, blockSize, x: generatedRows(generator, hidden, seed++) });
        }
        for (const [what, x] of edgeRows(hidden)) rows.push({ what: `${what} H${hidden}`, pattern, subnormals, blockSize, x });
      }
    }
  }

  check('gives the engine bits on every row, pattern, subnormal mode and block size', () => {
    const model = modelSumsOfSquares(rows);
    let mismatches = 0;
    rows.forEach((row, i) => {
      const engine = hex(engineSumOfSquares(preset, row));
      if (model[i] !== engine) mismatches++;
      expect(model[i], `${row.pattern} ${row.subnormals} tnum ${row.blockSize}: ${row.what}`).toBe(engine);
    });
    expect(mismatches).toBe(0);
    // gfx950 differs from gfx942 in its downcasts only: the same sums.
    const gfx950 = rows.filter((_, i) => i % 97 === 0);
    expect(modelSumsOfSquares(gfx950)).toEqual(gfx950.map((row) => hex(engineSumOfSquares('aiter-2stage@gfx950', row))));
  });

  check('the rows tell the halving order from other orders (a check that cannot fail proves nothing)', () => {
    // The same rows summed as one fma chain, and (where more packs than half the threads give
    // the top half of the tree something to add) with half the threads: sums must differ, else
    // the rows could not see a wrong tree.
    const sample = rows.filter((r) => r.pattern === 'fma-chain' && r.subnormals === 'flush' && r.blockSize > 64 && r.x.length / 8 > r.blockSize / 2);
    const model = modelSumsOfSquares(sample);
    let chainDiffers = 0;
    let halfDiffers = 0;
    const f32 = f32Arithmetic('flush');
    sample.forEach((row, i) => {
      let acc = 0;
      for (const b of row.x) acc = f32.fma(f32FromBits(b), f32FromBits(b), acc);
      if (hex(bitsFromF32(acc)) !== model[i]) chainDiffers++;
      if (hex(engineSumOfSquares(preset, { ...row, blockSize: row.blockSize / 2 })) !== model[i]) halfDiffers++;
    });
    expect(sample.length).toBeGreaterThan(40);
    expect(chainDiffers).toBeGreaterThan(sample.length / 4);
    // Half the threads moves only the top of the tree: fewer rows see it (5 of 78 when written).
    expect(halfDiffers).toBeGreaterThanOrEqual(3);
  });
});

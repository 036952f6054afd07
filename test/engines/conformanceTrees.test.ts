import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { ContractInput, PerThreadPattern, Shape } from '../../src/contracts/schema.js';
import { parseContract } from '../../src/contracts/validate.js';
import { planSumOfSquares } from '../../src/engines/cpu/sumOfSquares.js';
import { PADDING_ELEMENT, reductionPlan, type ReductionPlan } from '../../src/engines/layout/reduction.js';
import { decodeSafetensors } from '../../src/fixtures/safetensors.js';
import { bf16FromF32Bits } from '../../src/numerics/bf16.js';
import { bitsFromF32 } from '../../src/numerics/f32.js';
import { IEEE_F32 } from '../../src/numerics/f32ops.js';

// The layout module's plans for the trees of the captured real kernels, against what the GPU
// and the bit-exact Python emulations say:
// - conformance/captures/probes.json: 51,189 probes of the eager mean(-1) tree on an H200, each
//   "how many leaves sit under the node that joins elements i and j" (2^40 and -2^40 among ones,
//   SPECS.md T1), against the torch-reduce plan's own tree, probe by probe;
// - conformance/tree-sums.json (conformance/emulate/tree_sums.py): the emulations' row sums of
//   squares on the capture inputs (T1, T2, every T3 autotune candidate), against the plans'.

const root = fileURLToPath(new URL('../../conformance/', import.meta.url));
type Tree = ContractInput['norm']['sumOfSquares']['tree'];

function planFor(tree: Tree, perThread: PerThreadPattern, shape: Shape): ReductionPlan {
  const base = getPreset('unfused').contract;
  return reductionPlan(parseContract({ ...base, norm: { ...base.norm, sumOfSquares: { perThread, tree } } }), shape);
}

/** The plan's tree as a forest of binary nodes: every element added to a lane and every combine
 *  step makes a node over the two it joins (a lane's first element, or a step with an empty
 *  side, makes none); the number of leaves under the lowest node joining i and j. */
function lcaLeaves(plan: ReductionPlan, hidden: number): (i: number, j: number) => number {
  const parent: number[] = [];
  const leaves: number[] = [];
  const node = (count: number): number => {
    parent.push(-1);
    leaves.push(count);
    return parent.length - 1;
  };
  const leafOf = Array.from({ length: hidden }, () => node(1));
  const join = (a: number, b: number): number => {
    if (a < 0) return b;
    if (b < 0) return a;
    const n = node(leaves[a] + leaves[b]);
    parent[a] = n;
    parent[b] = n;
    return n;
  };
  const slot = Array.from({ length: plan.slots }, (_, lane) => {
    let top = -1;
    for (let k = plan.laneStart[lane]; k < plan.laneStart[lane + 1]; k++) {
      if (plan.elements[k] !== PADDING_ELEMENT) top = join(top, leafOf[plan.elements[k]]);
    }
    return top;
  });
  for (let s = 0; s < plan.steps.length; s += 3) slot[plan.steps[s]] = join(slot[plan.steps[s + 1]], slot[plan.steps[s + 2]]);
  return (i, j) => {
    const ancestors = new Set<number>();
    for (let n = leafOf[i]; n >= 0; n = parent[n]) ancestors.add(n);
    for (let n = leafOf[j]; n >= 0; n = parent[n]) if (ancestors.has(n)) return leaves[n];
    throw new Error(`elements ${i} and ${j} never meet`);
  };
}

describe('the torch-reduce plan answers every GPU tree probe of eager mean(-1) (H200, torch 2.11.0)', () => {
  const probes = JSON.parse(readFileSync(`${root}captures/probes.json`, 'utf8')) as Record<string, { i: number[]; j: number[]; lca_leaves: number[] }>;
  test('the probe file holds all 51,189 probes over the six shapes', () => {
    expect(Object.keys(probes).sort()).toEqual(['mean_m16_h2048', 'mean_m16_h4096', 'mean_m16_h7168', 'mean_m4_h2048', 'mean_m4_h4096', 'mean_m4_h7168']);
    expect(Object.values(probes).reduce((n, p) => n + p.i.length, 0)).toBe(51189);
  });
  test.each(Object.keys(probes).sort())('%s', (key) => {
    const [, tokens, hidden] = /^mean_m(\d+)_h(\d+)$/.exec(key)!.map(Number);
    const lca = lcaLeaves(planFor({ kind: 'torch-reduce' }, 'chain', { ranks: 1, tokens, hidden }), hidden);
    const { i, j, lca_leaves: measured } = probes[key];
    const wrong = i.flatMap((_, k) => (lca(i[k], j[k]) === measured[k] ? [] : [`(${i[k]}, ${j[k]}): plan ${lca(i[k], j[k])}, GPU ${measured[k]}`]));
    expect(wrong.slice(0, 5)).toEqual([]);
  });
  test('increasing offsets (the ROCm order) would not answer them', () => {
    const { i, j, lca_leaves: measured } = probes['mean_m4_h2048'];
    const lca = lcaLeaves(planFor({ kind: 'torch-reduce', warpShuffle: 'increasing' }, 'chain', { ranks: 1, tokens: 4, hidden: 2048 }), 2048);
    expect(i.some((_, k) => lca(i[k], j[k]) !== measured[k])).toBe(true);
  });
});

interface TreeSums {
  readonly golden: string;
  readonly tokens: number;
  readonly hidden: number;
  readonly sums: Record<string, number[]>;
}

/** tree_sums.py's keys: the tree (and the Inductor autotune candidate) and the row it sums. */
const INDUCTOR_CONFIGS: Readonly<Record<string, Tree>> = {
  '2x2048': { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 8, numWarps: 8 },
  '1x2048': { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 4, numWarps: 16 },
  '1x4096': { kind: 'inductor-sum', rBlock: 4096, sizePerThread: 8, numWarps: 16 },
  '1x8192': { kind: 'inductor-sum', rBlock: 8192, sizePerThread: 8, numWarps: 16 },
};

function treeOf(key: string): { tree: Tree; perThread: PerThreadPattern; row: 'xf' | 'h' } {
  const [kind, second, third] = key.split(':');
  if (kind === 'torch-reduce') return { tree: { kind }, perThread: 'chain', row: second as 'xf' | 'h' };
  if (kind === 'torch-rms-norm') return { tree: { kind }, perThread: 'fma-chain', row: second as 'xf' | 'h' };
  if (kind === 'inductor-sum' && INDUCTOR_CONFIGS[second]) return { tree: INDUCTOR_CONFIGS[second], perThread: 'fma-chain', row: third as 'xf' | 'h' };
  throw new Error(`tree-sums.json: unknown key '${key}'`);
}

describe('the plans give the emulated sums of squares on the capture inputs (conformance/tree-sums.json)', () => {
  const table = JSON.parse(readFileSync(`${root}tree-sums.json`, 'utf8')) as TreeSums[];
  test('six inputs, every tree of SPECS.md T1-T3', () => {
    expect(table.length).toBe(6);
    expect(new Set(table.flatMap((t) => Object.keys(t.sums)))).toEqual(
      new Set([
        'torch-reduce:xf',
        'torch-reduce:h',
        'torch-rms-norm:h',
        'inductor-sum:2x2048:xf',
        'inductor-sum:1x2048:xf',
        'inductor-sum:1x4096:xf',
        'inductor-sum:1x8192:xf',
      ]),
    );
  });
  test.each(table.map((t) => [t.golden, t] as const))('%s', (_name, entry) => {
    const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(`${root}inputs/${entry.golden}`)), entry.golden);
    const bf16 = (name: string): Uint16Array => {
      const t = tensors.get(name);
      if (t?.dtype !== 'BF16') throw new Error(`${entry.golden}: ${name} is not BF16`);
      return t.data;
    };
    const x = bf16('rank0.input');
    const r = bf16('residual');
    const { tokens, hidden } = entry;
    const value = (bits: number): number => new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
    const rows = (which: 'xf' | 'h'): Float32Array[] =>
      Array.from({ length: tokens }, (_, m) =>
        Float32Array.from({ length: hidden }, (_, k) => {
          const sum = Math.fround(value(r[m * hidden + k]) + value(x[m * hidden + k]));
          return which === 'xf' ? sum : value(bf16FromF32Bits(bitsFromF32(sum), 'rne'));
        }),
      );
    const mismatches: string[] = [];
    for (const [key, expected] of Object.entries(entry.sums)) {
      const { tree, perThread, row } = treeOf(key);
      const plan = planFor(tree, perThread, { ranks: 1, tokens, hidden });
      rows(row).forEach((values, m) => {
        const got = bitsFromF32(planSumOfSquares(plan, perThread, IEEE_F32, values));
        if (got !== expected[m]) mismatches.push(`${key} row ${m}: plan 0x${got.toString(16)}, emulation 0x${expected[m].toString(16)}`);
      });
    }
    expect(mismatches).toEqual([]);
  });
});

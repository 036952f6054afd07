import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { Contract } from '../../src/contracts/schema.js';
import { checkContractForShape, ContractError, parseContract } from '../../src/contracts/validate.js';
import { CONTRACT_VOCABULARY, leafValues, unionKinds, type LeafValue } from '../../src/contracts/vocabulary.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { caseOf, randomBf16Values } from '../engines/caseBuilder.js';

// The vocabulary is derived from the schema, and the CPU engine computes every value of it
// (the hardwareOps 'sm90' slots through the tables measured on an H200, src/numerics/hardware).

const SHAPE = { ranks: 2, tokens: 3, hidden: 1024 };

/** A member of each union kind that fits SHAPE (fields without defaults filled in). */
const EXAMPLES: Readonly<Record<string, Readonly<Record<string, Record<string, unknown>>>>> = {
  'allReduce.order': {
    natural: { kind: 'natural' },
    rotated: { kind: 'rotated' },
    'own-first': { kind: 'own-first' },
    ring: { kind: 'ring' },
    'nccl-ring': {
      kind: 'nccl-ring',
      protocol: 'simple',
      channels: 2,
      rings: [
        [0, 1],
        [0, 1],
      ],
    },
    'nccl-tree': {
      kind: 'nccl-tree',
      protocol: 'simple',
      channels: 2,
      chains: [
        [1, 0],
        [0, 1],
      ],
    },
  },
  'norm.sumOfSquares.tree': {
    sequential: { kind: 'sequential' },
    butterfly: { kind: 'butterfly' },
    cub: { kind: 'cub' },
    'dpp-wave64': { kind: 'dpp-wave64', blockSize: 128, perThread: 8 },
    'smem-halving': { kind: 'smem-halving', blockSize: 128, perThread: 8 },
    'triton-sum': { kind: 'triton-sum', block: 2048, numWarps: 4, warpSize: 32 },
    cluster: { kind: 'cluster', smCount: 132 },
    'torch-reduce': { kind: 'torch-reduce' },
    'torch-rms-norm': { kind: 'torch-rms-norm' },
    'inductor-sum': { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 1, numWarps: 4 },
  },
  'quant.scaleLayout': { 'row-major': { kind: 'row-major' }, 'column-major': { kind: 'column-major' }, 'packed-ue8m0': { kind: 'packed-ue8m0' } },
};

/** Representative numbers where a number means its own behaviour. */
const NUMBERS: Readonly<Record<string, readonly number[]>> = {
  'quant.staticScale': [0.5],
  'quant.divisor': [224],
  'quant.amaxFloor': [1e-10],
  'quant.clamp': [224],
  'quant.groupSize': [64],
  'norm.sumOfSquares.tree[cub].blockSize': [100],
  'allReduce.order[nccl-ring].buffSize': [1 << 20],
};

const aiterQuant = getPreset('aiter-1stage-quant').contract;
/** Presets, and aiter's fused quant without its zero rule (a static scale takes none). */
const BASES: readonly Contract[] = [
  ...['aiter-1stage-quant', 'vllm-group-quant-ue8m0', 'vllm-group-quant', 'unfused', 'nccl-ring', 'vllm-ar-rms-quant-f32weight'].map(
    (n) => getPreset(n).contract,
  ),
  parseContract({ ...aiterQuant, quant: { ...aiterQuant.quant, zeroAmaxScaleOne: false } }),
];

/** A JSON copy of `contract` with the leaf at `path` (union member paths 'a.b[kind].c' put an
 *  example member of that kind there first) set to `value`. */
function withLeaf(contract: Contract, path: string, value: LeafValue): unknown {
  const root = JSON.parse(JSON.stringify(contract)) as Record<string, unknown>;
  const member = /^(.*)\[([^\]]+)\]\.(\w+)$/.exec(path);
  const set = (dotted: string, v: unknown): boolean => {
    const keys = dotted.split('.');
    let node = root;
    for (const k of keys.slice(0, -1)) {
      if (node[k] === null || typeof node[k] !== 'object') return false;
      node = node[k] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = v;
    return true;
  };
  if (member) {
    const [, unionPath, kind, field] = member;
    return set(unionPath, { ...EXAMPLES[unionPath][kind], [field]: value }) ? root : null;
  }
  return set(path, value) ? root : null;
}

function inputsFor(contract: Contract) {
  const { ranks, tokens, hidden } = SHAPE;
  const row = (seed: number) => randomBf16Values(tokens * hidden, seed);
  return caseOf(
    Array.from({ length: ranks }, (_, r) => row(r + 1)),
    row(9),
    randomBf16Values(hidden, 7, 1).map((w) => 1 + w / 4),
    tokens,
    contract.norm.weight.dtype,
  );
}

type Outcome = 'ran' | 'invalid';

function runWith(candidate: unknown): Outcome {
  let contract: Contract;
  try {
    contract = parseContract(candidate);
    checkContractForShape(contract, SHAPE);
  } catch (e) {
    if (e instanceof ContractError) return 'invalid';
    throw e;
  }
  runCpuEngine(contract, SHAPE, inputsFor(contract));
  return 'ran';
}

/** Every base the value fits, run. */
function outcomes(path: string, value: LeafValue): Outcome[] {
  return BASES.map((base) => withLeaf(base, path, value))
    .filter((c) => c !== null)
    .map(runWith);
}

describe('the vocabulary is the schema', () => {
  test('unions, enums and nullable sections are read from the zod schema', () => {
    expect(unionKinds('norm.sumOfSquares.tree')).toEqual([
      'sequential',
      'butterfly',
      'cub',
      'dpp-wave64',
      'smem-halving',
      'triton-sum',
      'cluster',
      'torch-reduce',
      'torch-rms-norm',
      'inductor-sum',
    ]);
    expect(unionKinds('allReduce.order')).toEqual(['natural', 'rotated', 'own-first', 'ring', 'nccl-ring', 'nccl-tree']);
    expect(leafValues('norm.sumOfSquares.perThread')).toEqual(['chain', 'fma-chain', 'pair', 'pair-fma']);
    expect(leafValues('quant.groupSize')).toEqual(['token']);
    expect(leafValues('quant.amaxFloor')).toEqual([null]);
    expect(CONTRACT_VOCABULARY.leaves.find((l) => l.path === 'norm.sumOfSquares.tree[cub].vectorWidth')).toMatchObject({
      values: [1, 2, 4, 8],
      defaultValue: 1,
    });
    expect(CONTRACT_VOCABULARY.nullableSections).toEqual(['residual', 'quant', 'quant.scaleFloor']);
    expect(() => leafValues('norm.kernelRstd')).toThrow("no leaf 'norm.kernelRstd'");
  });
});

describe('the CPU engine computes every value of the vocabulary', () => {
  const cases: [string, LeafValue][] = [];
  for (const leaf of CONTRACT_VOCABULARY.leaves) {
    for (const value of leaf.values) cases.push([leaf.path, value]);
    for (const value of NUMBERS[leaf.path] ?? []) cases.push([leaf.path, value]);
  }
  for (const union of CONTRACT_VOCABULARY.unions)
    for (const kind of union.kinds) cases.push([`${union.path}`, EXAMPLES[union.path][kind] as unknown as LeafValue]);
  for (const section of CONTRACT_VOCABULARY.nullableSections) cases.push([section, null]);

  test.each(cases.map(([path, value]) => [`${path} = ${JSON.stringify(value)}`, path, value] as const))('%s', (_label, path, value) => {
    expect(outcomes(path, value)).toContain('ran');
  });
});

import { z } from 'zod';
import { ContractSchema, LIMITS, ShapeSchema, type Contract, type Shape, type SumOfSquaresTree } from './schema.js';

/** An expected, user-facing error: the CLI prints its message without a stack trace. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
}

function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** One line per zod issue, each naming the field path; an unknown key is named by its own path
 *  (`norm.epsilon: not a contract field`), not by the object that holds it. */
export function issueLines(error: z.ZodError, root: string): string[] {
  return error.issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') return i.keys.map((key) => `${issuePath([...i.path, key])}: not a contract field`);
    return [`${issuePath(i.path) || root}: ${i.message}`];
  });
}

/** Parse, normalise (defaults) and apply the cross-field rules of the schema; issues carry paths. */
export function parseContract(input: unknown): Contract {
  const parsed = ContractSchema.safeParse(input);
  if (!parsed.success) throw new ContractError(`invalid contract:\n  ${issueLines(parsed.error, '(contract)').join('\n  ')}`);
  return parsed.data;
}

/** The most elements of one output tensor (tokens x hidden, per output rank) an engine will
 *  allocate: a shape within LIMITS could otherwise ask for 2^38 elements. */
export const MAX_CASE_ELEMENTS = 2 ** 31;

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Elements each lane reads as one contiguous run, for the pair patterns (x0, x1): null where the
 *  tree gives a lane no contiguous runs (Triton's tl.sum squares element by element). */
function contiguousRun(tree: SumOfSquaresTree, hidden: number): number | null {
  switch (tree.kind) {
    case 'sequential':
      return hidden;
    case 'cub':
      return tree.vectorWidth;
    case 'triton-sum':
    case 'torch-reduce':
    case 'torch-rms-norm':
    case 'inductor-sum':
      return null;
    case 'butterfly':
    case 'dpp-wave64':
    case 'smem-halving':
    case 'cluster':
      return tree.perThread;
  }
}

/** An NCCL order lists every rank once per channel, and its planner divides over at most the
 *  communicator's channels (one ring or chain each). */
function ncclOrderProblems(order: Extract<Contract['allReduce']['order'], { kind: 'nccl-ring' | 'nccl-tree' }>, ranks: number): string[] {
  const field = order.kind === 'nccl-ring' ? 'rings' : 'chains';
  const perChannel = order.kind === 'nccl-ring' ? order.rings : order.chains;
  const problems = perChannel.flatMap((list, c) => {
    const sorted = [...list].sort((a, b) => a - b);
    const permutation = sorted.length === ranks && sorted.every((r, i) => r === i);
    if (!permutation) return [`allReduce.order.${field}[${c}]: [${list.join(', ')}] is not a permutation of the ${ranks} ranks`];
    // A ring's position is its ring index only from rank 0 (NVIDIA/nccl@5067397c src/init.cc:802), where rank 0 prints it.
    if (order.kind === 'nccl-ring' && list[0] !== 0) return [`allReduce.order.rings[${c}]: [${list.join(', ')}] must start at rank 0, as rank 0 prints it`];
    return [];
  });
  if (order.channels > perChannel.length) {
    problems.push(`allReduce.order.channels: ${order.channels} channels but ${perChannel.length} ${field} (one per communicator channel)`);
  }
  return problems;
}

/** Rules that need the problem size: divisibility, thread geometry, ring permutations, and an
 *  up-front bound on the memory the engines will allocate. */
export function checkContractForShape(contract: Contract, shapeInput: Shape): Shape {
  const shapeParsed = ShapeSchema.safeParse(shapeInput);
  if (!shapeParsed.success) {
    throw new ContractError(`invalid shape: ${issueLines(shapeParsed.error, '(shape)').join('; ')}`);
  }
  const shape = shapeParsed.data;
  const problems: string[] = [];
  const { hidden, ranks, tokens } = shape;
  const order = contract.allReduce.order;
  if (order.kind === 'ring' && order.ring) {
    const sorted = [...order.ring].sort((a, b) => a - b);
    if (sorted.length !== ranks || sorted.some((r, i) => r !== i)) {
      problems.push(`allReduce.order.ring: [${order.ring.join(', ')}] is not a permutation of the ${ranks} ranks`);
    }
  }
  if (order.kind === 'nccl-ring' || order.kind === 'nccl-tree') problems.push(...ncclOrderProblems(order, ranks));
  const sumOfSquares = contract.norm.sumOfSquares;
  const tree = sumOfSquares.tree;
  const treePath = 'norm.sumOfSquares.tree';
  switch (tree.kind) {
    case 'sequential':
      break;
    case 'cub':
      if (hidden % tree.vectorWidth !== 0) problems.push(`${treePath}.vectorWidth: ${tree.vectorWidth} does not divide hidden ${hidden}`);
      break;
    case 'triton-sum': {
      if (!isPowerOfTwo(tree.block)) problems.push(`${treePath}.block: ${tree.block} is not a power of two (tl.arange needs one)`);
      if (tree.block < hidden) problems.push(`${treePath}.block: ${tree.block} is smaller than hidden ${hidden} (one block holds the row)`);
      if (!isPowerOfTwo(tree.sizePerThread)) problems.push(`${treePath}.sizePerThread: ${tree.sizePerThread} is not a power of two`);
      const threads = tree.warpSize * tree.numWarps;
      if (threads > LIMITS.blockThreads)
        problems.push(`${treePath}.numWarps: ${tree.numWarps} warps of ${tree.warpSize} lanes exceed ${LIMITS.blockThreads} threads`);
      if (tree.sizePerThread * threads > tree.block)
        problems.push(`${treePath}.sizePerThread: ${tree.sizePerThread} x ${threads} threads exceed block ${tree.block} (a replicated layout is not modelled)`);
      if (tree.threadReduce === 'tree' && sumOfSquares.perThread !== 'chain')
        problems.push(
          `norm.sumOfSquares.perThread: '${sumOfSquares.perThread}' with threadReduce 'tree' is not modelled (the squares are rounded, then added by the ` +
            `tree); use 'chain'`,
        );
      break;
    }
    case 'dpp-wave64':
    case 'smem-halving':
      if (!isPowerOfTwo(tree.blockSize) || tree.blockSize < 64)
        problems.push(`${treePath}.blockSize: ${tree.blockSize} is not a power-of-two number of 64-lane waves`);
      if (hidden % tree.perThread !== 0) problems.push(`${treePath}.perThread: ${tree.perThread} does not divide hidden ${hidden}`);
      if (tree.kind === 'dpp-wave64' && tree.blockSize * tree.perThread < hidden)
        problems.push(`${treePath}.blockSize: ${tree.blockSize} threads of ${tree.perThread} do not cover hidden ${hidden}`);
      if (tree.kind === 'dpp-wave64' && tree.layout === 'interleaved' && tree.perThread % 4 !== 0)
        problems.push(`${treePath}.perThread: ${tree.perThread} is not a whole number of 8-byte loads (interleaved)`);
      break;
    case 'butterfly':
    case 'cluster':
      if (hidden % tree.perThread !== 0) problems.push(`${treePath}.perThread: ${tree.perThread} does not divide hidden ${hidden}`);
      break;
    case 'torch-reduce': {
      // Reduce.cuh's vectorized path with every row 16-byte aligned (a row start off the vector
      // grid shifts the tree row by row), one warp row per output (setReduceConfig).
      // The split of a row over warps depends on tokens too: layout/blockSize.ts torchReduceConfig refuses it.
      if (hidden <= 128 || hidden % 4 !== 0)
        problems.push(`${treePath}: hidden ${hidden} is not modelled (Reduce.cuh's vectorized path needs hidden > 128 and a multiple of 4)`);
      break;
    }
    case 'torch-rms-norm':
      if (hidden % 4 !== 0)
        problems.push(`${treePath}: hidden ${hidden} is not a multiple of 4 (torch's vectorized layer-norm kernel; the other is not modelled)`);
      break;
    case 'inductor-sum': {
      if (!isPowerOfTwo(tree.rBlock)) problems.push(`${treePath}.rBlock: ${tree.rBlock} is not a power of two (tl.arange needs one)`);
      if (!isPowerOfTwo(tree.sizePerThread)) problems.push(`${treePath}.sizePerThread: ${tree.sizePerThread} is not a power of two`);
      const tile = tree.sizePerThread * 32 * tree.numWarps;
      if (tree.numWarps * 32 > LIMITS.blockThreads) problems.push(`${treePath}.numWarps: ${tree.numWarps} warps exceed ${LIMITS.blockThreads} threads`);
      else if (tree.rBlock % tile !== 0)
        problems.push(`${treePath}.rBlock: ${tree.rBlock} is not a multiple of the layout tile ${tile} (sizePerThread x 32 x numWarps)`);
      // One pass: a thread's run of sizePerThread registers shares one mask only when H is a whole number of runs.
      if (tree.rBlock >= hidden && hidden % tree.sizePerThread !== 0)
        problems.push(`${treePath}.sizePerThread: ${tree.sizePerThread} does not divide hidden ${hidden} (masks within a thread's run are not modelled)`);
      break;
    }
  }
  if (sumOfSquares.perThread === 'pair' || sumOfSquares.perThread === 'pair-fma') {
    const run = contiguousRun(tree, hidden);
    if (run === null)
      problems.push(`norm.sumOfSquares.perThread: '${sumOfSquares.perThread}' needs element pairs, which tree '${tree.kind}' does not give a thread`);
    else if (run % 2 !== 0)
      problems.push(`norm.sumOfSquares.perThread: '${sumOfSquares.perThread}' needs an even run of elements per thread, tree '${tree.kind}' gives ${run}`);
  }
  const quant = contract.quant;
  if (quant && quant.groupSize !== 'token' && hidden % quant.groupSize !== 0) {
    problems.push(`quant.groupSize: ${quant.groupSize} does not divide hidden ${hidden}`);
  }
  const outputRanks = order.kind === 'own-first' ? ranks : 1;
  if (tokens * hidden * outputRanks > MAX_CASE_ELEMENTS) {
    problems.push(`${outputRanks > 1 ? `${outputRanks} output ranks x ` : ''}${tokens} tokens x ${hidden} hidden exceeds ${MAX_CASE_ELEMENTS} output elements`);
  }
  if (problems.length > 0) throw new ContractError(`contract does not fit ${ranks}x${tokens}x${hidden}:\n  ${problems.join('\n  ')}`);
  return shape;
}

/** JSON with sorted keys, so equal contracts have equal text and digests. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

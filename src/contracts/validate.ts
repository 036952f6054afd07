import { z } from 'zod';
import { ContractSchema, ShapeSchema, type Contract, type Shape } from './schema.js';

/** An expected, user-facing error: the CLI prints its message without a stack trace. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

/** Parse, normalise (defaults) and apply the cross-field rules of the schema; issues carry paths. */
export function parseContract(input: unknown): Contract {
  const parsed = ContractSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${issuePath(i.path) || '(contract)'}: ${i.message}`);
    throw new ContractError(`invalid contract:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

/** Rules that need the problem size: divisibility, ring permutations. */
export function checkContractForShape(contract: Contract, shapeInput: Shape): Shape {
  const shapeParsed = ShapeSchema.safeParse(shapeInput);
  if (!shapeParsed.success) {
    throw new ContractError(`invalid shape: ${z.prettifyError(shapeParsed.error)}`);
  }
  const shape = shapeParsed.data;
  const problems: string[] = [];
  const { hidden, ranks } = shape;
  const order = contract.allReduce.order;
  if (order.kind === 'ring' && order.ring) {
    const sorted = [...order.ring].sort((a, b) => a - b);
    if (sorted.length !== ranks || sorted.some((r, i) => r !== i)) {
      problems.push(`allReduce.order.ring: [${order.ring.join(', ')}] is not a permutation of the ${ranks} ranks`);
    }
  }
  const tree = contract.norm.sumOfSquares.tree;
  if (tree.kind === 'butterfly' && hidden % tree.perThread !== 0) {
    problems.push(`norm.sumOfSquares.tree.perThread: ${tree.perThread} does not divide hidden ${hidden}`);
  }
  if (contract.quant && hidden % contract.quant.groupSize !== 0) {
    problems.push(`quant.groupSize: ${contract.quant.groupSize} does not divide hidden ${hidden}`);
  }
  if (problems.length > 0) throw new ContractError(`contract does not fit ${ranks}x${shape.tokens}x${hidden}:\n  ${problems.join('\n  ')}`);
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

import type { Contract } from '../contracts/schema.js';
import { canonicalJson, ContractError, parseContract } from '../contracts/validate.js';
import { FP8_FORMATS } from '../numerics/fp8.js';

// The contract's dimensions as `explain` varies and names them: a field path and the values a
// real kernel might pick. Discriminated unions (rank order, reduction tree, amax floor) are one
// dimension each, so a difference reads as 'norm.sumOfSquares.tree: butterfly(...) vs cub(...)'.

const ATOMIC_PATHS: ReadonlySet<string> = new Set(['allReduce.order', 'norm.sumOfSquares.tree', 'quant.amaxFloor']);
/** Fields that document the real kernel without changing the oracle's bits: never evidence. */
const BIT_NEUTRAL_PATHS: ReadonlySet<string> = new Set(['norm.kernelRstd']);

export interface Dimension {
  /** The field path it sets, or the paths joined by ' + ' for linked fields. */
  readonly name: string;
  /** Each option sets one or more fields (path -> value). */
  readonly options: readonly Readonly<Record<string, unknown>>[];
  /** Only changes what the FP8 quant emits (q, scale): skipped when a candidate has neither. */
  readonly quantOnly: boolean;
}

const dim = (path: string, values: readonly unknown[], quantOnly = false): Dimension => ({
  name: path, options: values.map((v) => ({ [path]: v })), quantOnly,
});

export const DIMENSIONS: readonly Dimension[] = [
  dim('allReduce.roundResult', ['none', 'bf16']),
  dim('allReduce.accumulate', ['f32', 'bf16']),
  dim('allReduce.order', [{ kind: 'natural' }, { kind: 'rotated', packElems: 8 }, { kind: 'ring', chunkAlignElems: 8 }, { kind: 'own-first' }]),
  dim('bf16Rounding', ['rne', 'truncate']),
  dim('residual.add', ['f32', 'bf16']),
  dim('norm.input', ['f32', 'bf16']),
  // Which value the norm reads: the two fields move together (an f32 x exists only if the add stays f32).
  {
    name: 'residual.add + norm.input',
    options: [{ 'residual.add': 'f32', 'norm.input': 'f32' }, { 'residual.add': 'bf16', 'norm.input': 'bf16' }, { 'residual.add': 'f32', 'norm.input': 'bf16' }],
    quantOnly: false,
  },
  dim('norm.sumOfSquares.fma', [false, true]),
  dim('norm.sumOfSquares.tree', [
    { kind: 'sequential' },
    { kind: 'butterfly', perThread: 8, warpSize: 32 },
    { kind: 'butterfly', perThread: 8, warpSize: 64 },
    { kind: 'cub', blockSize: 'vllm', warpSize: 32 },
    { kind: 'cub', blockSize: 1024, warpSize: 32 },
    { kind: 'cub', blockSize: 256, warpSize: 32 },
  ]),
  dim('norm.multiplyOrder', ['x-rstd-w', 'x-w-rstd']),
  dim('norm.roundIntermediate', [false, true]),
  dim('norm.weight.castToBf16', [false, true]),
  dim('quant.bf16SideOutput', [false, true]),
  dim('quant.input', ['f32', 'bf16'], true),
  dim('quant.format', FP8_FORMATS, true),
  dim('quant.scale', ['divide', 'reciprocal'], true),
  dim('quant.quantize', ['divide', 'reciprocal'], true),
  dim('quant.amaxFloor', [{ on: 'none' }, { on: 'amax', value: 1e-10 }, { on: 'scale', value: 1e-10 }], true),
  dim('quant.zeroAmaxScaleOne', [false, true], true),
  dim('quant.ue8m0', ['none', 'ceil', 'floor', 'rne'], true),
  dim('quant.clamp', ['none', 224, 240, 448], true),
  dim('quant.saturation', ['satfinite', 'overflow'], true),
  dim('quant.scaleLayout', ['row-major', 'column-major'], true),
];

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A value as a kernel engineer reads it: 'bf16', 'ring(chunkAlignElems=8)', 'none' for null. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (isRecord(value)) {
    const tag = typeof value.kind === 'string' ? value.kind : typeof value.on === 'string' ? value.on : null;
    if (tag !== null) {
      const rest = Object.entries(value).filter(([k]) => k !== 'kind' && k !== 'on');
      return rest.length === 0 ? tag : `${tag}(${rest.map(([k, v]) => `${k}=${typeof v === 'object' ? canonicalJson(v) : String(v)}`).join(', ')})`;
    }
    return canonicalJson(value);
  }
  return String(value);
}

export function getPath(contract: Contract, path: string): unknown {
  let node: unknown = contract;
  for (const key of path.split('.')) {
    if (!isRecord(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** The contract with some fields set (path -> value), validated; null when that contract is not
 *  valid or a field does not exist in it (a quant field of a contract without quant). */
export function withFields(contract: Contract, fields: Readonly<Record<string, unknown>>): Contract | null {
  const copy = structuredClone(contract) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(fields)) {
    const keys = path.split('.');
    let node: Record<string, unknown> = copy;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (!isRecord(next)) return null;
      node = next;
    }
    node[keys[keys.length - 1]] = value;
  }
  try {
    return parseContract(copy);
  } catch (e) {
    if (e instanceof ContractError) return null;
    throw e;
  }
}

export interface DimensionDifference {
  readonly path: string;
  readonly a: string;
  readonly b: string;
}

/** Field paths where two contracts differ, at dimension granularity, in schema order; fields
 *  the engines' bits do not depend on are left out. */
export function dimensionDiff(a: Contract, b: Contract): DimensionDifference[] {
  const out: DimensionDifference[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (BIT_NEUTRAL_PATHS.has(path)) return;
    if (!ATOMIC_PATHS.has(path) && isRecord(x) && isRecord(y)) {
      for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])]) walk(x[key], y[key], path ? `${path}.${key}` : key);
      return;
    }
    if (canonicalJson(x ?? null) !== canonicalJson(y ?? null)) {
      out.push({ path, a: isRecord(x) && !ATOMIC_PATHS.has(path) ? 'present' : describeValue(x), b: isRecord(y) && !ATOMIC_PATHS.has(path) ? 'present' : describeValue(y) });
    }
  };
  walk(a, b, '');
  return out;
}

import type { Bf16RoundingSites, Contract } from '../contracts/schema.js';
import type { Bf16Rounding } from '../numerics/bf16.js';
import { canonicalJson, ContractError, parseContract } from '../contracts/validate.js';
import { FP8_FORMATS } from '../numerics/fp8.js';

// The contract's dimensions as `explain` varies and names them: a field path and the values a
// real kernel might pick. Discriminated unions (rank order, reduction tree, scale layout) are one
// dimension each, so a difference reads as 'norm.sumOfSquares.tree: butterfly(...) vs cub(...)'.

const ATOMIC_PATHS: ReadonlySet<string> = new Set(['allReduce.order', 'bf16Rounding', 'norm.sumOfSquares.tree', 'quant.scaleFloor', 'quant.scaleLayout']);
/** A hardware-op slot that is 'ieee' or 'inferred' on both sides documents the real kernel
 *  without changing the oracle's bits (the golden keeps the ieee value): never evidence. */
const HARDWARE_OP_PATH = /^hardwareOps\.[a-z]+$/;
const BIT_NEUTRAL_HARDWARE_OPS: ReadonlySet<unknown> = new Set(['ieee', 'inferred']);
function bitNeutral(path: string, a: unknown, b: unknown): boolean {
  return HARDWARE_OP_PATH.test(path) && BIT_NEUTRAL_HARDWARE_OPS.has(a) && BIT_NEUTRAL_HARDWARE_OPS.has(b);
}

/** Every f32 -> bf16 downcast site rounded the same way (the one-field rounding of schema v1). */
export function everySite(rounding: Bf16Rounding): Bf16RoundingSites {
  return {
    allReduceHop: rounding, allReduceResult: rounding, residualAdd: rounding, residualOut: rounding, normIntermediate: rounding, normOut: rounding,
  };
}

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
  dim('bf16Rounding', [everySite('rne'), everySite('truncate')]),
  dim('residual.add', ['f32', 'bf16']),
  dim('norm.input', ['f32', 'bf16']),
  // Which value the norm reads: the two fields move together (an f32 x exists only if the add stays f32).
  {
    name: 'residual.add + norm.input',
    options: [{ 'residual.add': 'f32', 'norm.input': 'f32' }, { 'residual.add': 'bf16', 'norm.input': 'bf16' }, { 'residual.add': 'f32', 'norm.input': 'bf16' }],
    quantOnly: false,
  },
  dim('norm.sumOfSquares.perThread', ['chain', 'fma-chain']),
  dim('norm.sumOfSquares.tree', [
    { kind: 'sequential' },
    { kind: 'butterfly', perThread: 8, warpSize: 32 },
    { kind: 'butterfly', perThread: 8, warpSize: 64 },
    { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 1 },
    { kind: 'cub', blockSize: 1024, warpSize: 32, vectorWidth: 1 },
    { kind: 'cub', blockSize: 256, warpSize: 32, vectorWidth: 1 },
  ]),
  dim('norm.multiplyOrder', ['x-rstd-w', 'x-w-rstd']),
  dim('norm.roundIntermediate', [false, true]),
  dim('norm.weight.castToBf16', [false, true]),
  dim('quant.bf16SideOutput', [false, true]),
  dim('quant.input', ['f32', 'bf16'], true),
  dim('quant.format', FP8_FORMATS, true),
  dim('quant.scale', ['divide', 'reciprocal'], true),
  dim('quant.quantize', ['divide', 'reciprocal'], true),
  // Where the 1e-10 floor applies: nowhere, on the amax (Triton), on the scale (vLLM CUDA).
  {
    name: 'quant.amaxFloor + quant.scaleFloor',
    options: [
      { 'quant.amaxFloor': null, 'quant.scaleFloor': null },
      { 'quant.amaxFloor': 1e-10, 'quant.scaleFloor': null },
      { 'quant.amaxFloor': null, 'quant.scaleFloor': { value: 1e-10, stage: 'before-ue8m0' } },
    ],
    quantOnly: true,
  },
  dim('quant.zeroAmaxScaleOne', [false, true], true),
  dim('quant.ue8m0', ['none', 'ceil', 'floor', 'rne'], true),
  dim('quant.clamp', ['none', 224, 240, 448], true),
  dim('quant.saturation', ['satfinite', 'overflow'], true),
  dim('quant.scaleLayout', [{ kind: 'row-major' }, { kind: 'column-major', tokenAlign: 1 }], true),
];

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A value as a kernel engineer reads it: 'bf16', 'ring(chunkAlignElems=8)', 'none' for null;
 *  an object whose fields all hold one value (every bf16 rounding site 'rne') reads as that value. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (isRecord(value)) {
    const fields = Object.values(value);
    if (fields.length > 1 && fields.every((v) => typeof v === 'string' && v === fields[0])) return String(fields[0]);
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
    if (bitNeutral(path, x, y)) return;
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

import { ContractSchema, type Bf16RoundingSites, type Contract } from '../contracts/schema.js';
import type { Bf16Rounding } from '../numerics/bf16.js';
import { canonicalJson } from '../contracts/validate.js';

// Contract fields by path, as `explain` reads, sets and names them. Which paths are dimensions
// is read from the schema (explainSpace.ts); a discriminated union is one dimension, so a
// difference reads as 'norm.sumOfSquares.tree: butterfly(...) vs cub(...)'.

/** Every f32 -> bf16 downcast site rounded the same way (the one-field rounding of schema v1). */
export function everySite(rounding: Bf16Rounding): Bf16RoundingSites {
  return {
    allReduceHop: rounding,
    allReduceResult: rounding,
    residualAdd: rounding,
    residualOut: rounding,
    normIntermediate: rounding,
    normOut: rounding,
  };
}

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

/** canonicalJson of each object asked about, kept: explain keys, compares and dedupes the same
 *  contracts and values thousands of times. Every object explain handles is never mutated once
 *  built (withFields clones before it writes), which is what makes keeping the text sound. */
const canonicalTexts = new WeakMap<object, string>();

/** canonicalJson(value), undefined read as null, kept per object (see canonicalTexts). */
export function canonicalKey(value: unknown): string {
  if (value === null || value === undefined || typeof value !== 'object') return canonicalJson(value ?? null);
  let text = canonicalTexts.get(value);
  if (text === undefined) {
    text = canonicalJson(value);
    canonicalTexts.set(value, text);
  }
  return text;
}

/** withFields' answers by contract object and fields asked: the search asks the same changes of
 *  one fit again and again (each descent pass, then the ties), most of them refused by the
 *  schema's cross-field rules. */
const changed = new WeakMap<Contract, Map<string, Contract | null>>();

/** The contract with some fields set (path -> value), validated; null when that contract is not
 *  valid or a field does not exist in it (a quant field of a contract without quant). The same
 *  request of the same contract object returns the same (never mutated) contract. */
export function withFields(contract: Contract, fields: Readonly<Record<string, unknown>>): Contract | null {
  let answers = changed.get(contract);
  if (!answers) {
    answers = new Map();
    changed.set(contract, answers);
  }
  const request = JSON.stringify(Object.entries(fields));
  let answer = answers.get(request);
  if (answer === undefined) {
    answer = validWithFields(contract, fields);
    answers.set(request, answer);
  }
  return answer;
}

function validWithFields(contract: Contract, fields: Readonly<Record<string, unknown>>): Contract | null {
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
  // parseContract's schema without its error text: a refusal here is an answer, not an error.
  const parsed = ContractSchema.safeParse(copy);
  return parsed.success ? parsed.data : null;
}

export interface DimensionDifference {
  readonly path: string;
  readonly a: string;
  readonly b: string;
}

/** The dimensions (schema-derived paths, explainSpace.ts) where two contracts differ, in order. */
export function dimensionDiff(a: Contract, b: Contract, paths: readonly string[]): DimensionDifference[] {
  const out: DimensionDifference[] = [];
  for (const path of paths) {
    const [x, y] = [getPath(a, path), getPath(b, path)];
    if (canonicalKey(x) !== canonicalKey(y)) out.push({ path, a: describeValue(x), b: describeValue(y) });
  }
  return out;
}

import type { z } from 'zod';
import { listPresets } from '../contracts/presets.js';
import { ContractSchema, type Contract } from '../contracts/schema.js';
import { canonicalJson } from '../contracts/validate.js';

// The space `explain` searches, read from the contract schema itself (never typed again): every
// leaf field is a dimension whose values are its enum members, literals and booleans; a
// discriminated union or a nested optional object is one dimension whose values are every
// combination of its members; a number takes the values the presets give it (eps, floors,
// divisors, block sizes), else the schema's default; powers of two within its bounds make a
// wider grid, searched when those values leave a stage unexplained.
// Each dimension belongs to the first stage whose output it can change.

export const STAGES = ['residual', 'norm', 'quant'] as const;
export type StageName = (typeof STAGES)[number];

export interface SearchDimension {
  readonly path: string;
  readonly stage: StageName;
  /** Enum members, literals, booleans, and numbers the presets (or the schema's default) give. */
  readonly values: readonly unknown[];
  /** The values and, for numbers no preset or default gives, powers of two within their
   *  bounds: searched when the values leave a stage unexplained. */
  readonly grid: readonly unknown[];
}

/** Path prefixes of dimensions that first act in the norm or the quant; everything else (the
 *  all-reduce, the residual add, their downcasts, subnormal handling) acts on out.residual.
 *  Hardware operations act first in the norm (rsqrt, and 1/H or sumsq/H in the variance). */
const STAGE_PREFIXES: readonly (readonly [string, StageName])[] = [
  ['norm', 'norm'],
  ['bf16Rounding.normIntermediate', 'norm'],
  ['bf16Rounding.normOut', 'norm'],
  ['hardwareOps', 'norm'],
  ['quant', 'quant'],
];

export function stageOf(path: string): StageName {
  for (const [prefix, stage] of STAGE_PREFIXES) if (path === prefix || path.startsWith(`${prefix}.`)) return stage;
  return 'residual';
}

/** Fields the case fixes rather than the kernel: the weight tensor's dtype and the quant group
 *  (read from the inputs and the candidate's scales), and whether a side output exists. */
const FIXED_PATHS: ReadonlySet<string> = new Set(['norm.weight.dtype', 'quant.groupSize', 'quant.bf16SideOutput']);

/** Number fields without preset or default values: powers of two up to this bound. */
const FALLBACK_POWER_OF_TWO_MAX = 1024;

// The zod v4 definition nodes this walk reads (only what it needs).
interface SchemaNode {
  readonly _zod: { readonly def: SchemaDef };
  readonly minValue?: number | null;
  readonly maxValue?: number | null;
  readonly isInt?: boolean;
}
interface SchemaDef {
  readonly type: string;
  readonly shape?: Readonly<Record<string, SchemaNode>>;
  readonly options?: readonly SchemaNode[];
  readonly innerType?: SchemaNode;
  readonly entries?: Readonly<Record<string, string | number>>;
  readonly values?: readonly unknown[];
  readonly discriminator?: string;
  readonly defaultValue?: unknown;
}

const nodeOf = (schema: z.ZodType): SchemaNode => schema as unknown as SchemaNode;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The literal a discriminated-union member carries for its discriminator. */
function discriminantOf(option: SchemaNode, discriminator: string): unknown {
  const field = option._zod.def.shape?.[discriminator];
  return field?._zod.def.values?.[0];
}

/** Numbers found in contracts, by seed path (a union member's path includes its tag). */
type Seeds = Map<string, Map<string, number>>;

function collectSeeds(node: SchemaNode, value: unknown, path: string, seeds: Seeds): void {
  const def = node._zod.def;
  if (typeof value === 'number') {
    const at = seeds.get(path) ?? new Map<string, number>();
    at.set(String(value), value);
    seeds.set(path, at);
    return;
  }
  if (def.type === 'default' || def.type === 'nullable' || def.type === 'optional') {
    if (value !== null && value !== undefined) collectSeeds(def.innerType!, value, path, seeds);
  } else if (def.type === 'object' && isRecord(value)) {
    for (const [key, field] of Object.entries(def.shape ?? {})) collectSeeds(field, value[key], `${path}.${key}`, seeds);
  } else if (def.type === 'union' && def.discriminator !== undefined && isRecord(value)) {
    const tag = value[def.discriminator];
    const option = def.options!.find((o) => discriminantOf(o, def.discriminator!) === tag);
    if (option) collectSeeds(option, value, `${path}.${String(tag)}`, seeds);
  } else if (def.type === 'union') {
    for (const option of def.options ?? []) if (option._zod.def.type === 'object' || option._zod.def.type === 'number') collectSeeds(option, value, path, seeds);
  }
}

function powersOfTwo(min: number, max: number): number[] {
  const out: number[] = [];
  for (let v = 1; v <= Math.min(max, FALLBACK_POWER_OF_TWO_MAX); v *= 2) if (v >= min) out.push(v);
  return out;
}

function cartesian(fields: readonly (readonly [string, readonly unknown[]])[]): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of fields) out = out.flatMap((partial) => values.map((v) => (v === undefined ? partial : { ...partial, [key]: v })));
  return out;
}

function dedupe(values: readonly unknown[]): unknown[] {
  const seen = new Map<string, unknown>();
  for (const v of values) if (!seen.has(canonicalJson(v ?? null))) seen.set(canonicalJson(v ?? null), v);
  return [...seen.values()];
}

/** Every value a schema node can take in the search (defaults resolved). */
function valuesOf(node: SchemaNode, path: string, seeds: Seeds, grid: boolean, fallbackDefault: unknown = undefined): unknown[] {
  const def = node._zod.def;
  switch (def.type) {
    case 'enum':
      return Object.values(def.entries ?? {});
    case 'boolean':
      return [false, true];
    case 'literal':
      return [...(def.values ?? [])];
    case 'default':
      return valuesOf(def.innerType!, path, seeds, grid, def.defaultValue);
    case 'nullable':
      return [null, ...valuesOf(def.innerType!, path, seeds, grid)];
    case 'optional':
      return [undefined, ...valuesOf(def.innerType!, path, seeds, grid)];
    case 'array':
      // A list (an NCCL ring permutation) is not enumerable; left at its absence or default.
      return [];
    case 'number': {
      const seeded = [...(seeds.get(path)?.values() ?? [])];
      if (seeded.length > 0) return fallbackDefault === undefined ? seeded : dedupe([fallbackDefault, ...seeded]);
      if (typeof fallbackDefault === 'number') return [fallbackDefault];
      return grid && node.isInt ? powersOfTwo(node.minValue ?? 1, node.maxValue ?? FALLBACK_POWER_OF_TWO_MAX) : [];
    }
    case 'object':
      return cartesian(Object.entries(def.shape ?? {}).map(([key, field]) => [key, valuesOf(field, `${path}.${key}`, seeds, grid)] as const));
    case 'union': {
      if (def.discriminator !== undefined) {
        return def.options!.flatMap((o) => valuesOf(o, `${path}.${String(discriminantOf(o, def.discriminator!))}`, seeds, grid));
      }
      return dedupe(def.options!.flatMap((o) => valuesOf(o, path, seeds, grid, fallbackDefault)));
    }
    default:
      throw new Error(`explain: schema node '${def.type}' at ${path} has no search values`);
  }
}

/** Objects whose fields are dimensions of their own; below them, an object is one value. */
function isStructural(def: SchemaDef, depth: number): boolean {
  if (def.type === 'object') return true;
  return depth === 1 && def.type === 'nullable' && def.innerType!._zod.def.type === 'object';
}

function walk(node: SchemaNode, path: string, depth: number, seeds: Seeds, out: SearchDimension[]): void {
  const def = node._zod.def;
  if (path !== '' && FIXED_PATHS.has(path)) return;
  if (isStructural(def, depth)) {
    const object = def.type === 'object' ? def : def.innerType!._zod.def;
    for (const [key, field] of Object.entries(object.shape ?? {})) walk(field, path ? `${path}.${key}` : key, depth + 1, seeds, out);
    return;
  }
  const values = dedupe(valuesOf(node, path, seeds, false));
  const grid = dedupe([...values, ...valuesOf(node, path, seeds, true)]);
  if (grid.length > 0) out.push({ path, stage: stageOf(path), values, grid });
}

/** The dimensions, in schema order, with numbers seeded from these contracts (the presets and
 *  the golden's contract). */
export function searchDimensions(seedContracts: readonly Contract[]): SearchDimension[] {
  const root = nodeOf(ContractSchema);
  const seeds: Seeds = new Map();
  for (const c of seedContracts) for (const [key, field] of Object.entries(root._zod.def.shape ?? {})) collectSeeds(field, (c as Record<string, unknown>)[key], key, seeds);
  const out: SearchDimension[] = [];
  walk(root, '', 0, seeds, out);
  return out;
}

/** Every preset's contract, whatever its rank count: presets seed the search, never bound it. */
export function presetContracts(): { name: string; contract: Contract }[] {
  return listPresets().map((p) => ({ name: p.name, contract: p.contract }));
}

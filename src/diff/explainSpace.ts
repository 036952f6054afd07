import { listPresets } from '../contracts/presets.js';
import type { Contract } from '../contracts/schema.js';
import { canonicalJson } from '../contracts/validate.js';
import { CONTRACT_VOCABULARY, type ContractLeaf } from '../contracts/vocabulary.js';

// The space `explain` searches, read from the contract vocabulary (src/contracts/vocabulary.ts,
// derived from the schema; never typed again): every leaf field is a dimension whose values are
// its enum members, literals and booleans; a discriminated union or a nested optional section is
// one dimension whose values are every combination of its members; a number takes the values
// the presets give it (eps, floors, divisors, block sizes), else the schema's default; powers
// of two within its bounds make a wider grid, searched when those values leave a stage
// unexplained.
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

const { leaves, unions, nullableSections } = CONTRACT_VOCABULARY;
const UNION_AT = new Map(unions.map((u) => [u.path, u]));
/** Values that are one dimension each: a discriminated union, or an optional section below the
 *  top level (quant.scaleFloor); the top-level sections (residual, quant) are fixed by the case. */
const ATOMIC_ROOTS: readonly string[] = [...unions.map((u) => u.path), ...nullableSections.filter((p) => p.includes('.'))];

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Numbers found in contracts, by vocabulary path ('norm.sumOfSquares.tree[cub].blockSize'). */
type Seeds = Map<string, Map<string, number>>;

function collectSeeds(value: unknown, path: string, seeds: Seeds): void {
  if (typeof value === 'number') {
    const at = seeds.get(path) ?? new Map<string, number>();
    at.set(String(value), value);
    seeds.set(path, at);
    return;
  }
  if (!isRecord(value)) return;
  const union = UNION_AT.get(path);
  const prefix = union ? `${path}[${String(value[union.discriminator])}]` : path;
  for (const [key, field] of Object.entries(value)) collectSeeds(field, prefix ? `${prefix}.${key}` : key, seeds);
}

function powersOfTwo(min: number, max: number): number[] {
  const out: number[] = [];
  for (let v = 1; v <= Math.min(max, FALLBACK_POWER_OF_TWO_MAX); v *= 2) if (v >= min) out.push(v);
  return out;
}

function cartesian(fields: readonly (readonly [string, readonly unknown[]])[]): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of fields) out = out.flatMap((partial) => values.map((v) => ({ ...partial, [key]: v })));
  return out;
}

function dedupe(values: readonly unknown[]): unknown[] {
  const seen = new Map<string, unknown>();
  for (const v of values) {
    const key = canonicalJson(v ?? null);
    if (!seen.has(key)) seen.set(key, v);
  }
  return [...seen.values()];
}

/** A leaf's values: its finite values, its default, the numbers the presets give it; with
 *  `grid`, powers of two within its bounds for an integer no preset or default gives. A list
 *  (the NCCL ring) is not enumerable: left at its absence. */
function leafValues(leaf: ContractLeaf, seeds: Seeds, grid: boolean): unknown[] {
  if (leaf.array) return [];
  const seeded = [...(seeds.get(leaf.path)?.values() ?? [])];
  const range = leaf.numbers;
  const unseeded = range !== null && seeded.length === 0 && typeof leaf.defaultValue !== 'number';
  const numbers = unseeded ? (grid && range.integer ? powersOfTwo(range.minExclusive ? range.min + 1 : range.min, range.max) : []) : seeded;
  return dedupe([...(leaf.defaultValue === undefined ? [] : [leaf.defaultValue]), ...leaf.values, ...numbers]);
}

/** The objects of an atomic root: each member of a union (its fields' combinations), or null
 *  and the combinations of an optional section's fields. */
function atomicValues(root: string, seeds: Seeds, grid: boolean): unknown[] {
  const fieldsUnder = (prefix: string): (readonly [string, unknown[]])[] =>
    leaves.filter((l) => l.path.startsWith(`${prefix}.`) && !l.array).map((l) => [l.path.slice(prefix.length + 1), leafValues(l, seeds, grid)] as const);
  const union = UNION_AT.get(root);
  if (union) return union.kinds.flatMap((kind) => cartesian([[union.discriminator, [kind]], ...fieldsUnder(`${root}[${kind}]`)]));
  return [null, ...cartesian(fieldsUnder(root))];
}

const atomicRootOf = (path: string): string | undefined => ATOMIC_ROOTS.find((r) => path.startsWith(`${r}[`) || path.startsWith(`${r}.`));

/** The dimensions, in the vocabulary's order, with numbers seeded from these contracts (the
 *  presets and the golden's contract). */
export function searchDimensions(seedContracts: readonly Contract[]): SearchDimension[] {
  const seeds: Seeds = new Map();
  for (const c of seedContracts) collectSeeds(c, '', seeds);
  const out: SearchDimension[] = [];
  const done = new Set<string>();
  // A value holding lists (NCCL's per-channel rings or chains) is never enumerated: the contracts
  // that give one (the presets, the golden's own) are searched as they are.
  const rootValues = (root: string, grid: boolean): unknown[] => [
    ...atomicValues(root, seeds, grid),
    ...seedContracts.map((c) => valueAt(c, root)).filter(holdsLists),
  ];
  // The values are built once per path (a union's combinations run to hundreds), not per leaf.
  const add = (path: string, valuesOf: (grid: boolean) => unknown[]): void => {
    if (FIXED_PATHS.has(path) || done.has(path)) return;
    done.add(path);
    const values = valuesOf(false);
    const grid = valuesOf(true);
    if (grid.length > 0) out.push({ path, stage: stageOf(path), values: dedupe(values), grid: dedupe([...values, ...grid]) });
  };
  for (const leaf of leaves) {
    const root = atomicRootOf(leaf.path);
    if (root) add(root, (grid) => rootValues(root, grid));
    else add(leaf.path, (grid) => leafValues(leaf, seeds, grid));
  }
  // A union whose members have no fields of their own (none here today) still is a dimension.
  for (const root of ATOMIC_ROOTS) add(root, (grid) => rootValues(root, grid));
  return out;
}

function valueAt(contract: Contract, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (isRecord(node) ? node[key] : undefined), contract);
}

function holdsLists(value: unknown): boolean {
  return isRecord(value) && Object.values(value).some((v) => Array.isArray(v) && v.some(Array.isArray));
}

/** Every preset's contract, whatever its rank count: presets seed the search, never bound it. */
export function presetContracts(): { name: string; contract: Contract }[] {
  return listPresets().map((p) => ({ name: p.name, contract: p.contract }));
}

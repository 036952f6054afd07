import type { z } from 'zod';
import { ContractSchema } from './schema.js';

// The contract's vocabulary, derived from the zod schema itself: every leaf path with the values
// it takes, every discriminated union with its kinds, every field that may be null. diff's
// dimension list, the WebGPU codes and the C++ parser of hip/ derive from this instead of typing
// the values again; a test checks that each engine handles every value.

export type LeafValue = string | number | boolean | null;

export interface NumberRange {
  readonly min: number;
  /** min itself excluded (a positive number: min 0, exclusive). */
  readonly minExclusive: boolean;
  readonly max: number;
  readonly integer: boolean;
}

export interface ContractLeaf {
  /** Dotted path; a field of one union member reads 'norm.sumOfSquares.tree[cub].vectorWidth'. */
  readonly path: string;
  /** The finite values it takes: enum values, literals, booleans, null where nullable. */
  readonly values: readonly LeafValue[];
  /** The numbers it also takes, or null. */
  readonly numbers: NumberRange | null;
  /** An array of such values (the NCCL ring). */
  readonly array: boolean;
  /** The schema's default where it has one (an absent field takes it). */
  readonly defaultValue?: LeafValue;
}

export interface ContractUnion {
  readonly path: string;
  readonly discriminator: string;
  readonly kinds: readonly string[];
}

export interface ContractVocabulary {
  readonly leaves: readonly ContractLeaf[];
  readonly unions: readonly ContractUnion[];
  /** Object sections that may be null (residual, quant, quant.scaleFloor). */
  readonly nullableSections: readonly string[];
}

/** zod 4's definition object: the introspection surface of every schema. */
interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly options?: readonly z.ZodType[];
  readonly discriminator?: string;
  readonly innerType?: z.ZodType;
  readonly element?: z.ZodType;
  readonly entries?: Record<string, string>;
  readonly values?: readonly LeafValue[];
  readonly defaultValue?: LeafValue;
  readonly checks?: readonly {
    readonly _zod: { readonly def: { readonly check: string; readonly value?: number; readonly inclusive?: boolean; readonly format?: string } };
  }[];
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { def: Def }).def;
}

function numberRange(def: Def): NumberRange {
  let min = -Infinity;
  let minExclusive = false;
  let max = Infinity;
  let integer = false;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'greater_than' && c.value !== undefined) {
      min = c.value;
      minExclusive = c.inclusive !== true;
    }
    if (c.check === 'less_than' && c.value !== undefined) max = c.value;
    if (c.check === 'number_format' && c.format === 'safeint') integer = true;
  }
  return { min, minExclusive, max, integer };
}

interface LeafParts {
  values: LeafValue[];
  numbers: NumberRange | null;
  array: boolean;
  defaultValue?: LeafValue;
}

/** The values a non-object schema takes; null when it is an object or union of objects. */
function leafParts(schema: z.ZodType): LeafParts | null {
  const def = defOf(schema);
  switch (def.type) {
    case 'enum':
      return { values: Object.values(def.entries ?? {}), numbers: null, array: false };
    case 'literal':
      return { values: [...(def.values ?? [])], numbers: null, array: false };
    case 'boolean':
      return { values: [false, true], numbers: null, array: false };
    case 'number':
      return { values: [], numbers: numberRange(def), array: false };
    case 'nullable':
    case 'default':
    case 'optional': {
      const inner = leafParts(def.innerType!);
      if (!inner) return null;
      if (def.type === 'nullable') inner.values.push(null);
      if (def.type === 'default') inner.defaultValue = def.defaultValue;
      return inner;
    }
    case 'array': {
      const element = leafParts(def.element!);
      return element && { ...element, array: true };
    }
    case 'union': {
      if (def.discriminator) return null;
      const parts = (def.options ?? []).map(leafParts);
      if (parts.some((p) => p === null)) return null;
      return {
        values: parts.flatMap((p) => p!.values),
        numbers: parts.find((p) => p!.numbers)?.numbers ?? null,
        array: false,
      };
    }
    default:
      return null;
  }
}

function walk(schema: z.ZodType, path: string, into: { leaves: ContractLeaf[]; unions: ContractUnion[]; nullableSections: string[] }): void {
  const leaf = leafParts(schema);
  if (leaf) {
    into.leaves.push({ path, ...leaf });
    return;
  }
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      for (const [key, child] of Object.entries(def.shape ?? {})) walk(child, path ? `${path}.${key}` : key, into);
      return;
    case 'nullable':
      into.nullableSections.push(path);
      walk(def.innerType!, path, into);
      return;
    case 'default':
    case 'optional':
      walk(def.innerType!, path, into);
      return;
    case 'union': {
      const discriminator = def.discriminator!;
      const kinds: string[] = [];
      for (const option of def.options ?? []) {
        const shape = defOf(option).shape ?? {};
        const kind = String(defOf(shape[discriminator]).values?.[0]);
        kinds.push(kind);
        for (const [key, child] of Object.entries(shape)) if (key !== discriminator) walk(child, `${path}[${kind}].${key}`, into);
      }
      into.unions.push({ path, discriminator, kinds });
      return;
    }
    default:
      throw new Error(`contract vocabulary: no rule for zod type '${def.type}' at ${path}`);
  }
}

function vocabularyOf(schema: z.ZodType): ContractVocabulary {
  const into = { leaves: [] as ContractLeaf[], unions: [] as ContractUnion[], nullableSections: [] as string[] };
  walk(schema, '', into);
  return into;
}

export const CONTRACT_VOCABULARY: ContractVocabulary = vocabularyOf(ContractSchema);

/** The finite values of the leaf at `path` (a typo in a consumer is an error, not an empty list). */
export function leafValues(path: string): readonly LeafValue[] {
  const leaf = CONTRACT_VOCABULARY.leaves.find((l) => l.path === path);
  if (!leaf) throw new Error(`contract vocabulary: no leaf '${path}'`);
  return leaf.values;
}

/** The kinds of the discriminated union at `path`. */
export function unionKinds(path: string): readonly string[] {
  const union = CONTRACT_VOCABULARY.unions.find((u) => u.path === path);
  if (!union) throw new Error(`contract vocabulary: no union '${path}'`);
  return union.kinds;
}

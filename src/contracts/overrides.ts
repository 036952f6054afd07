import { getPreset } from './presets.js';
import type { Contract, Shape } from './schema.js';
import { canonicalJson, ContractError, parseContract } from './validate.js';

// `--set path=value` on a contract, and back: the overrides that turn one contract into
// another. Both work on the contract's JSON input, field names and all, so they follow the
// schema as it grows: parseContract is the only judge of what a contract may hold.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Override {
  /** Dotted path into the contract: `residual.add`, `allReduce.order.ring.0`. */
  readonly path: string;
  readonly value: JsonValue;
}

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*$/;

/** The value text of `--set path=value`: JSON when it parses as JSON, else the plain string
 *  (so `--set residual.add=f32` needs no quotes, and `--set norm.eps=1e-5` is a number). */
function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** Parses `path=value`; the error names the option text. */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq < 0) throw new ContractError(`--set ${text}: expected path=value, e.g. --set residual.add=f32`);
  const path = text.slice(0, eq);
  if (!PATH.test(path)) throw new ContractError(`--set ${text}: '${path}' is not a dotted field path such as norm.eps`);
  return { path, value: parseValue(text.slice(eq + 1)) };
}

function isObject(value: unknown): value is Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function clone(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/** `input` with each override written at its path; missing or null objects on the way are made. */
export function applyOverrides(input: unknown, overrides: readonly Override[]): JsonValue {
  const root = clone(input);
  for (const { path, value } of overrides) {
    const keys = path.split('.');
    if (!isObject(root)) throw new ContractError('a contract is a JSON object');
    let node: Record<string, JsonValue> | JsonValue[] = root;
    for (const [i, key] of keys.entries()) {
      const last = i === keys.length - 1;
      if (Array.isArray(node)) {
        const index = Number(key);
        if (!/^\d+$/.test(key) || index > node.length)
          throw new ContractError(`--set ${path}: '${keys.slice(0, i).join('.')}' is a list of ${node.length}; '${key}' is not an index into it`);
        if (last) node[index] = value;
        else {
          if (!isObject(node[index]) && !Array.isArray(node[index])) node[index] = {};
          node = node[index] as Record<string, JsonValue> | JsonValue[];
        }
        continue;
      }
      if (last) node[key] = value;
      else {
        const next: JsonValue | undefined = node[key];
        if (!isObject(next) && !Array.isArray(next)) node[key] = {};
        node = node[key] as Record<string, JsonValue> | JsonValue[];
      }
    }
  }
  return root;
}

function valueAt(value: unknown, path: string): unknown {
  let node: unknown = value;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Whether `held` has every field of `value` (objects may gain defaults when parsed). */
function holds(held: unknown, value: JsonValue): boolean {
  if (isObject(value)) return isObject(held) && Object.entries(value).every(([k, v]) => holds(held[k], v));
  return canonicalJson(held) === canonicalJson(value);
}

/**
 * The contract `base` becomes with `overrides`, validated by parseContract. An override the
 * parsed contract does not hold (a field the schema does not know and drops) is an error too,
 * so a typo never passes silently whatever the schema's strictness.
 */
export function overrideContract(base: unknown, overrides: readonly Override[]): Contract {
  const contract = parseContract(applyOverrides(base, overrides));
  for (const { path, value } of overrides) {
    const held = valueAt(contract, path);
    if (held === undefined) throw new ContractError(`--set ${path}: the contract has no field '${path}'`);
    if (!holds(held, value)) throw new ContractError(`--set ${path}: the contract does not keep ${JSON.stringify(value)} there`);
  }
  return contract;
}

/** Field paths of `input` that `parsed` does not hold: keys a schema that strips unknown
 *  fields would drop without a word. */
export function unknownFields(input: unknown, parsed: unknown, prefix = ''): string[] {
  if (!isObject(input)) return [];
  return Object.entries(input).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (!isObject(parsed) || !(key in parsed)) return [path];
    return unknownFields(value, parsed[key], path);
  });
}

/** parseContract, and an error naming every field the contract does not know. */
export function parseContractStrictly(input: unknown, source: string): Contract {
  const contract = parseContract(input);
  const unknown = unknownFields(input, contract);
  if (unknown.length > 0) throw new ContractError(`${source}: invalid contract:\n  ${unknown.map((p) => `${p}: not a contract field`).join('\n  ')}`);
  return contract;
}

/**
 * The overrides that turn `from` into `to`: one per differing leaf, or one per differing
 * subtree where the two sides are different variants (another `kind`, other fields), so that
 * applying them to `from` gives exactly `to`.
 */
export function contractOverrides(from: unknown, to: unknown, prefix = ''): Override[] {
  if (canonicalJson(from) === canonicalJson(to)) return [];
  if (isObject(from) && isObject(to)) {
    const sameFields = canonicalJson(Object.keys(from).sort()) === canonicalJson(Object.keys(to).sort());
    if (sameFields && from.kind === to.kind) {
      return Object.keys(to)
        .sort()
        .flatMap((key) => contractOverrides(from[key], to[key], prefix ? `${prefix}.${key}` : key));
    }
  }
  return [{ path: prefix, value: clone(to) }];
}

/** One shell word: bare when safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.,:/=+@%-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The value as `--set` reads it back: a string that would parse as JSON is written as JSON. */
function overrideText({ path, value }: Override): string {
  const text = typeof value === 'string' && parseValue(value) === value ? value : JSON.stringify(value);
  return shellWord(`${path}=${text}`);
}

export interface GenCommand {
  /** The command line, one string. */
  readonly command: string;
  /** With `--contract FILE`: the JSON that FILE must hold; null with `--preset`. */
  readonly contractFile: string | null;
}

/**
 * The `ulpwise gen` command that writes a golden for `contract` at `shape`: `--preset P` plus
 * `--set` overrides when a preset is named, else `--contract FILE` (FILE's text is returned).
 */
export function genCommandFor(contract: Contract, shape: Shape, presetName?: string, contractPath = 'contract.json'): GenCommand {
  const size = `--ranks ${shape.ranks} --tokens ${shape.tokens} --hidden ${shape.hidden}`;
  if (presetName !== undefined) {
    const sets = contractOverrides(getPreset(presetName).contract, contract)
      .map((o) => ` --set ${overrideText(o)}`)
      .join('');
    return { command: `ulpwise gen --preset ${shellWord(presetName)}${sets} ${size}`, contractFile: null };
  }
  return { command: `ulpwise gen --contract ${shellWord(contractPath)} ${size}`, contractFile: `${JSON.stringify(contract, null, 2)}\n` };
}

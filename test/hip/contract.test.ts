// The C++ contract parser of hip/kernels (built alone as hip/build/host/contract_check) against
// the zod schema, on every value the schema allows: the values are derived from the schema
// itself (z.toJSONSchema of ContractSchema, which also gives every object's keys to misspell),
// never typed here, and checked to cover the core's vocabulary export (CONTRACT_VOCABULARY), so
// a value added to the schema is checked the day it lands. For each contract, zod's verdict decides what C++ must say:
// - zod rejects it: C++ says `invalid` naming a path zod names (a misspelt key: the object's
//   path and the key);
// - zod accepts it: C++ says `ok`, or `unsupported` "not implemented by the HIP kernels:
//   <path> = <value>" exactly where REFUSED (the declared list of what the kernels do not
//   compute) says so, and nowhere else.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ContractSchema, type Contract, type ContractInput } from '../../src/contracts/schema.js';
import { CONTRACT_VOCABULARY } from '../../src/contracts/vocabulary.js';
import { HIP_DIR, hostBuild } from './hostBuild.js';

const CONTRACT_CHECK = join(HIP_DIR, 'build', 'host', 'contract_check');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
/** The parts of a JSON Schema node that z.toJSONSchema writes for this schema. */
interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  enum?: Json[];
  const?: Json;
  default?: Json;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  maxItems?: number;
  items?: SchemaNode;
}

const ROOT_SCHEMA = z.toJSONSchema(ContractSchema, { io: 'input' }) as SchemaNode;

/** A valid v2 contract to vary one field of at a time: aiter's 1-stage per-group kernel on
 *  gfx942, as schema v2 writes it (the values are a starting point, not a claim). */
const BASE: ContractInput = {
  allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'bf16' },
  bf16Rounding: {
    allReduceHop: 'truncate',
    allReduceResult: 'truncate',
    residualAdd: 'truncate',
    residualOut: 'truncate',
    normIntermediate: 'truncate',
    normOut: 'truncate',
  },
  f32Subnormals: 'flush',
  hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' },
  residual: { add: 'f32' },
  norm: {
    input: 'f32',
    sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'butterfly', perThread: 8, warpSize: 32 } },
    variance: 'divide',
    eps: 1e-6,
    weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
    multiplyOrder: 'x-rstd-w',
    roundIntermediate: false,
  },
  quant: {
    groupSize: 128,
    format: 'e4m3fnuz',
    input: 'f32',
    staticScale: null,
    divisor: 'format-max',
    amaxFloor: null,
    scaleFloor: null,
    zeroAmaxScaleOne: true,
    scale: 'divide',
    ue8m0: 'none',
    quantize: 'divide',
    clamp: 'none',
    saturation: 'satfinite',
    scaleLayout: { kind: 'row-major' },
    bf16SideOutput: true,
  },
};

/** What the C++ parser is built for (contract_check --target): sm_90's instructions are there only in an NVIDIA build. */
type BuildTarget = 'nvidia' | 'amd' | 'host';

/** What the HIP kernels do not compute, as "<path> = <value>" for a contract zod accepts, in a
 *  build for `target` (contract_check's own build is 'host'). */
function refusals(c: Contract, target: BuildTarget = 'host'): string[] {
  const out: string[] = [];
  const order = c.allReduce.order;
  if (order.kind === 'rotated' || order.kind === 'own-first' || order.kind === 'nccl-ring' || order.kind === 'nccl-tree') {
    out.push(`allReduce.order.kind = '${order.kind}'`);
  }
  if (order.kind === 'ring' && order.ring !== undefined) {
    order.ring.forEach((r, i) => {
      if (r >= 8) out.push(`allReduce.order.ring.${i} = ${r}`);
    });
    if (order.ring.length > 8) out.push(`allReduce.order.ring = [${order.ring.join(',')}]`);
  }
  if (c.norm.input === 'f32-squares-bf16-normalize') out.push("norm.input = 'f32-squares-bf16-normalize'");
  if (c.norm.variance === 'reciprocal-fma') out.push("norm.variance = 'reciprocal-fma'");
  if (target !== 'nvidia') {
    if (c.hardwareOps.rsqrt === 'sm90') out.push("hardwareOps.rsqrt = 'sm90'");
    if (c.hardwareOps.reciprocal === 'sm90') out.push("hardwareOps.reciprocal = 'sm90'");
    if (c.hardwareOps.divide === 'sm90-div-full') out.push("hardwareOps.divide = 'sm90-div-full'");
  }
  const tree = c.norm.sumOfSquares.tree;
  const hipTrees: readonly string[] = ['sequential', 'butterfly', 'cub', 'smem-halving'];
  if (!hipTrees.includes(tree.kind)) {
    out.push(`norm.sumOfSquares.tree.kind = '${tree.kind}'`);
  }
  if ((tree.kind === 'butterfly' || tree.kind === 'smem-halving') && tree.perThread !== 8) out.push(`norm.sumOfSquares.tree.perThread = ${tree.perThread}`);
  if ((tree.kind === 'butterfly' || tree.kind === 'cub') && tree.warpSize === 64) out.push('norm.sumOfSquares.tree.warpSize = 64');
  if (c.quant?.scaleLayout.kind === 'packed-ue8m0') out.push("quant.scaleLayout.kind = 'packed-ue8m0'");
  if (c.norm.epsAdd === 'f64') out.push("norm.epsAdd = 'f64'");
  return out;
}

/** A valid instance of a schema node: its default, else its first allowed value. */
function instantiate(node: SchemaNode): Json {
  if (node.default !== undefined) return node.default;
  if (node.const !== undefined) return node.const;
  if (node.enum !== undefined) return node.enum[0];
  const union = node.oneOf ?? node.anyOf;
  if (union !== undefined) return instantiate(union.find((v) => v.type !== 'null') ?? union[0]);
  switch (node.type) {
    case 'object': {
      const out: JsonObject = {};
      for (const [key, child] of Object.entries(node.properties ?? {})) out[key] = instantiate(child);
      return out;
    }
    case 'integer':
      return node.minimum ?? 1;
    case 'number':
      return node.minimum ?? Math.min(1, node.maximum ?? 1);
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'null':
      return null;
    default:
      throw new Error(`instantiate: unhandled schema node ${JSON.stringify(node)}`);
  }
}

interface Variation {
  /** What was changed, for messages: "<path> = <value>" or "<path>: <what>". */
  label: string;
  contract: Json;
}

function withValue(root: Json, path: readonly string[], value: Json): Json {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) return root.map((item, i) => (String(i) === head ? withValue(item, rest, value) : item));
  const object = root as JsonObject;
  return { ...object, [head]: withValue(object[head], rest, value) };
}

function valueAt(root: Json, path: readonly string[]): Json {
  return path.reduce<Json>((node, key) => (node as JsonObject)[key], root);
}

/**
 * Every variation of `base` reachable through `node` at `path`: each allowed value of each
 * enum, literal and boolean; each variant of each union (and the variations inside it); the
 * bounds of each number and one step past them; a non-integer where an integer is asked; a
 * misspelt key in each object.
 */
function variations(node: SchemaNode, base: Json, path: readonly string[]): Variation[] {
  const out: Variation[] = [];
  const at = path.join('.');
  const set = (value: Json, label = `${at} = ${JSON.stringify(value)}`) => out.push({ label, contract: withValue(base, path, value) });
  const union = node.oneOf ?? node.anyOf;
  if (union !== undefined) {
    for (const variant of union) {
      const current = valueAt(base, path);
      const kind = variant.properties?.kind?.const;
      // The base's own variant keeps the base's values; another variant starts from its defaults.
      const keep =
        variant.type === 'object' && current !== null && typeof current === 'object' && (kind === undefined || (current as JsonObject).kind === kind);
      const start = keep ? current : instantiate(variant);
      out.push(...variations(variant, withValue(base, path, start), path));
    }
    return out;
  }
  if (node.const !== undefined) {
    set(node.const);
    return out;
  }
  if (node.enum !== undefined) {
    for (const value of node.enum) set(value);
    set('not-a-value');
    return out;
  }
  switch (node.type) {
    case 'object': {
      const object = valueAt(base, path) as JsonObject;
      for (const [key, child] of Object.entries(node.properties ?? {})) out.push(...variations(child, base, [...path, key]));
      const [first] = Object.keys(object);
      const misspelt = `${first}x`;
      const renamed: JsonObject = {};
      for (const [key, value] of Object.entries(object)) renamed[key === first ? misspelt : key] = value;
      out.push({ label: `${at || '(root)'}: misspelt key '${misspelt}'`, contract: withValue(base, path, renamed) });
      return out;
    }
    case 'integer':
    case 'number': {
      const integer = node.type === 'integer';
      const min = node.minimum ?? node.exclusiveMinimum;
      if (node.minimum !== undefined) set(node.minimum);
      if (node.maximum !== undefined) set(node.maximum);
      if (min !== undefined) set(integer ? min - 1 : min === 0 ? 0 : min / 2, `${at} below its bound`);
      if (node.maximum !== undefined) set(integer ? node.maximum + 1 : node.maximum * 1.5, `${at} above its bound`);
      if (integer) set((node.minimum ?? 0) + 0.5, `${at} not an integer`);
      set('1', `${at} as a string`);
      return out;
    }
    case 'boolean':
      set(true);
      set(false);
      set('true', `${at} as a string`);
      return out;
    case 'array': {
      const item = node.items as SchemaNode;
      const maxItems = node.maxItems ?? 0;
      set([0, 1], `${at} = [0,1]`);
      set(
        Array.from({ length: maxItems }, (_, i) => i % ((item.maximum ?? 0) + 1)),
        `${at} of ${maxItems} items`,
      );
      set(
        Array.from({ length: maxItems + 1 }, () => 0),
        `${at} of ${maxItems + 1} items`,
      );
      set([(item.maximum ?? 0) + 1], `${at} item above its bound`);
      set([0.5], `${at} item not an integer`);
      return out;
    }
    case 'null':
      set(null);
      return out;
    default:
      throw new Error(`variations: unhandled schema node at ${at}: ${JSON.stringify(node)}`);
  }
}

const { check, scratch } = hostBuild('contract-check', 'the contract parser is checked');

/** The C++ verdict of each contract, in order, in contract_check's own build or as `target`'s. */
function cppVerdicts(contracts: readonly Json[], target?: BuildTarget): string[] {
  const file = join(scratch(), 'contracts.jsonl');
  writeFileSync(file, contracts.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const run = spawnSync(CONTRACT_CHECK, [...(target ? ['--target', target] : []), file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`contract_check failed: ${run.stdout}${run.stderr}`);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines.length).toBe(contracts.length);
  return lines;
}

describe('the C++ contract parser reads schema v2 as zod does', () => {
  const all = variations(ROOT_SCHEMA, BASE as Json, []);

  it('the base contract is valid and the variations reach every schema value', () => {
    expect(ContractSchema.safeParse(BASE).success).toBe(true);
    // Every enum value and literal of the schema is set by at least one variation.
    const labels = new Set(all.map((v) => v.label));
    const walk = (node: SchemaNode, path: string[]): string[] => {
      const union = node.oneOf ?? node.anyOf;
      if (union !== undefined) return union.flatMap((v) => walk(v, path));
      if (node.enum !== undefined) return node.enum.map((value) => `${path.join('.')} = ${JSON.stringify(value)}`);
      if (node.const !== undefined) return [`${path.join('.')} = ${JSON.stringify(node.const)}`];
      return Object.entries(node.properties ?? {}).flatMap(([key, child]) => walk(child, [...path, key]));
    };
    const values = walk(ROOT_SCHEMA, []);
    expect(values.length).toBeGreaterThan(80);
    for (const value of values) expect(labels.has(value), value).toBe(true);
  });

  it("the variations cover every leaf value, number bound and union kind of the core's vocabulary export", () => {
    const labels = new Set(all.map((v) => v.label));
    const plain = (path: string) => path.replace(/\[[^\]]*\]/g, '');
    let covered = 0;
    for (const leaf of CONTRACT_VOCABULARY.leaves) {
      const path = plain(leaf.path);
      for (const value of leaf.values) {
        expect(labels.has(`${path} = ${JSON.stringify(value)}`), `${leaf.path} = ${JSON.stringify(value)}`).toBe(true);
        covered++;
      }
      if (leaf.numbers !== null && !leaf.array) {
        if (Number.isFinite(leaf.numbers.min)) expect(labels.has(`${path} below its bound`), `${leaf.path} below its bound`).toBe(true);
        if (Number.isFinite(leaf.numbers.max)) expect(labels.has(`${path} above its bound`), `${leaf.path} above its bound`).toBe(true);
        covered++;
      }
    }
    for (const union of CONTRACT_VOCABULARY.unions) {
      for (const kind of union.kinds)
        expect(labels.has(`${plain(union.path)}.${union.discriminator} = ${JSON.stringify(kind)}`), `${union.path} ${kind}`).toBe(true);
    }
    for (const section of CONTRACT_VOCABULARY.nullableSections) expect(labels.has(`${section} = null`), `${section} = null`).toBe(true);
    expect(covered).toBeGreaterThan(100);
  });

  check('accepts or explicitly refuses every value zod accepts, and rejects with its path what zod rejects', () => {
    const verdicts = cppVerdicts(all.map((v) => v.contract));
    let accepted = 0;
    let refused = 0;
    let rejected = 0;
    all.forEach(({ label, contract }, i) => {
      const verdict = verdicts[i];
      const zod = ContractSchema.safeParse(contract);
      if (!zod.success) {
        rejected++;
        expect(verdict, label).toMatch(/^invalid contract /);
        const unknown = zod.error.issues.find((issue) => issue.code === 'unrecognized_keys');
        if (unknown !== undefined) {
          const where = unknown.path.length === 0 ? '(root)' : unknown.path.join('.');
          expect(verdict, label).toContain(`invalid contract ${where}: unknown key '${unknown.keys[0]}'`);
        } else {
          const paths = zod.error.issues.map((issue) => (issue.path.length === 0 ? '(root)' : issue.path.join('.')));
          const named = /^invalid contract (\S+):/.exec(verdict)?.[1];
          expect(paths, `${label}: C++ said ${verdict}`).toContain(named);
        }
        return;
      }
      const expected = refusals(zod.data);
      if (expected.length === 0) {
        accepted++;
        expect(verdict, label).toBe('ok');
      } else {
        refused++;
        const said = /^unsupported not implemented by the HIP kernels: (.+) \(.*\)$/.exec(verdict)?.[1];
        expect(expected, `${label}: C++ said ${verdict}`).toContain(said);
      }
    });
    // Each kind of verdict is reached (a generator that lost a branch would pass vacuously).
    expect(accepted).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(8);
    expect(rejected).toBeGreaterThan(60);
  });

  check('the sm_90 hardware-op slots: an NVIDIA build runs them, an AMD or host build refuses them by name, saying why', () => {
    const sm90: [string, ContractInput['hardwareOps']][] = [
      ["hardwareOps.rsqrt = 'sm90'", { rsqrt: 'sm90', reciprocal: 'ieee', divide: 'ieee' }],
      ["hardwareOps.reciprocal = 'sm90'", { rsqrt: 'inferred', reciprocal: 'sm90', divide: 'ieee' }],
      ["hardwareOps.divide = 'sm90-div-full'", { rsqrt: 'ieee', reciprocal: 'inferred', divide: 'sm90-div-full' }],
    ];
    const contracts = sm90.map(([, hardwareOps]) => ({ ...BASE, hardwareOps }) as Json);
    for (const c of contracts) expect(refusals(ContractSchema.parse(c), 'nvidia')).toEqual([]);
    expect(cppVerdicts(contracts, 'nvidia')).toEqual(['ok', 'ok', 'ok']);
    const why = {
      amd: "an AMD build has no sm_90 instruction; v_rsq_f32 and v_rcp_f32 are not sm_90's",
      host: "sm_90's instructions run only in an NVIDIA build",
    };
    for (const target of ['amd', 'host'] as const) {
      const expected = sm90.map(([refused]) => `unsupported not implemented by the HIP kernels: ${refused} (${why[target]})`);
      expect(cppVerdicts(contracts, target), target).toEqual(expected);
      sm90.forEach(([refused], i) => expect(refusals(ContractSchema.parse(contracts[i]), target)).toEqual([refused]));
    }
    // The build's own verdict is the host's; an unknown target is a usage error.
    expect(cppVerdicts(contracts)).toEqual(cppVerdicts(contracts, 'host'));
    const file = join(scratch(), 'one.jsonl');
    writeFileSync(file, JSON.stringify(BASE) + '\n');
    const run = spawnSync(CONTRACT_CHECK, ['--target', 'gfx90a', file], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("contract_check: --target: unknown target 'gfx90a'");
  });

  check('the cross-field rules are refused with the schema path', () => {
    const q = BASE.quant as NonNullable<ContractInput['quant']>;
    const cases: [string, ContractInput, string][] = [
      ['residual add bf16 with an f32 norm input', { ...BASE, residual: { add: 'bf16' } }, 'norm.input'],
      [
        'residual add bf16 with the f32 squares of an unrounded sum',
        { ...BASE, residual: { add: 'bf16' }, norm: { ...BASE.norm, input: 'f32-squares-bf16-normalize' } },
        'norm.input',
      ],
      ['no residual to re-read for the normalize', { ...BASE, residual: null, norm: { ...BASE.norm, input: 'f32-squares-bf16-normalize' } }, 'norm.input'],
      ['bf16 weight cast to bf16', { ...BASE, norm: { ...BASE.norm, weight: { dtype: 'bf16', castToBf16: true, offset: 'none' } } }, 'norm.weight.castToBf16'],
      [
        'bf16 accumulation without a bf16 result',
        { ...BASE, allReduce: { ...BASE.allReduce, accumulate: 'bf16', roundResult: 'none' } },
        'allReduce.roundResult',
      ],
      ['static scale with the zero-amax rule', { ...BASE, quant: { ...q, staticScale: 0.5 } }, 'quant.staticScale'],
      ['packed scales without UE8M0', { ...BASE, quant: { ...q, scaleLayout: { kind: 'packed-ue8m0', tokenAlign: 4 } } }, 'quant.scaleLayout'],
      [
        'scale floor after a UE8M0 that is not there',
        { ...BASE, quant: { ...q, scaleFloor: { value: 1e-10, stage: 'after-ue8m0' } } },
        'quant.scaleFloor.stage',
      ],
    ];
    const verdicts = cppVerdicts(cases.map(([, c]) => c as Json));
    cases.forEach(([what, contract, path], i) => {
      const zod = ContractSchema.safeParse(contract);
      expect(zod.success, what).toBe(false);
      expect(
        zod.error?.issues.map((issue) => issue.path.join('.')),
        what,
      ).toContain(path);
      expect(verdicts[i], what).toMatch(new RegExp(`^invalid contract ${path.replace(/\./g, '\\.')}: `));
    });
  });

  check('refuses what is not JSON or not an object, naming the problem', () => {
    const file = join(scratch(), 'broken.jsonl');
    writeFileSync(file, ['{"allReduce":', '[]', '{}'].join('\n') + '\n');
    const run = spawnSync(CONTRACT_CHECK, [file], { encoding: 'utf8' });
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^invalid contract is not valid JSON: /),
      'invalid contract (root): expected an object, got an array',
      expect.stringMatching(/^invalid contract allReduce: missing/),
    ]);
  });
});

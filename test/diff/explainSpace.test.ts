import { describe, expect, test } from 'vitest';
import { BF16_ROUNDINGS, PER_THREAD_PATTERNS, SumOfSquaresTreeSchema, RankOrderSchema } from '../../src/contracts/schema.js';
import { canonicalJson } from '../../src/contracts/validate.js';
import { getPath } from '../../src/diff/dimensions.js';
import { presetContracts, searchDimensions, stageOf } from '../../src/diff/explainSpace.js';
import { E8M0_ROUNDINGS } from '../../src/numerics/e8m0.js';
import { FP8_FORMATS } from '../../src/numerics/fp8.js';

// explain's dimensions are read from the schema, never typed again: each enum the schema
// exports must come out whole, each union member must be reachable, and every value a preset
// uses must be searchable (presets seed the search).

const presets = presetContracts();
const dims = searchDimensions(presets.map((p) => p.contract));
const dimension = (path: string): (typeof dims)[number] => {
  const d = dims.find((x) => x.path === path);
  if (!d) throw new Error(`no dimension ${path}`);
  return d;
};
const valuesAt = (path: string): unknown[] => [...dimension(path).values];

describe('the search space, read from the schema', () => {
  test('enums come out whole', () => {
    expect(valuesAt('norm.sumOfSquares.perThread')).toEqual([...PER_THREAD_PATTERNS]);
    for (const site of ['allReduceHop', 'allReduceResult', 'residualAdd', 'residualOut', 'normIntermediate', 'normOut']) {
      expect(valuesAt(`bf16Rounding.${site}`)).toEqual([...BF16_ROUNDINGS]);
    }
    expect(valuesAt('quant.format')).toEqual([...FP8_FORMATS]);
    expect(valuesAt('quant.ue8m0')).toEqual(['none', ...E8M0_ROUNDINGS]);
  });

  test('every member of a discriminated union is one value of one dimension (in the grid when no preset gives its numbers)', () => {
    const kinds = (path: string): Set<unknown> => new Set(dimension(path).grid.map((v) => (v as { kind: unknown }).kind));
    expect(kinds('norm.sumOfSquares.tree')).toEqual(new Set(SumOfSquaresTreeSchema.options.map((o) => o.shape.kind.value)));
    expect(kinds('allReduce.order')).toEqual(new Set(RankOrderSchema.options.map((o) => o.shape.kind.value)));
    expect(dims.some((d) => d.path.startsWith('norm.sumOfSquares.tree.'))).toBe(false);
    for (const d of dims) expect(d.grid.slice(0, d.values.length)).toEqual(d.values);
  });

  test("every preset's value of every dimension is searched, whatever the preset's rank count", () => {
    for (const p of presets) {
      for (const d of dims) {
        const value = getPath(p.contract, d.path);
        if (value === undefined) continue;
        expect(
          d.values.map((v) => canonicalJson(v ?? null)),
          `${p.name} ${d.path}`,
        ).toContain(canonicalJson(value ?? null));
      }
    }
  });

  test('what the case fixes is not searched, and each dimension acts first where its stage says', () => {
    const paths = dims.map((d) => d.path);
    for (const fixed of ['norm.weight.dtype', 'quant.groupSize', 'quant.bf16SideOutput']) expect(paths).not.toContain(fixed);
    expect(stageOf('allReduce.order')).toBe('residual');
    expect(stageOf('bf16Rounding.residualOut')).toBe('residual');
    expect(stageOf('bf16Rounding.normOut')).toBe('norm');
    expect(stageOf('hardwareOps.rsqrt')).toBe('norm');
    expect(stageOf('quant.scaleLayout')).toBe('quant');
  });
});

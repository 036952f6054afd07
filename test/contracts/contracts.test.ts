import { describe, expect, test } from 'vitest';
import { describeKernels, getPreset, listPresets, PRESET_DEFINITIONS } from '../../src/contracts/presets.js';
import { canonicalJson, checkContractForShape, ContractError, parseContract } from '../../src/contracts/validate.js';

const base = () => structuredClone(getPreset('unfused').contract);

describe('contract validation names the field', () => {
  /** Sets a dotted path in a plain JSON copy of the contract. */
  function withField(path: string, value: unknown): unknown {
    const root = JSON.parse(JSON.stringify(base())) as Record<string, unknown>;
    const keys = path.split('.');
    let node = root;
    for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
    node[keys[keys.length - 1]] = value;
    return root;
  }

  test.each([
    ['allReduce.accumulate', withField('allReduce.accumulate', 'f16')],
    ['norm.sumOfSquares.tree.kind', withField('norm.sumOfSquares.tree', { kind: 'dpp' })],
    ['norm.eps', withField('norm.eps', -1)],
    ['quant.format', withField('quant', { ...getPreset('vllm-group-quant').contract.quant, format: 'e3m4' })],
    ['norm.input', withField('norm.input', 'f32')],
    ['norm.weight.castToBf16', withField('norm.weight.castToBf16', true)],
    ['allReduce.roundResult', withField('allReduce', { order: { kind: 'natural' }, accumulate: 'bf16', roundResult: 'none' })],
  ])('%s', (field, contract) => {
    expect(() => parseContract(contract)).toThrow(ContractError);
    expect(() => parseContract(contract)).toThrow(field);
  });

  test('shape rules: group size must divide hidden, ring must be a permutation, perThread must divide hidden', () => {
    const quant = getPreset('vllm-group-quant').contract;
    expect(() => checkContractForShape(quant, { ranks: 2, tokens: 1, hidden: 200 })).toThrow('quant.groupSize: 128 does not divide hidden 200');
    const ring = parseContract({
      ...getPreset('nccl-ring').contract,
      allReduce: { order: { kind: 'ring', ring: [0, 0, 1] }, accumulate: 'bf16', roundResult: 'bf16' },
    });
    expect(() => checkContractForShape(ring, { ranks: 3, tokens: 1, hidden: 8 })).toThrow(
      'allReduce.order.ring: [0, 0, 1] is not a permutation of the 3 ranks',
    );
    expect(() => checkContractForShape(getPreset('aiter-1stage').contract, { ranks: 2, tokens: 1, hidden: 12 })).toThrow(
      'perThread: 8 does not divide hidden 12',
    );
    expect(() => checkContractForShape(getPreset('unfused').contract, { ranks: 0, tokens: 1, hidden: 8 })).toThrow('ranks');
  });

  test('unknown preset lists the known ones', () => {
    expect(() => getPreset('aiter-3stage')).toThrow(/unknown preset 'aiter-3stage'; known: unfused, unfused-quant@gfx942/);
  });
});

describe('presets', () => {
  test('every preset parses, has a source and a one-sentence description, and references an existing preset', () => {
    const names = new Set(PRESET_DEFINITIONS.map((d) => d.name));
    expect(names.size).toBe(PRESET_DEFINITIONS.length);
    for (const p of listPresets()) {
      expect(describeKernels(p).length).toBeGreaterThan(10);
      expect(p.models).toMatch(/^\S.{20,}\.$/);
      if (p.reference) expect(names.has(p.reference)).toBe(true);
    }
  });

  test('the presets the issues name exist', () => {
    for (const name of [
      'unfused',
      'aiter-1stage',
      'aiter-1stage-pre2586',
      'aiter-2stage',
      'aiter-1stage-quant',
      'vllm-unfused',
      'vllm-group-quant',
      'vllm-group-quant-ue8m0',
      'vllm-group-quant-colmajor',
      'nccl-ring',
      'flashinfer-oneshot@sm90',
      'flashinfer-oneshot@sm80',
      'flashinfer-oneshot-bf16acc@sm80',
      'flashinfer-twoshot',
      'flashinfer-ar-rms-group-fp8',
      'sglang-fused-quant',
      'sglang-fused-quant-fallback',
      'aiter-rms-quant-passthrough',
      'vllm-ar-rms-quant-noresidual',
      'vllm-ar-rms-quant',
      'vllm-ar-rms-quant-indexer',
      'vllm-ar-rms-quant-f32weight-cast',
      'vllm-ar-rms-quant-f32weight',
      'aiter-1stage@gfx942',
      'aiter-2stage-quant@gfx942',
      'aiter-split-quant@gfx950',
      'aiter-add-rmsnorm-quant@gfx942',
      'aiter-1stage-gemma',
      'vllm-native',
      'vllm-gemma',
      'vllm-native-group-quant',
    ])
      expect(() => getPreset(name)).not.toThrow();
  });

  test('canonical JSON sorts keys and round-trips through parse', () => {
    const c = getPreset('aiter-1stage-quant').contract;
    const text = canonicalJson(c);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
    expect(canonicalJson(parseContract(JSON.parse(text)))).toBe(text);
    expect(text.indexOf('"allReduce"')).toBeLessThan(text.indexOf('"bf16Rounding"'));
  });
});

import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { Contract } from '../../src/contracts/schema.js';
import { withFields } from '../../src/diff/dimensions.js';
import { RowScorer } from '../../src/diff/explainScore.js';
import { outputGeometry, parseOutputName, referenceNameFor } from '../../src/diff/pairs.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import type { OutputKind } from '../../src/engines/io.js';
import { decodeCode } from '../../src/diff/values.js';
import { candidateFrom, flipBit, goldenCase } from './helpers.js';

const decode = (code: number, dtype: string): number => decodeCode(code, dtype as Parameters<typeof decodeCode>[1]);

// The row scorer composes the CPU engine's stage functions itself; its counts must be what a
// whole engine run of the same contract gives when compared with the candidate element by
// element (counted here with runCpuEngine and sameCode, apart from the scorer).

function engineCount(
  contract: Contract,
  golden: ReturnType<typeof goldenCase>,
  candidate: ReadonlyMap<string, { dtype: string; data: ArrayLike<number> }>,
  rows: readonly number[],
  kinds: ReadonlySet<OutputKind>,
): number {
  const outputs = runCpuEngine(contract, golden.shape, golden.inputs);
  let n = 0;
  for (const [name, tensor] of candidate) {
    const kind = parseOutputName(name)!.kind;
    if (!kinds.has(kind)) continue;
    const reference = outputs.get(referenceNameFor(name, outputs)!)!;
    const geometry = outputGeometry(kind, golden.shape, contract);
    // Packed scale words hold exponent bytes: bits; every other output: bits, NaN as a class.
    const differ = (a: number, b: number): boolean =>
      reference.dtype === 'I32' ? a !== b : a !== b && !(Number.isNaN(decode(a, reference.dtype)) && Number.isNaN(decode(b, reference.dtype)));
    for (const m of rows)
      for (let k = 0; k < geometry.rowLength; k++) if (differ(reference.data[geometry.indexOf(m, k)], tensor.data[geometry.indexOf(m, k)])) n++;
  }
  return n;
}

describe('row scorer against whole engine runs', () => {
  const golden = goldenCase('vllm-group-quant', 4, 8, 1024, 'random', 51);
  const truth = withFields(getPreset('vllm-group-quant').contract, { 'allReduce.order': { kind: 'own-first' }, 'quant.bf16SideOutput': true })!;
  const exact = candidateFrom(golden, truth);
  // One flipped code so that the truth itself counts one mismatch.
  const candidate = new Map(exact);
  candidate.set('rank2.out.q', flipBit(exact.get('rank2.out.q')!, 5 * 1024 + 77, 0));
  const rows = [0, 5, 7];
  const all = new Set<OutputKind>(['residual', 'norm', 'q', 'scale']);
  const hypotheses: [string, Contract][] = [
    ['the truth', truth],
    ['natural order', withFields(truth, { 'allReduce.order': { kind: 'natural' } })!],
    ['column-major scales', withFields(truth, { 'quant.scaleLayout': { kind: 'column-major', tokenAlign: 4 } })!],
    ['UE8M0 ceil', withFields(truth, { 'quant.ue8m0': 'ceil' })!],
    ['x*w first, f32 quant input', withFields(truth, { 'norm.multiplyOrder': 'x-w-rstd', 'quant.input': 'f32' })!],
  ];
  for (const [name, contract] of hypotheses) {
    test(name, () => {
      const scorer = new RowScorer({ subject: { contract: golden.contract, shape: golden.shape, inputs: golden.inputs }, candidate }, rows);
      const expected = engineCount(contract, golden, candidate, rows, all);
      if (name === 'the truth') expect(expected).toBe(1);
      expect(scorer.mismatches(contract, all)).toBe(expected);
    });
  }

  test('packed UE8M0 scale words (I32), compared bit for bit', () => {
    const packed = withFields(truth, { 'quant.ue8m0': 'ceil', 'quant.scaleLayout': { kind: 'packed-ue8m0', tokenAlign: 4 } })!;
    const packedCandidate = candidateFrom(golden, packed);
    const floor = withFields(packed, { 'quant.ue8m0': 'floor' })!;
    const scorer = new RowScorer({ subject: { contract: golden.contract, shape: golden.shape, inputs: golden.inputs }, candidate: packedCandidate }, rows);
    expect(scorer.mismatches(packed, all)).toBe(0);
    const expected = engineCount(floor, golden, packedCandidate, rows, all);
    expect(expected).toBeGreaterThan(0);
    expect(scorer.mismatches(floor, all)).toBe(expected);
  });
});

describe('one scorer over hypotheses that differ in the all-reduce (its all-reduced rows are reused by key)', () => {
  // The scorer keeps each row's all-reduce by allReduceKey: a field the key left out would hand
  // one hypothesis another's rows. Each count is checked against a whole engine run, in an
  // order that changes one all-reduce field at a time and comes back to earlier hypotheses.
  const golden = goldenCase('vllm-group-quant', 4, 8, 1024, 'subnormals', 52);
  const truth = withFields(getPreset('vllm-group-quant').contract, { 'quant.bf16SideOutput': true })!;
  const candidate = candidateFrom(golden, truth);
  const rows = [1, 6];
  const all = new Set<OutputKind>(['residual', 'norm', 'q', 'scale']);
  const changes: Record<string, unknown>[] = [
    {},
    { 'allReduce.order': { kind: 'own-first' } },
    { 'allReduce.accumulate': 'bf16' },
    { 'allReduce.roundResult': 'none' },
    { 'residual.add': 'f32' },
    { 'bf16Rounding.allReduceResult': 'truncate' },
    { 'bf16Rounding.residualAdd': 'truncate' },
    { 'bf16Rounding.residualAdd': 'truncate', 'residual.add': 'f32' },
    { 'residual.add': 'f32', 'norm.input': 'f32' },
    { f32Subnormals: 'flush' },
  ];
  test('every count equals a whole engine run', () => {
    const scorer = new RowScorer({ subject: { contract: golden.contract, shape: golden.shape, inputs: golden.inputs }, candidate }, rows);
    const counts: number[] = [];
    for (const change of [...changes, ...changes.slice().reverse()]) {
      const contract = withFields(truth, change)!;
      expect(contract).not.toBeNull();
      const expected = engineCount(contract, golden, candidate, rows, all);
      counts.push(expected);
      expect(scorer.mismatches(contract, all)).toBe(expected);
      // The norm side alone, asked second, reads the all-reduced rows the first count kept (where
      // the norm reads f32: a bf16 norm input is read from the candidate's own residual output).
      const normSide = new Set<OutputKind>(['norm', 'q', 'scale']);
      if (contract.norm.input === 'f32') expect(scorer.mismatches(contract, normSide)).toBe(engineCount(contract, golden, candidate, rows, normSide));
    }
    // The changes are told apart: most give other counts than the truth's 0.
    expect(counts[0]).toBe(0);
    expect(counts.filter((n) => n > 0).length).toBeGreaterThan(changes.length);
  });
});

import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { Contract } from '../../src/contracts/schema.js';
import { withFields } from '../../src/diff/dimensions.js';
import { RowScorer } from '../../src/diff/explainScore.js';
import { outputGeometry, parseOutputName, referenceNameFor } from '../../src/diff/pairs.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import type { OutputKind } from '../../src/engines/io.js';
import { decodeCode } from '../../src/diff/values.js';
import { stepF32 } from '../../src/diff/rstd.js';
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
  const other = (r: 'rne' | 'truncate'): 'rne' | 'truncate' => (r === 'rne' ? 'truncate' : 'rne');
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
    // The sites allReduce reads are in the key; the norm's own two are not.
    { 'residual.add': 'f32', 'bf16Rounding.residualOut': other(truth.bf16Rounding.residualOut) },
    { 'allReduce.accumulate': 'bf16' },
    { 'allReduce.accumulate': 'bf16', 'bf16Rounding.allReduceHop': other(truth.bf16Rounding.allReduceHop) },
    { 'bf16Rounding.normOut': other(truth.bf16Rounding.normOut) },
    { 'bf16Rounding.normIntermediate': other(truth.bf16Rounding.normIntermediate), 'norm.roundIntermediate': true },
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

describe('scorers of one problem share engine state, all-reduced and normalized rows', () => {
  // Every scorer of one problem (the search's, the ties', the rescoring's) shares the engine
  // state per contract and the rows computed before the quant, the normalized rows kept by
  // engine state, x's source (the all-reduce, or the candidate's own bf16 residual where the
  // norm reads bf16 and out.residual is not asked), row, rank and rstd shift. A candidate whose
  // residual output is off in a row makes the two sources of x differ there; a key without the
  // source, the shift or the rank would hand one count another's rows. Counts are checked against
  // whole engine runs where the scorer reads no candidate output, and otherwise against a scorer
  // of a fresh problem (nothing shared, nothing kept), in an order that returns to earlier asks.
  const golden = goldenCase('vllm-group-quant', 4, 8, 1024, 'random', 53);
  const truth = withFields(getPreset('vllm-group-quant').contract, { 'quant.bf16SideOutput': true })!;
  const exact = candidateFrom(golden, truth);
  const residualName = [...exact.keys()].find((n) => parseOutputName(n)?.kind === 'residual')!;
  const candidate = new Map(exact);
  candidate.set(residualName, flipBit(exact.get(residualName)!, 6 * 1024 + 3, 9));
  const subject = { contract: golden.contract, shape: golden.shape, inputs: golden.inputs };
  const rows = [1, 6];
  const kindsOf = (...k: OutputKind[]): ReadonlySet<OutputKind> => new Set(k);
  const f32Norm = withFields(truth, { 'residual.add': 'f32', 'norm.input': 'f32' })!;
  const asks: [string, Contract, ReadonlySet<OutputKind>, boolean][] = [
    ['truth, every output', truth, kindsOf('residual', 'norm', 'q', 'scale'), true],
    ['truth, norm alone (own residual)', truth, kindsOf('norm'), false],
    ['truth, quant alone (own norm)', truth, kindsOf('q', 'scale'), false],
    ['f32 norm input, quant alone', withFields(f32Norm, { 'quant.input': 'f32' })!, kindsOf('q', 'scale'), true],
    ['f32 norm input, UE8M0 ceil, quant alone', withFields(f32Norm, { 'quant.input': 'f32', 'quant.ue8m0': 'ceil' })!, kindsOf('q', 'scale'), true],
    ['f32 norm input, every output', f32Norm, kindsOf('residual', 'norm', 'q', 'scale'), true],
    ['bf16 quant input, norm and quant (own residual)', withFields(truth, { 'quant.input': 'bf16' })!, kindsOf('norm', 'q', 'scale'), false],
    ['truth, norm and quant (own residual)', truth, kindsOf('norm', 'q', 'scale'), false],
  ];
  test('every count equals a whole engine run or a fresh scorer', () => {
    const problem = { subject, candidate };
    for (const approximations of [
      { rstdUlps: null, scaleUlps: null },
      { rstdUlps: 2, scaleUlps: null },
    ]) {
      for (const [name, contract, kinds, engineComparable] of [...asks, ...asks.slice().reverse()]) {
        const shared = new RowScorer(problem, rows, approximations).mismatches(contract, kinds);
        const fresh = new RowScorer({ subject, candidate }, rows, approximations).mismatches(contract, kinds);
        expect(shared, `${name}, rstd ${approximations.rstdUlps}`).toBe(fresh);
        if (engineComparable && approximations.rstdUlps === null) expect(shared, name).toBe(engineCount(contract, golden, candidate, rows, kinds));
      }
    }
    // The off residual element is seen: by the residual, and by the norm of the f32 path only.
    expect(new RowScorer({ subject, candidate }, rows).mismatches(truth, kindsOf('residual'))).toBe(1);
  });
  test('sums of squares are kept per plan, per-thread pattern and arithmetic', () => {
    // A candidate with f32 quant input: its f32 scales see any change of rstd, so a hypothesis
    // handed another's sum of squares would count other mismatches than a whole engine run.
    const f32Quant = withFields(f32Norm, { 'quant.input': 'f32' })!;
    const exactF32 = candidateFrom(golden, f32Quant);
    const problem = { subject, candidate: exactF32 };
    const normSide = kindsOf('norm', 'q', 'scale');
    const variants: Contract[] = [
      f32Quant,
      withFields(f32Quant, { 'norm.sumOfSquares.tree': { kind: 'sequential' } })!,
      withFields(f32Quant, { 'norm.sumOfSquares.tree': { kind: 'sequential' }, 'norm.sumOfSquares.perThread': 'fma-chain' })!,
      withFields(f32Quant, { 'norm.weight.offset': 'f32' })!,
    ];
    const counts = [...variants, ...variants.slice().reverse()].map((v) => {
      const n = new RowScorer(problem, rows).mismatches(v, normSide);
      expect(n).toBe(engineCount(v, golden, exactF32, rows, normSide));
      return n;
    });
    expect(counts[0]).toBe(0);
    expect(counts.slice(1, 3).every((n) => n > 0)).toBe(true);
  });
  test('each rstd shift normalizes anew: rows planted 2 and -1 f32 ULP off are explained by the shifts alone', () => {
    // An f32 quant input: the f32 scales see every rstd shift (bf16 outputs rarely do).
    const f32Quant = withFields(truth, { 'quant.input': 'f32' })!;
    const shifted = candidateFrom(golden, f32Quant, { rstdOverride: (m, rstd) => stepF32(rstd, [2, -1, 0][m % 3]) });
    const problem = { subject, candidate: shifted };
    const every = [0, 1, 2, 3, 4, 5, 6, 7];
    const normSide = kindsOf('norm', 'q', 'scale');
    const unshifted = new RowScorer(problem, every).mismatches(f32Quant, normSide);
    expect(unshifted).toBe(engineCount(f32Quant, golden, shifted, every, normSide));
    expect(unshifted).toBeGreaterThan(0);
    // The same problem's state, now with shifts: the unshifted rows are held already.
    expect(new RowScorer(problem, every, { rstdUlps: 2, scaleUlps: null }).mismatches(f32Quant, normSide)).toBe(0);
  });
});

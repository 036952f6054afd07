import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type * as ExplainModule from '../../src/diff/explain.js';
import type * as ScoreModule from '../../src/diff/explainScore.js';
import type * as ThreadsModule from '../../src/diff/scoreThreads.js';
import type * as DimensionsModule from '../../src/diff/dimensions.js';
import type { Contract } from '../../src/contracts/schema.js';
import type { OutputKind } from '../../src/engines/io.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { candidateFrom, flipBit, goldenCase } from './helpers.js';

// explain's batches scored on worker threads against the same scoring on the calling thread:
// the reports must be the same JSON (engine runs included), and every case asserts that the
// workers really scored. Workers run compiled JavaScript, so explain comes from dist/ (built by
// `npm test`'s pretest); the cases are plain data made from the sources.

const ROOT = join(__dirname, '../..');
const dist = (path: string) => import(join(ROOT, 'dist', path));
const { explainCandidate } = (await dist('src/diff/explain.js')) as typeof ExplainModule;
const { RowScorer, scoreKey } = (await dist('src/diff/explainScore.js')) as typeof ScoreModule;
const { ScoreThreads, scoreEach } = (await dist('src/diff/scoreThreads.js')) as typeof ThreadsModule;
const { withFields } = (await dist('src/diff/dimensions.js')) as typeof DimensionsModule;

function changed(base: Contract, fields: Readonly<Record<string, unknown>>): Contract {
  const c = withFields(base, fields);
  if (!c) throw new Error(`test contract invalid: ${JSON.stringify(fields)}`);
  return c;
}

const golden = goldenCase('aiter-1stage-quant', 8, 16, 1024, 'random', 7);

describe('explain scored on worker threads gives the report scored on one', () => {
  const planted = candidateFrom(golden, changed(golden.contract, { 'allReduce.order': { kind: 'own-first' }, 'bf16Rounding.residualOut': 'truncate' }));
  const cases: { name: string; candidate: Map<string, Tensor>; rstdUlps: number | null }[] = [
    { name: 'sm90 rsqrt', candidate: candidateFrom(golden, changed(golden.contract, { 'hardwareOps.rsqrt': 'sm90' })), rstdUlps: null },
    { name: 'own-first order, truncated residual', candidate: planted, rstdUlps: null },
    {
      // Unexplained elements: further search rounds on new probe rows (copied into the workers'
      // shared memory then), and the rstd search's shifts scored there too.
      name: 'flipped bits, rstd search',
      candidate: new Map([...planted].map(([name, t]) => [name, name.endsWith('.out.norm') ? flipBit(flipBit(t, 5 * 1024 + 3, 2), 11 * 1024 + 700, 0) : t])),
      rstdUlps: 2,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const one = await explainCandidate(golden, c.candidate, 'candidate', { rstdUlps: c.rstdUlps, scoreThreads: 0 });
      const messages: string[] = [];
      const three = await explainCandidate(golden, c.candidate, 'candidate', { rstdUlps: c.rstdUlps, scoreThreads: 3, progress: (m) => messages.push(m) });
      const used = messages.map((m) => /^scored (\d+) jobs on 3 worker threads$/.exec(m)).find((m) => m !== null);
      expect(used, messages.join('; ')).toBeDefined();
      expect(Number(used![1])).toBeGreaterThan(0);
      expect(JSON.stringify(three)).toBe(JSON.stringify(one));
    });
  }
});

describe('scoreEach', () => {
  test('starts each contract from what the scorer knew, and adds up to the same counts, runs and knowledge', async () => {
    const candidate = candidateFrom(golden, changed(golden.contract, { 'hardwareOps.rsqrt': 'sm90' }));
    const problem = { subject: { contract: golden.contract, shape: golden.shape, inputs: golden.inputs }, candidate };
    const kinds: ReadonlySet<OutputKind> = new Set(['norm', 'q', 'scale']);
    const contracts = [
      golden.contract,
      changed(golden.contract, { 'hardwareOps.rsqrt': 'sm90' }),
      changed(golden.contract, { 'bf16Rounding.normOut': 'truncate' }),
      changed(golden.contract, { 'norm.eps': 1e-5 }),
      changed(golden.contract, { 'allReduce.order': { kind: 'own-first' } }),
      golden.contract,
    ];
    const rows = [0, 7, 15];
    const threads = ScoreThreads.open(problem, 2)!;
    expect(threads).not.toBeNull();
    const scorers = [new RowScorer(problem, rows), new RowScorer(problem, rows)];
    // Both know the golden's contract as a lower bound from the first row alone (a bound of 1).
    for (const scorer of scorers) scorer.mismatches(golden.contract, kinds, 1);
    const seen = [await scoreEach(scorers[0], null, contracts, kinds, 50), await scoreEach(scorers[1], threads, contracts, kinds, 50)];
    expect(threads.jobs).toBe(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0][1]).toBe(0);
    expect(scorers[1].runs).toBe(scorers[0].runs);
    for (const contract of contracts) expect(scorers[1].entry(scoreKey(contract, kinds))).toEqual(scorers[0].entry(scoreKey(contract, kinds)));
    // Known now: a second batch sends nothing.
    await scoreEach(scorers[1], threads, contracts, kinds, 50);
    expect(threads.jobs).toBe(2);
  });
});

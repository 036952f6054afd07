import type { Contract } from '../contracts/schema.js';
import type { OutputKind } from '../engines/io.js';
import { canonicalKey, getPath, withFields } from './dimensions.js';
import type { RowScorer } from './explainScore.js';
import { STAGES, type SearchDimension, type StageName } from './explainSpace.js';
import { prefetch, scoreEach, scoring, type ScoreThreads } from './scoreThreads.js';

// The staged search (issue 14): the outputs separate the stages. out.residual depends only on
// the all-reduce and residual dimensions, out.norm on those and the norm's, out.q and out.scale
// on the quant's. Each stage is fitted against its own outputs on a few token rows, over every
// value of its dimensions, holding the earlier stages at their fit:
//   1. seeds: the current fit with this stage's fields taken from each donor contract (every
//      preset, whatever its rank count, and the golden's contract): presets seed the search;
//   2. from the best seeds, coordinate descent: every value of every dimension, keeping a change
//      that lowers the mismatch count, until no single change does; a value the schema rules
//      out alone is tried together with each value of one other dimension (residual.add 'bf16'
//      needs norm.input 'bf16'); then every pair of small dimensions; then the wider grid of
//      numbers no preset gives, each only while mismatches remain;
//   3. ties: every single-dimension change of the fit that scores the same (one batch, scored
//      on worker threads where there are any: scoreThreads.ts). A dimension a stage
//      cannot decide is searched again, among its tied values, by the next stage with outputs.

/** Output kinds that observe each stage. */
export const STAGE_OUTPUTS: Readonly<Record<StageName, readonly OutputKind[]>> = {
  residual: ['residual'],
  norm: ['norm'],
  quant: ['q', 'scale'],
};

/** Seeds descended from, best first; the first to reach zero mismatches ends the search. */
const DESCENT_SEEDS = 4;
/** Dimensions with at most this many values are tried in pairs when single changes stall. */
const PAIR_VALUES = 4;

export interface DimensionFit {
  readonly path: string;
  /** The stage the dimension belongs to (the first whose outputs it can change). */
  readonly stage: StageName;
  readonly value: unknown;
  /** Other values that reproduce the candidate exactly as well as the fit. */
  readonly ties: readonly unknown[];
  /** The stage whose outputs last searched it (a tie is searched again downstream). */
  readonly decidedBy: StageName;
}

export interface StageSearch {
  readonly stage: StageName;
  /** The output kinds it was scored on (a stage without outputs of its own joins the next). */
  readonly outputs: readonly OutputKind[];
  /** The dimension paths searched: its own and the ties carried from earlier stages. */
  readonly dimensions: readonly string[];
  /** Mismatching candidate elements of its outputs on the probe rows, at the fit. */
  readonly mismatches: number;
  /** Distinct contracts scored for this stage. */
  readonly evaluated: number;
  /** Whether the wider grid of unseeded numbers was searched (the seeded values left mismatches). */
  readonly grid: boolean;
}

export interface SearchResult {
  readonly contract: Contract;
  readonly stages: readonly StageSearch[];
  readonly dimensions: readonly DimensionFit[];
}

interface SearchContext {
  readonly scorer: RowScorer;
  /** Where batches of contracts are scored, or null: on this thread (scoreThreads.ts). */
  readonly threads: ScoreThreads | null;
  readonly donors: readonly Contract[];
  /** Kinds the candidate holds. */
  readonly observed: ReadonlySet<OutputKind>;
}

const same = (a: unknown, b: unknown): boolean => canonicalKey(a) === canonicalKey(b);

/** The contract with one dimension changed, or with it and one other dimension when the schema
 *  rules the change out alone; null when neither works. */
function move(contract: Contract, dimension: SearchDimension, value: unknown, partners: readonly SearchDimension[]): Contract | null {
  const direct = withFields(contract, { [dimension.path]: value });
  if (direct) return direct;
  for (const partner of partners) {
    if (partner.path === dimension.path) continue;
    for (const other of partner.values) {
      const paired = withFields(contract, { [dimension.path]: value, [partner.path]: other });
      if (paired) return paired;
    }
  }
  return null;
}

async function searchStage(
  base: Contract,
  dims: readonly SearchDimension[],
  partners: readonly SearchDimension[],
  kinds: ReadonlySet<OutputKind>,
  context: SearchContext,
): Promise<{ fit: Contract; mismatches: number; ties: Map<string, unknown[]>; evaluated: number; grid: boolean }> {
  const seen = new Set<string>();
  const score = (c: Contract, bound?: number): number => {
    seen.add(canonicalKey(c));
    return context.scorer.mismatches(c, kinds, bound);
  };
  // 1. Seeds.
  const seeds = new Map<string, Contract>([[canonicalKey(base), base]]);
  for (const donor of context.donors) {
    let seed = base;
    for (const d of dims) {
      const value = getPath(donor, d.path);
      if (value === undefined || same(value, getPath(seed, d.path))) continue;
      seed = withFields(seed, { [d.path]: value }) ?? seed;
    }
    seeds.set(canonicalKey(seed), seed);
  }
  // Seeds are ranked with the bound of the best so far (a seed above it is not finished);
  // the descent starts are then scored exactly. With threads, the seeds after the first are
  // scored ahead with the bound the first sets: each one's bound here until a seed scores lower
  // (the scorer takes a prefetched count only where it is asked exactly that: scoreThreads.ts).
  const seedList = [...seeds.values()];
  if (context.threads && seedList.length > 2) {
    const first = score(seedList[0]);
    await prefetch(
      context.scorer,
      context.threads,
      seedList.slice(1).map((c) => scoring(c, kinds, first + 1)),
    );
  }
  let fewest = Infinity;
  const ranked = seedList
    .map((c) => {
      const s = score(c, fewest === Infinity ? Infinity : fewest + 1);
      fewest = Math.min(fewest, s);
      return { c, s };
    })
    .sort((a, b) => a.s - b.s)
    .slice(0, DESCENT_SEEDS)
    .map(({ c }) => ({ c, s: score(c) }));
  // 2. Coordinate descent from the best seeds; over the wider grid of unseeded numbers too
  //    when the seeded values leave mismatches.
  const descend = (start: { c: Contract; s: number }, wide: boolean): { c: Contract; s: number } => {
    let current = start;
    for (let improved = true; improved && current.s > 0;) {
      improved = false;
      for (const d of dims) {
        for (const value of wide ? d.grid : d.values) {
          if (same(value, getPath(current.c, d.path))) continue;
          const next = move(current.c, d, value, partners);
          if (!next) continue;
          const s = score(next, current.s);
          if (s < current.s) {
            current = { c: next, s };
            improved = true;
          }
        }
      }
    }
    return current;
  };
  // Two dimensions that only help together (x*w first and a rounded intermediate): every pair
  // of small dimensions is tried from a fit that single changes cannot improve.
  const pairs = (start: { c: Contract; s: number }): { c: Contract; s: number } => {
    const small = dims.filter((d) => d.values.length <= PAIR_VALUES);
    let current = start;
    for (let improved = true; improved && current.s > 0;) {
      improved = false;
      for (const [i, a] of small.entries()) {
        for (const b of small.slice(i + 1)) {
          for (const va of a.values) {
            if (same(va, getPath(current.c, a.path))) continue;
            for (const vb of b.values) {
              if (same(vb, getPath(current.c, b.path))) continue;
              const next = withFields(current.c, { [a.path]: va, [b.path]: vb });
              if (!next) continue;
              const s = score(next, current.s);
              if (s < current.s) {
                current = descend({ c: next, s }, false);
                improved = true;
              }
            }
          }
        }
      }
    }
    return current;
  };
  let best = ranked[0];
  for (const start of ranked) {
    const reached = descend(start, false);
    if (reached.s < best.s) best = reached;
    if (best.s === 0) break;
  }
  if (best.s > 0) best = pairs(best);
  const wide = best.s > 0;
  if (wide) best = descend(best, true);
  // 3. Ties: single changes of the fit that score the same, scored as one batch (on the
  //    scorer's threads when it has them).
  const changes: { path: string; value: unknown; c: Contract }[] = [];
  for (const d of dims) {
    const fitted = getPath(best.c, d.path);
    for (const value of wide ? d.grid : d.values) {
      if (same(value, fitted)) continue;
      const next = move(best.c, d, value, partners);
      if (next) changes.push({ path: d.path, value, c: next });
    }
  }
  for (const change of changes) seen.add(canonicalKey(change.c));
  const counts = await scoreEach(
    context.scorer,
    context.threads,
    changes.map((change) => change.c),
    kinds,
    best.s + 1,
  );
  const ties = new Map<string, unknown[]>(dims.map((d) => [d.path, []]));
  for (const [i, change] of changes.entries()) if (counts[i] === best.s) ties.get(change.path)!.push(change.value);
  return { fit: best.c, mismatches: best.s, ties, evaluated: seen.size, grid: wide };
}

/** Fit the stages in order, each on its own outputs. */
export async function searchStages(base: Contract, dimensions: readonly SearchDimension[], context: SearchContext): Promise<SearchResult> {
  const present = dimensions.filter((d) => getPath(base, d.path) !== undefined);
  const stages: StageSearch[] = [];
  const fits = new Map<string, DimensionFit>();
  let contract = base;
  let pending: SearchDimension[] = [];
  for (const [i, stage] of STAGES.entries()) {
    pending = [...pending, ...present.filter((d) => d.stage === stage)];
    const kinds = new Set(STAGE_OUTPUTS[stage].filter((k) => context.observed.has(k)));
    if (kinds.size === 0) continue;
    const later = present.filter((d) => STAGES.indexOf(d.stage) > i);
    const result = await searchStage(contract, pending, [...pending, ...later], kinds, context);
    contract = result.fit;
    for (const d of pending)
      fits.set(d.path, { path: d.path, stage: d.stage, value: getPath(contract, d.path), ties: result.ties.get(d.path) ?? [], decidedBy: stage });
    stages.push({
      stage,
      outputs: [...kinds],
      dimensions: pending.map((d) => d.path),
      mismatches: result.mismatches,
      evaluated: result.evaluated,
      grid: result.grid,
    });
    // What this stage could not tell apart is searched again by the next, among the tied values.
    pending = pending
      .filter((d) => (result.ties.get(d.path) ?? []).length > 0)
      .map((d) => {
        const tied = [getPath(contract, d.path), ...result.ties.get(d.path)!];
        return { ...d, values: tied, grid: tied };
      });
  }
  const ordered = present.map((d) => fits.get(d.path)).filter((f): f is DimensionFit => f !== undefined);
  return { contract, stages, dimensions: ordered.map((f) => ({ ...f, value: getPath(contract, f.path) })) };
}

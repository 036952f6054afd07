import type { Contract } from '../contracts/schema.js';
import { serveJobs, type JobReply } from '../engines/cpu/workerPool.js';
import type { OutputKind } from '../engines/io.js';
import type { Tensor } from '../numerics/tensor.js';
import { RowScorer, type ApproximationOptions, type ExplainProblem, type ScoreEntry } from './explainScore.js';
import type { CaseSubject } from './rstd.js';

// A pooled worker thread of explain's scorer (scoreThreads.ts): each job is a list of contracts
// scored on the same rows, each on its kinds and bound, starting from what the calling scorer
// knew of it; the reply is what a scorer learns of each and the runs it took. The problem's tensors
// live in shared memory (their rows scored copied in by the caller); the worker keeps its own
// scorers of the last problem it was sent, so that rows all-reduced or normalized for one job
// serve the next.

export interface SharedProblem {
  /** Tells problems apart (a worker keeps the last one's scorers). */
  readonly id: number;
  readonly subject: CaseSubject;
  readonly candidate: readonly (readonly [string, Tensor])[];
}

export interface ScoreItem {
  readonly key: string;
  readonly contract: Contract;
  readonly kinds: readonly OutputKind[];
  readonly bound: number;
  /** What the calling scorer knew of the contract under this key. */
  readonly entry: ScoreEntry | null;
}

export interface ScoreJob {
  readonly problem: SharedProblem;
  readonly rows: readonly number[];
  readonly approximations: ApproximationOptions;
  readonly items: readonly ScoreItem[];
}

export interface ScoreResult {
  readonly key: string;
  readonly entry: ScoreEntry;
  readonly runs: number;
}

export interface ScoreReply extends JobReply {
  readonly results: readonly ScoreResult[];
}

let held: { readonly id: number; readonly problem: ExplainProblem; readonly scorers: Map<string, RowScorer> } | null = null;

function scorerFor(job: ScoreJob): RowScorer {
  if (held?.id !== job.problem.id)
    held = { id: job.problem.id, problem: { subject: job.problem.subject, candidate: new Map(job.problem.candidate) }, scorers: new Map() };
  const key = JSON.stringify([job.rows, job.approximations]);
  let scorer = held.scorers.get(key);
  if (!scorer) {
    scorer = new RowScorer(held.problem, job.rows, job.approximations);
    held.scorers.set(key, scorer);
  }
  return scorer;
}

export function scoreJob(job: ScoreJob): ScoreReply {
  const scorer = scorerFor(job);
  const results = job.items.map(({ key, contract, kinds, bound, entry }) => {
    scorer.adopt(key, entry ?? { first: null, rest: null }, 0);
    const before = scorer.runs;
    scorer.mismatches(contract, new Set(kinds), bound);
    return { key, entry: scorer.entry(key)!, runs: scorer.runs - before };
  });
  return { error: null, results };
}

serveJobs<ScoreJob, ScoreReply>(import.meta.url, 'explain scoring worker', scoreJob, (error) => ({ error, results: [] }));

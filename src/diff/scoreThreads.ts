import { availableParallelism } from 'node:os';
import type { Contract } from '../contracts/schema.js';
import { SharedRows, sharedTensor } from '../engines/cpu/sharedTensors.js';
import { WorkerPool } from '../engines/cpu/workerPool.js';
import type { OutputKind } from '../engines/io.js';
import type { Tensor } from '../numerics/tensor.js';
import { scoreKey, type ExplainProblem, type RowScorer } from './explainScore.js';
import { parseOutputName } from './pairs.js';
import type { ScoreItem, ScoreJob, ScoreReply, ScoreResult, SharedProblem } from './scoreWorker.js';

// explain's hypotheses scored on worker threads: a batch of contracts scored with one bound
// (each stage's ties, its seeds after the first, the tie rows' options) is split over the workers, each scoring its share
// from what the calling scorer knew of each contract; the calling scorer then takes what they
// learned. A count depends only on the contract, the rows, the kinds, the bound and what was
// known of that contract, so each is the count the calling thread would have made, and the
// runs add up to its runs: the report is the same with or without threads.

/** Workers at most by default: the batches hold tens of contracts. */
const MAX_DEFAULT_THREADS = 8;
/** Workers at most when asked for (explain --threads). */
export const MAX_SCORE_THREADS = 64;
/** A scoring worker's resident memory, measured at about 26 MB (explain at N=8, M=1024,
 *  H=7168: 322 MB with none, 534 MB with 8), rounded up. */
const WORKER_BYTES = 32 << 20;
/** The share of a problem's bytes (inputs and candidate) the default workers may add: explain
 *  holds about 1.9 times its case without them (bench/RESULTS.md), under the 2x of issue 16. */
const WORKER_SHARE = 1 / 8;

/** Worker threads explain scores on unless told: one per core but the calling thread's, at most
 *  MAX_DEFAULT_THREADS and as many as WORKER_SHARE of the problem's bytes holds; none when that
 *  leaves fewer than two (one worker only moves the work). A small case runs on this thread:
 *  its search is short, and the workers would hold more memory than the case. */
export function defaultScoreThreads(problem: ExplainProblem): number {
  const { inputs } = problem.subject;
  const tensors = [...inputs.rankInputs, inputs.weight, ...(inputs.residual ? [inputs.residual] : []), ...problem.candidate.values()];
  const bytes = tensors.reduce((sum, t) => sum + t.data.byteLength, 0);
  const workers = Math.min(availableParallelism() - 1, MAX_DEFAULT_THREADS, Math.floor((bytes * WORKER_SHARE) / WORKER_BYTES));
  return workers >= 2 ? workers : 0;
}

const pool = new WorkerPool<ScoreJob, ScoreReply>(new URL('./scoreWorker.js', import.meta.url), () => 'explain: a scoring worker');

let nextProblemId = 0;

/** One explain problem's worker threads and its tensors in shared memory: the inputs and the
 *  candidate's row-major outputs with only the rows scored so far copied in, the rest whole. */
export class ScoreThreads {
  private readonly rowsCopied: SharedRows<Tensor>[] = [];
  private readonly shared: SharedProblem;
  /** Jobs the workers have answered (a batch is a job per worker). */
  jobs = 0;

  private constructor(
    problem: ExplainProblem,
    readonly threads: number,
  ) {
    const { contract, shape, inputs } = problem.subject;
    const byRow = <T extends Tensor>(tensor: T): T => {
      const rows = new SharedRows(tensor, shape.hidden);
      this.rowsCopied.push(rows);
      return rows.tensor;
    };
    const rowMajor = (t: Tensor): boolean => t.shape.length === 2 && t.shape[0] === shape.tokens && t.shape[1] === shape.hidden;
    this.shared = {
      id: nextProblemId++,
      subject: {
        contract,
        shape,
        inputs: { rankInputs: inputs.rankInputs.map(byRow), residual: inputs.residual && byRow(inputs.residual), weight: sharedTensor(inputs.weight) },
      },
      candidate: [...problem.candidate]
        .filter(([name]) => parseOutputName(name) !== null)
        .map(([name, tensor]) => [name, rowMajor(tensor) ? byRow(tensor) : sharedTensor(tensor)] as const),
    };
  }

  /** The problem's threads, or null for fewer than two or where the compiled worker is missing
   *  (the sources run by the unit tests): scoreEach then scores on the calling thread. The
   *  workers start now, while the search's first stages run here. */
  static open(problem: ExplainProblem, threads: number): ScoreThreads | null {
    if (threads < 2 || !pool.available) return null;
    void pool.exclusive(threads, async () => undefined);
    return new ScoreThreads(problem, threads);
  }

  /** Scores each contract on its kinds and bound on the workers (distinct keys), starting from
   *  what the scorer knows of it (`fresh`: from nothing), and hands back what they learned. */
  async score(scorer: RowScorer, items: readonly Scoring[], fresh: boolean): Promise<ScoreResult[]> {
    for (const rows of this.rowsCopied) rows.copy(scorer.rows);
    const shares: ScoreItem[][] = Array.from({ length: Math.min(this.threads, items.length) }, () => []);
    for (const [i, { key, contract, kinds, bound }] of items.entries())
      shares[i % shares.length].push({ key, contract, kinds: [...kinds], bound, entry: fresh ? null : scorer.entry(key) });
    const job = (share: ScoreItem[]): ScoreJob => ({ problem: this.shared, rows: scorer.rows, approximations: scorer.approximations, items: share });
    const replies = await pool.exclusive(shares.length, (workers) => Promise.all(shares.map((share, w) => pool.run(workers[w], job(share)))));
    this.jobs += replies.length;
    return replies.flatMap((reply) => reply.results);
  }
}

/** A contract to score on some kinds with a bound, and its scoreKey. */
export interface Scoring {
  readonly key: string;
  readonly contract: Contract;
  readonly kinds: ReadonlySet<OutputKind>;
  readonly bound: number;
}

export function scoring(contract: Contract, kinds: ReadonlySet<OutputKind>, bound: number): Scoring {
  return { key: scoreKey(contract, kinds), contract, kinds, bound };
}

/** Scores these on the threads ahead of need, each from nothing, and leaves the results with the
 *  scorer (RowScorer.prefetch), which takes one only where it then scores the same key with the
 *  same bound knowing nothing of it: what it would have computed itself. */
export async function prefetch(scorer: RowScorer, threads: ScoreThreads, items: readonly Scoring[]): Promise<void> {
  const unknown = new Map(items.filter((i) => scorer.known(i.key, i.bound) === null).map((i) => [i.key, i]));
  if (unknown.size === 0) return;
  for (const { key, entry, runs } of await threads.score(scorer, [...unknown.values()], true)) scorer.prefetch(key, unknown.get(key)!.bound, entry, runs);
}

/** Each contract's `scorer.mismatches(contract, kinds, bound)`, the ones it cannot answer from
 *  what it knows scored on the threads when there are any (and two or more to score). */
export async function scoreEach(
  scorer: RowScorer,
  threads: ScoreThreads | null,
  contracts: readonly Contract[],
  kinds: ReadonlySet<OutputKind>,
  bound: number,
): Promise<number[]> {
  if (threads) {
    const unknown = new Map<string, Scoring>();
    for (const contract of contracts) {
      const item = scoring(contract, kinds, bound);
      if (!unknown.has(item.key) && scorer.known(item.key, bound) === null) unknown.set(item.key, item);
    }
    if (unknown.size >= 2) for (const { key, entry, runs } of await threads.score(scorer, [...unknown.values()], false)) scorer.adopt(key, entry, runs);
  }
  return contracts.map((contract) => scorer.mismatches(contract, kinds, bound));
}

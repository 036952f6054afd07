import { availableParallelism } from 'node:os';
import type { Contract, Shape } from '../../contracts/schema.js';
import { checkContractForShape } from '../../contracts/validate.js';
import type { Tensor } from '../../numerics/tensor.js';
import { checkCaseInputs, type CaseInputs } from '../io.js';
import { allocateCpuOutputs, computeCpuRows, runCpuEngine, type CpuEngineHooks } from './engine.js';
import { sharedTensor } from './sharedTensors.js';
import { WorkerPool } from './workerPool.js';
import { rowRange, type RowRangeJob, type RowRangeReply } from './rowRangeWorker.js';

// The CPU engine on every core: worker threads compute disjoint token-row ranges into shared
// output buffers (SharedArrayBuffer), so the outputs exist once whatever the thread count, and
// each worker runs the same row code as the single-threaded engine (computeCpuRows): a row's
// bits do not depend on which thread computed it. Inputs are copied once into shared memory
// (not per worker) unless they already live there.

export interface ParallelCpuOptions extends CpuEngineHooks {
  /** Worker threads; default: every core, fewer for small cases (see MIN_ELEMENTS_PER_THREAD). */
  readonly threads?: number;
}

/** Output elements (M x H) a thread should get at least before starting one pays off: a worker
 *  costs tens of milliseconds to start, a row of H = 7168 with 8 ranks about a millisecond. */
const MIN_ELEMENTS_PER_THREAD = 1 << 20;

const pool = new WorkerPool<RowRangeJob, RowRangeReply>(
  new URL('./rowRangeWorker.js', import.meta.url),
  (job) => `cpu engine: the worker for rows ${job.start}..${job.end - 1}`,
);

/** The thread count a run uses. */
export function cpuThreads(shape: Shape, options: ParallelCpuOptions): number {
  if (options.rows !== undefined || options.rstdOverride !== undefined || options.scaleOverride !== undefined || !pool.available) return 1;
  const wanted = options.threads ?? Math.min(availableParallelism(), Math.floor((shape.tokens * shape.hidden) / MIN_ELEMENTS_PER_THREAD));
  return Math.max(1, Math.min(wanted, shape.tokens));
}

/** runCpuEngine's outputs, computed by `threads` workers over row ranges. With diff hooks
 *  (rows, rstdOverride, scaleOverride: callbacks that cannot cross threads), one thread. */
export async function runCpuEngineParallel(
  contract: Contract,
  shapeInput: Shape,
  inputs: CaseInputs,
  options: ParallelCpuOptions = {},
): Promise<Map<string, Tensor>> {
  const shape = checkContractForShape(contract, shapeInput);
  checkCaseInputs(contract, shape, inputs);
  const threads = cpuThreads(shape, options);
  if (threads <= 1) return runCpuEngine(contract, shape, inputs, options);
  const outputs = allocateCpuOutputs(contract, shape, (bytes) => new SharedArrayBuffer(bytes));
  const sharedInputs: CaseInputs = {
    rankInputs: inputs.rankInputs.map(sharedTensor),
    residual: inputs.residual && sharedTensor(inputs.residual),
    weight: sharedTensor(inputs.weight),
  };
  const jobs: RowRangeJob[] = [];
  for (let t = 0; t < threads; t++) {
    const start = Math.floor((t * shape.tokens) / threads);
    const end = Math.floor(((t + 1) * shape.tokens) / threads);
    jobs.push({ contract, shape, inputs: sharedInputs, outputs: [...outputs], start, end });
  }
  // The calling thread takes the first range itself: threads - 1 workers.
  const run = pool.exclusive(threads - 1, async (workers) => {
    const pending = Promise.all(jobs.slice(1).map((job, t) => pool.run(workers[t], job)));
    // Awaited even if this thread's range throws, so no worker is left writing after we return.
    const own = Promise.resolve().then(() => computeCpuRows(contract, shape, sharedInputs, outputs, rowRange(jobs[0].start, jobs[0].end), {}));
    await Promise.allSettled([own, pending]);
    await own;
    await pending;
  });
  await run;
  return outputs;
}

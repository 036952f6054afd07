import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Contract, Shape } from '../../contracts/schema.js';
import { checkContractForShape } from '../../contracts/validate.js';
import type { Tensor } from '../../numerics/tensor.js';
import { checkCaseInputs, type CaseInputs } from '../io.js';
import { allocateCpuOutputs, computeCpuRows, runCpuEngine, type CpuEngineHooks } from './engine.js';
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

const WORKER_URL = new URL('./rowRangeWorker.js', import.meta.url);

/** Where the compiled worker is missing (the engine imported from its TypeScript sources, as in
 *  the unit tests), runs are single-threaded. */
const WORKER_AVAILABLE = existsSync(fileURLToPath(WORKER_URL));

function shared<T extends Tensor>(tensor: T): T {
  const data = tensor.data;
  if (data.buffer instanceof SharedArrayBuffer) return tensor;
  const bytes = new SharedArrayBuffer(data.byteLength);
  new Uint8Array(bytes).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const Typed = data.constructor as new (buffer: SharedArrayBuffer) => typeof data;
  return { ...tensor, data: new Typed(bytes) };
}

/** The thread count a run uses. */
export function cpuThreads(shape: Shape, options: ParallelCpuOptions): number {
  if (options.rows !== undefined || options.rstdOverride !== undefined || options.scaleOverride !== undefined || !WORKER_AVAILABLE) return 1;
  const wanted = options.threads ?? Math.min(availableParallelism(), Math.floor((shape.tokens * shape.hidden) / MIN_ELEMENTS_PER_THREAD));
  return Math.max(1, Math.min(wanted, shape.tokens));
}

// Workers are kept between runs (a fresh worker loads the modules and runs the row code cold,
// which cost more than the rows at M = 128), unreferenced while idle so they never keep the
// process alive. Runs take the pool one at a time.
const pool: Worker[] = [];
let poolQueue: Promise<unknown> = Promise.resolve();

function poolWorkers(count: number): Worker[] {
  while (pool.length < count) {
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    worker.unref();
    // A worker that dies leaves the pool; its run has already been rejected by runJob.
    worker.once('exit', () => pool.splice(pool.indexOf(worker) >>> 0, 1));
    pool.push(worker);
  }
  return pool.slice(0, count);
}

function runJob(worker: Worker, job: RowRangeJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error: Error | null): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      worker.unref();
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (reply: RowRangeReply): void => finish(reply.error === null ? null : new Error(reply.error));
    const onError = (error: Error): void => finish(error);
    const onExit = (code: number): void => finish(new Error(`cpu engine: the worker for rows ${job.start}..${job.end - 1} exited with code ${code}`));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.ref();
    worker.postMessage(job);
  });
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
    rankInputs: inputs.rankInputs.map(shared),
    residual: inputs.residual && shared(inputs.residual),
    weight: shared(inputs.weight),
  };
  const jobs: RowRangeJob[] = [];
  for (let t = 0; t < threads; t++) {
    const start = Math.floor((t * shape.tokens) / threads);
    const end = Math.floor(((t + 1) * shape.tokens) / threads);
    jobs.push({ contract, shape, inputs: sharedInputs, outputs: [...outputs], start, end });
  }
  // The calling thread takes the first range itself: threads - 1 workers.
  const run = poolQueue.then(async () => {
    const workers = poolWorkers(threads - 1);
    const pending = Promise.all(jobs.slice(1).map((job, t) => runJob(workers[t], job)));
    // Awaited even if this thread's range throws, so no worker is left writing after we return.
    const own = Promise.resolve().then(() => computeCpuRows(contract, shape, sharedInputs, outputs, rowRange(jobs[0].start, jobs[0].end), {}));
    await Promise.allSettled([own, pending]);
    await own;
    await pending;
  });
  poolQueue = run.catch(() => undefined);
  await run;
  return outputs;
}

import type { Contract, Shape } from '../../contracts/schema.js';
import type { Tensor } from '../../numerics/tensor.js';
import type { CaseInputs } from '../io.js';
import { computeCpuRows } from './engine.js';
import { serveJobs, type JobReply } from './workerPool.js';

// A pooled worker thread of runCpuEngineParallel (parallel.ts): each message is a job, token rows
// start .. end - 1 of a case written into the shared output buffers it carries; the reply says
// when it is done, or the error.

export interface RowRangeJob {
  readonly contract: Contract;
  readonly shape: Shape;
  /** Tensors on SharedArrayBuffers (structured clone shares them, it does not copy them). */
  readonly inputs: CaseInputs;
  readonly outputs: [string, Tensor][];
  readonly start: number;
  readonly end: number;
}

export type RowRangeReply = JobReply;

/** Token rows start .. end - 1. */
export function rowRange(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

serveJobs<RowRangeJob, RowRangeReply>(
  import.meta.url,
  'cpu engine worker',
  (job) => {
    computeCpuRows(job.contract, job.shape, job.inputs, new Map(job.outputs), rowRange(job.start, job.end), {});
    return { error: null };
  },
  (error) => ({ error }),
);

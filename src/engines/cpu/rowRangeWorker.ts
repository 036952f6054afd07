import { parentPort, workerData } from 'node:worker_threads';
import type { Contract, Shape } from '../../contracts/schema.js';
import type { Tensor } from '../../numerics/tensor.js';
import type { CaseInputs } from '../io.js';
import { computeCpuRows } from './engine.js';

// One worker thread of runCpuEngineParallel (parallel.ts): token rows start .. end - 1 of a case,
// written into the shared output buffers it was given.

export interface RowRangeJob {
  readonly contract: Contract;
  readonly shape: Shape;
  /** Tensors on SharedArrayBuffers (structured clone shares them, it does not copy them). */
  readonly inputs: CaseInputs;
  readonly outputs: [string, Tensor][];
  readonly start: number;
  readonly end: number;
}

if (parentPort) {
  const job = workerData as RowRangeJob;
  const rows = Array.from({ length: job.end - job.start }, (_, i) => job.start + i);
  computeCpuRows(job.contract, job.shape, job.inputs, new Map(job.outputs), rows, {});
  parentPort.postMessage('done');
}

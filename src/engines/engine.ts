import type { Contract, Shape } from '../contracts/schema.js';
import type { Tensor } from '../numerics/tensor.js';
import { runCpuEngineParallel } from './cpu/parallel.js';
import type { CaseInputs } from './io.js';

/** What `gen`, `verify` and `summary` need of an engine. */
export interface Engine {
  /** e.g. 'cpu' or 'webgpu (NVIDIA H100, vulkan)'. */
  readonly description: string;
  run(contract: Contract, shape: Shape, inputs: CaseInputs): Promise<Map<string, Tensor>>;
  close(): Promise<void>;
}

export const cpuEngine: Engine = {
  description: 'cpu',
  // Every core on large cases (worker threads over row ranges, same bits), one thread on small ones.
  run: (contract, shape, inputs) => runCpuEngineParallel(contract, shape, inputs),
  close: async () => {},
};

import { allReduce } from './cpu/allReduce.js';
import { normalize } from './cpu/normalize.js';
import { groupScale, quantize } from './cpu/quant.js';
import { sumOfSquares } from './cpu/sumOfSquares.js';

// The engine's stages as twins: each CPU stage function beside the WGSL entry point that does
// the same steps under the same name. The engines import nothing from each other; this registry
// sits below both, and its test runs both sides on rows (test/engines/stages.test.ts: the CPU
// half; the WGSL half runs each entry point on the same rows).

export interface StageTwin {
  /** The stage's name: the CPU function's and the WGSL entry point's. */
  readonly name: string;
  /** The CPU stage itself. */
  readonly cpu: (...args: never[]) => unknown;
  /** The WGSL entry point: its file under shaders/engine/. */
  readonly wgsl: { readonly file: string; readonly entry: string };
}

export const STAGE_TWINS = [
  { name: 'allReduce', cpu: allReduce, wgsl: { file: 'allReduce.wgsl', entry: 'allReduce' } },
  { name: 'sumOfSquares', cpu: sumOfSquares, wgsl: { file: 'sumOfSquares.wgsl', entry: 'sumOfSquares' } },
  { name: 'normalize', cpu: normalize, wgsl: { file: 'normalize.wgsl', entry: 'normalize' } },
  { name: 'groupScale', cpu: groupScale, wgsl: { file: 'quant.wgsl', entry: 'groupScale' } },
  { name: 'quantize', cpu: quantize, wgsl: { file: 'quant.wgsl', entry: 'quantize' } },
] as const satisfies readonly StageTwin[];

export type StageName = (typeof STAGE_TWINS)[number]['name'];

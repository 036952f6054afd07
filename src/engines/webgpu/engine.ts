import type { Contract, Shape } from '../../contracts/schema.js';
import type { Tensor } from '../../numerics/tensor.js';
import type { Engine } from '../engine.js';
import type { CaseInputs } from '../io.js';
import { closeDevice, describeAdapter, openDevice, type AdapterChoice, type GpuContext } from './device.js';
import { executeCase } from './execute.js';
import { releaseCase, uploadCase } from './upload.js';

// The WebGPU engine: the CPU engine's pipeline, stage by stage in WGSL, with every f32 step
// done by the integer soft-float, so its output bits equal the CPU engine's on any adapter. A
// case is uploaded once (upload.ts), then executed (execute.ts: submission and readback), so
// the two can be timed apart; runWebGpuEngine does both.

/** Uploads, executes and releases one case. */
export async function runWebGpuEngine(ctx: GpuContext, contract: Contract, shape: Shape, inputs: CaseInputs): Promise<Map<string, Tensor>> {
  const uploaded = await uploadCase(ctx, contract, shape, inputs);
  try {
    return (await executeCase(uploaded)).outputs;
  } finally {
    releaseCase(uploaded);
  }
}

export interface WebGpuEngine extends Engine {
  readonly ctx: GpuContext;
}

/** The engine on a device the caller opened (close() leaves the device to the caller). */
export function webGpuEngineOn(ctx: GpuContext): WebGpuEngine {
  return {
    ctx,
    description: `webgpu (${describeAdapter(ctx.adapter)})`,
    run: (contract, shape, inputs) => runWebGpuEngine(ctx, contract, shape, inputs),
    close: async () => {},
  };
}

/** Opens the adapter asked for (NoAdapterError says what to install) and owns its device. */
export async function openWebGpuEngine(choice: AdapterChoice = 'auto'): Promise<WebGpuEngine> {
  const ctx = await openDevice(choice);
  return { ...webGpuEngineOn(ctx), close: () => closeDevice(ctx) };
}

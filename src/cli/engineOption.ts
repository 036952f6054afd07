import { cpuEngine, type Engine } from '../engines/engine.js';
import { ADAPTER_CHOICES, NoAdapterError, openDevice, type AdapterChoice, type GpuContext } from '../engines/webgpu/device.js';
import { openWebGpuEngine } from '../engines/webgpu/engine.js';
import type { OptionTable } from './args.js';
import { UsageError } from './errors.js';

// --engine picks the engine: cpu (the reference, the default), webgpu (fails without an
// adapter, saying what to install), auto (webgpu when an adapter exists, else cpu, with a note).
// --adapter picks the WebGPU adapter. verify also takes 'all': every engine this machine runs.

export const ENGINE_CHOICES = ['cpu', 'webgpu', 'auto'] as const;
export const ENGINE_OPTION = {
  engine: {
    type: 'string',
    value: 'cpu|webgpu|auto',
    help:
      'the engine that computes the bits: cpu (the reference, default), webgpu (the simulator; fails without an adapter), auto (webgpu when an adapter ' +
      'exists, else cpu)',
  },
  adapter: {
    type: 'string',
    value: 'auto|vulkan|swiftshader|llvmpipe',
    help: 'the WebGPU adapter: auto tries a GPU through Vulkan, then SwiftShader, then Mesa llvmpipe',
  },
} as const satisfies OptionTable;

function adapterChoice(adapter: string | undefined): AdapterChoice {
  const choice = ADAPTER_CHOICES.find((c) => c === (adapter ?? 'auto'));
  if (choice === undefined) throw new UsageError(`--adapter: unknown adapter '${adapter}'; use ${ADAPTER_CHOICES.join(', ')}`);
  return choice;
}

/** The device for --adapter; no adapter is an expected error whose message says what to install. */
export async function openAdapter(adapter: string | undefined): Promise<GpuContext> {
  try {
    return await openDevice(adapterChoice(adapter));
  } catch (error) {
    if (error instanceof NoAdapterError) throw new UsageError(error.message);
    throw error;
  }
}

async function openWebGpu(adapter: string | undefined): Promise<Engine | NoAdapterError> {
  try {
    return await openWebGpuEngine(adapterChoice(adapter));
  } catch (error) {
    if (error instanceof NoAdapterError) return error;
    throw error;
  }
}

export async function openEngine(engine: string | undefined, adapter?: string): Promise<Engine> {
  switch (engine ?? 'cpu') {
    case 'cpu':
      if (adapter !== undefined) throw new UsageError('--adapter applies to --engine webgpu or auto, not cpu');
      return cpuEngine;
    case 'webgpu': {
      const opened = await openWebGpu(adapter);
      if (opened instanceof NoAdapterError) throw new UsageError(opened.message);
      return opened;
    }
    case 'auto': {
      const opened = await openWebGpu(adapter);
      if (!(opened instanceof NoAdapterError)) return opened;
      console.error(`ulpwise: using the cpu engine: ${opened.message}`);
      return cpuEngine;
    }
    default:
      throw new UsageError(`--engine: unknown engine '${engine}'; use ${ENGINE_CHOICES.join(', ')}`);
  }
}

/** For verify: 'all' (the default) is the cpu engine plus webgpu where an adapter exists. */
export async function openEngines(engine: string | undefined, adapter?: string): Promise<Engine[]> {
  if ((engine ?? 'all') !== 'all') return [await openEngine(engine, adapter)];
  const opened = await openWebGpu(adapter);
  if (!(opened instanceof NoAdapterError)) return [cpuEngine, opened];
  console.error(`ulpwise: verifying with the cpu engine only: ${opened.message}`);
  return [cpuEngine];
}

import { cpuEngine, type Engine } from '../engines/engine.js';
import { UsageError } from './errors.js';

export const ENGINE_OPTION = { engine: { type: 'string' } } as const;
export const ENGINES_OPTION = ENGINE_OPTION;

export async function openEngine(name: string | undefined): Promise<Engine> {
  switch (name ?? 'cpu') {
    case 'cpu':
      return cpuEngine;
    default:
      throw new UsageError(`--engine: unknown engine '${name}'; use cpu`);
  }
}

/** For verify: 'all' opens every engine this machine can run. */
export async function openEngines(name: string | undefined): Promise<Engine[]> {
  return [await openEngine(name)];
}

import { afterAll, beforeAll } from 'vitest';
import { closeDevice, NoAdapterError, openDevice, type AdapterKind, type GpuContext } from '../../src/engines/webgpu/device.js';

/** The adapters every CI run must have (.ci/install-adapters.sh installs them). */
export const SOFTWARE_ADAPTERS = ['swiftshader', 'llvmpipe'] as const satisfies readonly AdapterKind[];

/** A device, or the NoAdapterError that says what to install; other errors fail the caller. */
export async function openOrExplain(kind: AdapterKind): Promise<GpuContext | NoAdapterError> {
  try {
    return await openDevice(kind);
  } catch (error) {
    if (error instanceof NoAdapterError) return error;
    throw error;
  }
}

/**
 * The device, or else: under CI the NoAdapterError is thrown (the test fails with the install
 * hint); elsewhere the test is skipped with that hint printed.
 */
export function deviceOrSkip(opened: GpuContext | NoAdapterError, skip: (note: string) => never): GpuContext {
  if (!(opened instanceof NoAdapterError)) return opened;
  if (process.env.CI === 'true') throw opened;
  console.warn(`SKIPPED (not CI): ${opened.message}`);
  return skip(`${opened.choice} adapter not installed (outside CI; see the warning for what to install)`);
}

/**
 * For a describe block: opens the adapter before its tests (openOrExplain) and closes it after
 * them; each test asks the returned function for the device (deviceOrSkip of what opened).
 */
export function suiteDevice(kind: AdapterKind): (skip: (note: string) => never) => GpuContext {
  let opened: GpuContext | NoAdapterError | undefined;
  beforeAll(async () => {
    opened = await openOrExplain(kind);
  });
  afterAll(async () => {
    if (opened !== undefined && !(opened instanceof NoAdapterError)) await closeDevice(opened);
  });
  return (skip) => {
    if (opened === undefined) throw new Error(`the ${kind} adapter was not opened: suiteDevice's beforeAll has not run`);
    return deviceOrSkip(opened, skip);
  };
}

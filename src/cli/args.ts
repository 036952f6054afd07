import { UsageError } from './errors.js';

/** Runs node:util parseArgs, turning its errors into usage errors. */
export function usageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function intOption(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name}: '${value}' is not a non-negative integer`);
  return Number(value);
}

/** Progress on stderr: one rewritten line on a terminal, occasional lines elsewhere. */
export function progressReporter(label: string): (done: number, total: number, detail?: string) => void {
  let lastPrinted = 0;
  return (done, total, detail = '') => {
    const now = Date.now();
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${label} ${done}/${total} ${detail}`.slice(0, 120).padEnd(120));
      if (done === total) process.stderr.write('\n');
    } else if (done === total || now - lastPrinted > 2000) {
      process.stderr.write(`${label} ${done}/${total} ${detail}\n`);
      lastPrinted = now;
    }
  };
}

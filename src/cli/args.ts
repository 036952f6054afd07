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
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${name}: '${value.slice(0, 40)}' is not a non-negative integer`);
  return Number(value);
}

/** An integer flag within [min, max], named in the one-line error when outside. */
export function boundedIntOption(value: string | undefined, name: string, min: number, max: number, fallback?: number): number {
  const n = intOption(value, name, fallback);
  if (n < min || n > max) throw new UsageError(`--${name}: ${n} is outside ${min}..${max}`);
  return n;
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

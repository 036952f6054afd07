// Progress lines: labelled, on stderr, only for phases past two seconds, and only on a terminal
// or when --progress asks (so captured stderr holds errors alone).
import { afterEach, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest';
import { progressReporter } from '../../src/cli/args.js';

let write: MockInstance;
let isTTY: boolean | undefined;

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  isTTY = process.stderr.isTTY;
});

afterEach(() => {
  vi.useRealTimers();
  write.mockRestore();
  process.stderr.isTTY = isTTY as boolean;
});

function written(): string {
  return write.mock.calls.map((c) => String(c[0])).join('');
}

describe('progressReporter', () => {
  test('not a terminal and not asked: silent however long the phase', () => {
    process.stderr.isTTY = false;
    const progress = progressReporter('explain');
    vi.setSystemTime(10_000);
    progress(1, 3, 'rescoring');
    progress(3, 3);
    expect(written()).toBe('');
  });

  test('--progress on a pipe: nothing in the first two seconds, then labelled lines', () => {
    process.stderr.isTTY = false;
    const progress = progressReporter('explain', true);
    vi.setSystemTime(1_500);
    progress(1, 4, 'search');
    expect(written()).toBe('');
    vi.setSystemTime(2_500);
    progress(2, 4, 'rescoring 17 hypotheses');
    vi.setSystemTime(3_000);
    progress(3, 4); // within two seconds of the last line: skipped
    progress(4, 4, 'done');
    expect(written()).toBe('explain 2/4 rescoring 17 hypotheses\nexplain 4/4 done\n');
  });

  test('a terminal: one rewritten line after two seconds, ended by a newline; a short phase prints nothing', () => {
    process.stderr.isTTY = true;
    const quick = progressReporter('gen');
    quick(1, 1);
    expect(written()).toBe('');
    const slow = progressReporter('invariance tp4');
    vi.setSystemTime(2_001);
    slow(5, 17, 'batch 125');
    slow(17, 17, 'batch 136');
    expect(written()).toBe(`\r${'invariance tp4 5/17 batch 125'.padEnd(120)}\r${'invariance tp4 17/17 batch 136'.padEnd(120)}\n`);
  });
});

// The hip/ host builds the tests run (`make -C hip TARGET` with the host C++ compiler, no GPU): the
// compiler found once, the build before a file's tests, a scratch folder, and the rule that
// CI=true turns a missing compiler into a failure instead of a skip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/packageRoot.js';

export const HIP_DIR = join(PACKAGE_ROOT, 'hip');
const inCi = process.env.CI === 'true';

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;
}
const compiler = [process.env.CXX, 'c++', 'g++', 'clang++'].find((t) => t !== undefined && t !== '' && onPath(t));
const available = compiler !== undefined && onPath('make');

/** Builds `make -C hip <target>` before the calling file's tests. `check` is vitest's `it`, or
 *  `it.skip` (with a notice) where no compiler or make is found and CI is not set; with CI=true
 *  that is a failure naming `checked`. `scratch()` is a folder of the file's own, removed after. */
export function hostBuild(target: string, checked: string): { check: typeof it | typeof it.skip; scratch: () => string } {
  let work: string | undefined;
  beforeAll(() => {
    if (!available) {
      if (inCi) throw new Error(`CI=true but a C++ compiler or make is missing: install g++ and make so ${checked}`);
      return;
    }
    const build = spawnSync('make', ['-C', HIP_DIR, target, `CXX=${compiler as string}`], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`make -C hip ${target} failed:\n${build.stdout}${build.stderr}`);
  });
  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });
  if (!available && !inCi) it.skip('needs a C++ compiler and make (CI=true makes this a failure)', () => {});
  return { check: available || inCi ? it : it.skip, scratch: () => (work ??= mkdtempSync(join(tmpdir(), `ulpwise-${target}-`))) };
}

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The Python emulations of the captured real kernels (conformance/emulate) must reproduce every
// capture bit for bit, and the eager reduction tree must match the GPU's own tree probes. They
// need python3 with numpy (.ci/conformance.sh installs python3-numpy); this test does not skip.

const emulateDir = fileURLToPath(new URL('../../conformance/emulate/', import.meta.url));

describe('conformance emulations (python3 + numpy)', () => {
  it('reproduce every capture and every tree probe bit for bit', () => {
    const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', '.', '-p', 'test_*.py'], {
      cwd: emulateDir,
      encoding: 'utf8',
      timeout: 900_000,
    });
    if (run.error) throw new Error(`python3 could not run: ${run.error.message} (install python3 and python3-numpy)`);
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toMatch(/\nOK\b/);
  });
});

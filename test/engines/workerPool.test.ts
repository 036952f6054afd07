import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WorkerPool, type JobReply } from '../../src/engines/cpu/workerPool.js';

// The pool's failure paths, with worker modules written here: a worker that fails to load
// while no job runs (scoreThreads.ts starts its workers ahead of their first job) must not take
// the process down, and the next job must fail with the worker's error, not hang.

const dir = mkdtempSync(join(tmpdir(), 'ulpwise-pool-'));
function workerModule(name: string, body: string): URL {
  const file = join(dir, name);
  writeFileSync(file, body);
  return pathToFileURL(file);
}

describe('WorkerPool', () => {
  it('answers jobs with the replies of its workers', async () => {
    const url = workerModule(
      'echo.mjs',
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', (n) => parentPort.postMessage({ error: null, twice: 2 * n }));\n",
    );
    const pool = new WorkerPool<number, JobReply & { twice: number }>(url, (n) => `job ${n}`);
    expect(pool.available).toBe(true);
    const replies = await pool.exclusive(2, (workers) => Promise.all([pool.run(workers[0], 3), pool.run(workers[1], 5)]));
    expect(replies.map((r) => r.twice)).toEqual([6, 10]);
  });

  it('survives a worker that fails to load before its first job, and fails that job', async () => {
    const url = workerModule('broken.mjs', "throw new Error('broken worker module');\n");
    const pool = new WorkerPool<number, JobReply>(url, (n) => `job ${n}`);
    // Started ahead of any job: its load error has no job to reject.
    await pool.exclusive(1, async () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expect(pool.exclusive(1, (workers) => pool.run(workers[0], 1))).rejects.toThrow(/broken worker module|exited/);
  });

  it('is unavailable where the worker module is missing', () => {
    expect(new WorkerPool(pathToFileURL(join(dir, 'missing.mjs')), () => '').available).toBe(false);
  });
});

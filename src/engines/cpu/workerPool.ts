import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';

// Worker threads kept between runs (a fresh worker loads the modules and runs its code cold,
// which costs more than a short job), unreferenced while idle so they never keep the process
// alive. Runs take a pool one at a time. Used by the CPU engine (parallel.ts: token-row ranges)
// and explain's scorer (src/diff/scoreThreads.ts: hypotheses).

/** What every job's reply carries: null, or why the job failed. */
export interface JobReply {
  readonly error: string | null;
}

export class WorkerPool<Job, Reply extends JobReply> {
  private readonly workers: Worker[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether the compiled worker exists: imported from the TypeScript sources (the unit tests),
   *  it does not, and callers run on the calling thread. */
  readonly available: boolean;

  constructor(
    private readonly url: URL,
    /** What a job is, for the error when its worker exits. */
    private readonly describe: (job: Job) => string,
  ) {
    this.available = existsSync(fileURLToPath(url));
  }

  /** Runs `use` with `count` workers once every earlier run of this pool has ended. */
  exclusive<T>(count: number, use: (workers: readonly Worker[]) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => use(this.take(count)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private take(count: number): Worker[] {
    while (this.workers.length < count) {
      const worker = new Worker(this.url, { workerData: { serves: this.url.href }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      worker.unref();
      // A worker that dies leaves the pool; its job has already been rejected by `run`. An error
      // while no job runs (a worker started ahead of its first job) would otherwise be thrown at
      // the process: the worker exits, and the next job gets a fresh one.
      worker.once('exit', () => this.workers.splice(this.workers.indexOf(worker) >>> 0, 1));
      worker.on('error', () => undefined);
      this.workers.push(worker);
    }
    return this.workers.slice(0, count);
  }

  /** The worker's reply to the job; rejected with the reply's error, or when the worker fails. */
  run(worker: Worker, job: Job): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const finish = (error: Error | null, reply?: Reply): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.unref();
        if (error) reject(error);
        else resolve(reply!);
      };
      const onMessage = (reply: Reply): void => finish(reply.error === null ? null : new Error(reply.error), reply);
      const onError = (error: Error): void => finish(error);
      const onExit = (code: number): void => finish(new Error(`${this.describe(job)} exited with code ${code}`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.ref();
      worker.postMessage(job);
    });
  }
}

/** A pooled worker's loop: each message a job, each answered with `handle`'s reply, or with the
 *  error it threw (`label`: whose error). Does nothing except in a worker a pool started for the
 *  module at `moduleUrl` (its import.meta.url): the module may be imported elsewhere too. */
export function serveJobs<Job, Reply extends JobReply>(moduleUrl: string, label: string, handle: (job: Job) => Reply, failed: (error: string) => Reply): void {
  const port = parentPort;
  if (!port || (workerData as { serves?: unknown } | null)?.serves !== moduleUrl) return;
  port.on('message', (job: Job) => {
    let reply: Reply;
    try {
      reply = handle(job);
    } catch (e) {
      reply = failed(`${label}: ${(e as Error).message}`);
    }
    port.postMessage(reply);
  });
}

/**
 * Where campaign runs execute.
 *
 *  - SimPool: sim-engine machines in parallel, one whole machine per task, on
 *    a piscina pool of `jobs` threads (src/stress/sim-worker.ts). This pool is
 *    separate from the threads engine's CPU pool (src/machine/threads.ts):
 *    there each thread is one emulated CPU; here each thread is a machine.
 *  - ThreadsRunner: one threads-engine machine at a time in this process, on
 *    the warm CPU pool (more than one would put 2 x N CPU threads on the host
 *    cores and turn host scheduling noise into guest timing).
 *
 * Both let the caller abandon a run: the sim pool terminates the worker that
 * runs it (piscina replaces it); a threads run cannot be cut short, so the
 * caller stops waiting for it and exits.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { distFile } from '../paths.js';
import { runJob, type RunJob, type RunRecord } from './record.js';

export interface Runner {
  /** Runs that can be in flight at once. */
  readonly slots: number;
  run(job: RunJob, signal: AbortSignal): Promise<RunRecord>;
  close(): Promise<void>;
}

export const defaultJobs = (): number => Math.max(1, availableParallelism());

export class SimPool implements Runner {
  private readonly pool: Piscina;
  constructor(readonly slots: number) {
    this.pool = new Piscina({
      filename: distFile('src/stress/sim-worker.ts'),
      // A warm, fixed-size pool: thread start costs ~30 ms and module loading more.
      minThreads: slots,
      maxThreads: slots,
      idleTimeout: 2 ** 31 - 1,
      concurrentTasksPerWorker: 1,
    });
  }

  run(job: RunJob, signal: AbortSignal): Promise<RunRecord> {
    return this.pool.run(job, { signal }) as Promise<RunRecord>;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/**
 * Sim machines one at a time in this thread (--jobs 0): for profilers that see
 * only the main thread (clinic flame), and for debugging.
 */
export class InProcessRunner implements Runner {
  readonly slots = 1;
  run(job: RunJob): Promise<RunRecord> {
    return runJob(job);
  }
  async close(): Promise<void> {}
}

export class ThreadsRunner implements Runner {
  readonly slots = 1;
  run(job: RunJob): Promise<RunRecord> {
    return runJob(job);
  }
  async close(): Promise<void> {
    // The CPU pool stays warm until the CLI exits (shutdownThreadsEngine).
  }
}

/** jobs = 0: the sim engine in this thread. */
export function makeRunner(engine: 'sim' | 'threads', jobs: number): Runner {
  if (engine === 'threads') return new ThreadsRunner();
  return jobs === 0 ? new InProcessRunner() : new SimPool(jobs);
}

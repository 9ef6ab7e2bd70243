/**
 * The piscina task of the stress pool: one whole sim-engine machine run per
 * task (the sim engine runs every CPU of a machine in this one thread).
 *
 * piscina loads this file with require() first (require(esm) in Node 20.19+)
 * and falls back to import(). The model is loaded here with import() only, on
 * the first task: a graph half-loaded by a failed require() and then imported
 * again trips Node ("Unexpected status of a module that is imported again
 * after being required"), so this entry has no static imports.
 */
import type { RunJob, RunRecord } from './record.js';

let runJob: ((job: RunJob) => Promise<RunRecord>) | null = null;

export default async function simTask(job: RunJob): Promise<RunRecord> {
  runJob ??= (await import('./record.js')).runJob;
  return runJob(job);
}

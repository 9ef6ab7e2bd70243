/**
 * The piscina worker entry for a threads-engine CPU. Deliberately a thin shim:
 * piscina may load its worker file with `require()` (Node 20.19+ can require
 * ES modules) or with `import()`; if the model's module graph were reached both
 * ways it could be instantiated twice in one worker. Loading the implementation
 * with `import()` only, on first task, keeps one copy of every model module per
 * worker whatever piscina does.
 */
import type { CpuTask, CpuTaskResult } from './cpu-task.js';

export type { CpuTask, CpuTaskResult } from './cpu-task.js';

let impl: Promise<typeof import('./cpu-task.js')> | null = null;

export default async function runCpu(task: CpuTask): Promise<CpuTaskResult> {
  impl ??= import('./cpu-task.js');
  return (await impl).default(task);
}

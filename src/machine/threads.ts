/**
 * The threads engine: one worker thread per emulated CPU (piscina pools kept
 * warm across runs, sized so that every CPU task of a run has its own thread
 * and none waits in the queue), real host concurrency, guest time from the
 * host clock with idle skips (clock.ts).
 *
 * The controller (this thread) only waits: Atomics.waitAsync on the outcome
 * word, waking to enforce the guest-time limit, the host watchdog and (every
 * POLL_MS while instructions retire, backing off to POLL_IDLE_MAX_MS while
 * none do) the instruction budget.
 */
import { Piscina } from 'piscina';
import { setMaxListeners } from 'node:events';
import { HostScaledClock } from './clock.js';
import { ControlLayout, MACHINE_RUNNING } from './control.js';
import { CpuLayout } from '../../cpus/layout.js';
import { endRun, machineRunning } from './runstate.js';
import { limitsOf, DEFAULT_TIME_SCALE, type MachineConfig } from './config.js';
import { coreConfig } from './boot.js';
import { distFile } from '../paths.js';
import type { MachineShared } from './shared.js';
import type { CpuTask, CpuTaskResult } from '../../cpus/worker.js';
import type { EngineFault, EngineOutcome } from './sim.js';

const C = ControlLayout.fields;
const F = CpuLayout.fields;

/** Controller poll of the instruction budget while CPUs retire instructions, in host ms. */
const POLL_MS = 20;
/**
 * The longest the poll backs off to while no CPU retires anything. It bounds how late the budget
 * is enforced once CPUs run again (one backed-off period); each wake of this thread costs ~0.1-1 ms
 * of host CPU on the 2-core host, so 64 sleeping CPUs cost ~2 wakes per second.
 */
const POLL_IDLE_MAX_MS = 500;

/**
 * The warm pools. A run's CPU tasks fill pools[0] first, then pools[1], ...
 * (sizes[k] threads each, `poolSize` in all). Perf: growing adds a pool for
 * the missing threads instead of replacing the pool, so the workers already
 * started stay warm (a worker costs ~80 ms of host CPU to start here: going
 * 8 -> 32 -> 64 CPUs starts 56 workers instead of 104).
 */
const pools: Piscina[] = [];
/** Young-generation cap of each CPU worker (see cpuPools). */
const YOUNG_GENERATION_MB = 16;
const sizes: number[] = [];
let poolSize = 0;

/** Warm pools with `n` threads or more in all; each CPU task of a run gets its own thread. */
export function cpuPools(n: number): readonly Piscina[] {
  if (poolSize >= n) return pools;
  const add = n - poolSize;
  pools.push(new Piscina({
    filename: distFile('cpus/worker.ts'),
    minThreads: add,
    maxThreads: add,
    idleTimeout: 2 ** 31 - 1,
    concurrentTasksPerWorker: 1,
    maxQueue: 0,
    // A CPU worker's garbage is short-lived (generator frames, typed-array views). V8 doubles a young
    // generation whose scavenges see many survivors, and in a long soak each worker's new space went
    // from 16 to 32 MB after ~30,000 runs (+64 MB RSS with 4 workers, flat after): capped here so that
    // a worker's footprint is what it is from the start.
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  }));
  sizes.push(add);
  poolSize = n;
  return pools;
}

/** Stops the worker pools (tests and the CLI call this before exiting). */
export async function shutdownThreadsEngine(): Promise<void> {
  const ps = pools.splice(0);
  sizes.length = 0;
  poolSize = 0;
  await Promise.all(ps.map((p) => p.destroy()));
}

export async function runThreads(m: MachineShared, cfg: MachineConfig, hostNow: () => number): Promise<EngineOutcome> {
  const limits = limitsOf(cfg);
  const ps = cpuPools(m.ncpus);
  const t0 = hostNow();
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per CPU task
  const tasks: Promise<CpuTaskResult>[] = [];
  const dispatch = (first: number, end: number): void => {
    for (let cpu = first; cpu < end; cpu++) {
      let k = 0;
      for (let before = 0; cpu >= before + sizes[k]!; k++) before += sizes[k]!;
      const task: CpuTask = {
        cpu, geometry: m.geometry, buffers: m.buffers, program: cfg.program, firmware: cfg.firmware,
        core: coreConfig(cfg), guestTimeLimit: limits.guestTimeNs,
      };
      tasks.push(ps[k]!.run(task, { signal: abort.signal }) as Promise<CpuTaskResult>);
    }
  };
  // Guest time starts once the boot CPU's worker is attached, so its start-up is not guest time. The
  // other CPUs are powered off until CPU_ON, which is state in shared memory: a worker that attaches
  // after its CPU_ON finds it there. So CPU 0's task goes out alone, and the others after START, while
  // CPU 0 boots. Waiting for all of them cost a run ~1.5 ms, and releasing 8 workers at once onto 2
  // cores delayed CPU 0 behind the rest.
  dispatch(0, 1);
  let bootSettled = false;
  void tasks[0]!.then(() => { bootSettled = true; }, () => { bootSettled = true; });
  while (Atomics.load(m.ctl32, C.BOOT_CPU_READY.index) === 0 && !bootSettled && hostNow() - t0 < limits.hostTimeoutMs) {
    const w = Atomics.waitAsync(m.ctl32, C.BOOT_CPU_READY.index, 0, 50);
    if (w.async) await w.value;
  }
  HostScaledClock.start(m.buffers.control, cfg.timeScale ?? DEFAULT_TIME_SCALE);
  const clock = new HostScaledClock(m.buffers.control);
  Atomics.store(m.ctl32, C.START.index, 1);
  Atomics.notify(m.ctl32, C.START.index);
  dispatch(1, m.ncpus);
  let taskError: unknown = null;
  const settled = Promise.allSettled(tasks).then((rs) => {
    for (const r of rs) if (r.status === 'rejected' && !taskError) taskError = r.reason;
    if (machineRunning(m)) endRun(m, 'fault', -1, 0, clock.now());
  });
  let poll = POLL_MS;
  let lastRetired = -1;
  while (Atomics.load(m.ctl32, C.STATE.index) === MACHINE_RUNNING) {
    // Perf: sleep until the nearest thing this loop enforces (guest-time limit, watchdog, next
    // instruction-budget poll) instead of a fixed 20 ms tick: each wake of this thread costs
    // ~0.1-0.3 ms of host CPU here, which alone was over 1% of a core while every CPU slept.
    const timeout = Math.max(1, Math.min(poll, clock.hostMsUntil(limits.guestTimeNs), limits.hostTimeoutMs - (hostNow() - t0)));
    const w = Atomics.waitAsync(m.ctl32, C.STATE.index, MACHINE_RUNNING, timeout);
    if (w.async) await w.value;
    const now = clock.now();
    const retired = retiredTotal(m);
    if (now > limits.guestTimeNs) endRun(m, 'guest-time-limit', -1, 0, limits.guestTimeNs);
    else if (retired > limits.maxInstructions) endRun(m, 'step-limit', -1, 0, now);
    else if (hostNow() - t0 > limits.hostTimeoutMs) endRun(m, 'host-watchdog', -1, 0, now);
    // A running CPU publishes its retired count every SLICE instructions: while the total stands
    // still no CPU is running, the budget cannot be crossed, and the poll backs off.
    poll = retired === lastRetired ? Math.min(2 * poll, POLL_IDLE_MAX_MS) : POLL_MS;
    lastRetired = retired;
  }
  // CPUs stop at their next boundary; a CPU stuck inside host code is aborted (its worker is replaced).
  const grace = setTimeout(() => abort.abort(), 2000);
  await settled;
  clearTimeout(grace);
  let fault: EngineFault | null = null;
  for (const r of await Promise.allSettled(tasks)) {
    if (r.status === 'fulfilled' && r.value.fault && !fault) {
      fault = { cpu: r.value.cpu, message: r.value.fault.message, stack: r.value.fault.stack, pc: r.value.fault.pc };
    }
  }
  if (!fault && taskError) {
    const e = taskError instanceof Error ? taskError : new Error(String(taskError));
    fault = { cpu: -1, message: e.message, stack: e.stack ?? '', pc: 0 };
  }
  return { hostMs: hostNow() - t0, fault, cores: null };
}

function retiredTotal(m: MachineShared): number {
  let t = 0;
  for (let i = 0; i < m.ncpus; i++) t += m.cpuF64[m.cpuF(i, F.RETIRED.index)]!;
  return t;
}

/**
 * The sim engine: every CPU of the machine in this thread, interleaved by a
 * seeded scheduler, with virtual guest time. Given the same configuration and
 * seed it makes the same choices and produces the same trace, byte for byte.
 *
 * Time: each runnable CPU retires on average one instruction per
 * `nsPerInstruction` of guest time (a quantum of q instructions on one of r
 * runnable CPUs advances time by q * nsPerInstruction / r). When no CPU can
 * run, time jumps to the earliest sleeper deadline (runstate.ts idleSkip).
 */
import { VirtualClock } from './clock.js';
import { CpuLayout, RUN_RUNNING, RUN_SLEEPING, RUN_OFF } from '../../cpus/layout.js';
import { RUN_BUDGET, RUN_WAIT, RUN_OFF as CORE_OFF, RUN_STOPPED, type CpuCore } from '../../cpus/core.js';
import { markSleeping, markOff, selfWake, idleSkip, machineRunning, endRun, wakeIfSleeping } from './runstate.js';
import { makeScheduler, DEFAULT_SCHEDULER } from './scheduler.js';
import { limitsOf, type MachineConfig } from './config.js';
import { coreConfig, createCore } from './boot.js';
import { Firmware } from '../../firmware/el3.js';
import type { MachineShared } from './shared.js';
import type { GuestProgram } from './program.js';
import { ModelError } from '../errors.js';
import { RunnableList } from './runnable-list.js';

const F = CpuLayout.fields;

export interface EngineFault {
  readonly cpu: number;
  readonly message: string;
  readonly stack: string;
  readonly pc: number;
}

export interface EngineOutcome {
  readonly hostMs: number;
  readonly fault: EngineFault | null;
  readonly cores: readonly CpuCore[] | null;
}

export function runSim(m: MachineShared, program: GuestProgram, cfg: MachineConfig, hostNow: () => number): EngineOutcome {
  const t0 = hostNow();
  const limits = limitsOf(cfg);
  const clock = new VirtualClock();
  const fw = new Firmware(m, cfg.firmware);
  const cc = coreConfig(cfg);
  const n = m.ncpus;
  m.singleThread = true; // every CPU runs in this thread (src/machine/access.ts)
  const cores: CpuCore[] = [];
  for (let cpu = 0; cpu < n; cpu++) cores.push(createCore(m, cpu, program, clock, fw, cc));
  const sched = makeScheduler(cfg.scheduler ?? DEFAULT_SCHEDULER, cfg.seed, n);
  const nsPer = cfg.nsPerInstruction ?? 1;
  const runnable = new RunnableList(n);
  const rsIdx = Array.from({ length: n }, (_, i) => m.cpuI(i, F.RUNSTATE.index));
  const attnIdx = Array.from({ length: n }, (_, i) => m.cpuI(i, F.ATTN.index));
  const dlIdx = Array.from({ length: n }, (_, i) => m.cpuF(i, F.WAKE_DEADLINE.index));
  let nextWake = Infinity;
  let total = 0;
  let iter = 0;
  let fault: EngineFault | null = null;
  let running = -1; // the CPU of the current quantum, for faults that are not ModelErrors
  // The runnable list (runnable-list.ts): a CPU starts running only through a wake (runstate.ts
  // claim, which tells onWake), and stops only when its quantum ends in a wait or power-off, which
  // this loop sees. CPU 0's power-on kick came before the hook: one scan starts the list.
  for (let i = 0; i < n; i++) if (m.cpu32[rsIdx[i]!] === RUN_RUNNING) runnable.add(i);
  m.onWake = (cpu) => runnable.add(cpu);
  try {
    while (machineRunning(m)) {
      const count = runnable.count;
      if (count === 0) {
        idleSkip(m, clock, limits.guestTimeNs);
        nextWake = recomputeNextWake(m, n, rsIdx, dlIdx);
        continue;
      }
      const cpu = sched.next(runnable.cpus, count);
      running = cpu;
      const core = cores[cpu]!;
      clock.beginQuantum(core, nsPer / count);
      const st = core.run(sched.quantum);
      const executed = clock.endQuantum();
      if (executed === 0) clock.t += nsPer / count; // a quantum that only took an exception or woke still takes time
      total += executed;
      if (st === RUN_BUDGET) {
        core.pollTimer(clock.t);
      } else if (st === RUN_WAIT || st === CORE_OFF) {
        runnable.remove(cpu); // before any self-wake below adds it back
        const off = st === CORE_OFF;
        if (off) markOff(m, cpu);
        else {
          const d = core.wakeDeadline();
          markSleeping(m, cpu, d);
          if (d < nextWake) nextWake = d;
        }
        // A reason published before the runstate store must not be lost.
        if (m.cpu32[attnIdx[cpu]!] !== 0) selfWake(m, cpu, off ? RUN_OFF : RUN_SLEEPING);
      } else if (st === RUN_STOPPED) {
        break;
      }
      if (clock.t >= nextWake) {
        for (let i = 0; i < n; i++) {
          if (m.cpu32[rsIdx[i]!] === RUN_SLEEPING && m.cpuF64[dlIdx[i]!]! <= clock.t) wakeIfSleeping(m, i);
        }
        nextWake = recomputeNextWake(m, n, rsIdx, dlIdx);
      }
      if (clock.t > limits.guestTimeNs) endRun(m, 'guest-time-limit', -1, 0, limits.guestTimeNs);
      else if (total > limits.maxInstructions) endRun(m, 'step-limit', -1, 0, clock.t);
      else if ((++iter & 0xfff) === 0 && hostNow() - t0 > limits.hostTimeoutMs) endRun(m, 'host-watchdog', -1, 0, clock.t);
    }
  } catch (e) {
    const cpu = e instanceof ModelError && e.cpu >= 0 ? e.cpu : running;
    const err = e instanceof Error ? e : new Error(String(e));
    fault = { cpu, message: err.message, stack: err.stack ?? '', pc: e instanceof ModelError ? e.pc : cpu >= 0 ? cores[cpu]!.currentPc() : 0 };
    endRun(m, 'fault', cpu, 0, clock.t);
  }
  m.onWake = null;
  // Let every CPU observe the end at its boundary so that its PC is published.
  for (const c of cores) {
    try { c.run(1); } catch { /* already faulted */ }
    c.publish();
  }
  return { hostMs: hostNow() - t0, fault, cores };
}

function recomputeNextWake(m: MachineShared, n: number, rsIdx: number[], dlIdx: number[]): number {
  let d = Infinity;
  for (let i = 0; i < n; i++) {
    if (m.cpu32[rsIdx[i]!] === RUN_SLEEPING) {
      const w = m.cpuF64[dlIdx[i]!]!;
      if (w < d) d = w;
    }
  }
  return d;
}

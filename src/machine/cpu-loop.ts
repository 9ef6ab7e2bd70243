/**
 * The threads engine's loop for one CPU, run inside its worker: execute
 * slices of instructions, poll the generic timer between slices, and sleep
 * on the CPU's doorbell with Atomics.wait when the core waits, so that a
 * waiting guest CPU never burns a host core.
 */
import { CpuLayout, RUN_RUNNING, RUN_SLEEPING, RUN_OFF, ATTN_STOP } from '../../cpus/layout.js';
import { RUN_BUDGET, RUN_STOPPED, RUN_OFF as CORE_OFF, type CpuCore } from '../../cpus/core.js';
import { markSleeping, markOff, selfWake, idleSkip, markHalted, machineRunning } from './runstate.js';
import type { GuestClock } from './clock.js';
import type { MachineShared } from './shared.js';

const F = CpuLayout.fields;
/** Instructions between timer polls and watchdog checks. */
export const SLICE = 2048;

export function threadsCpuLoop(core: CpuCore, m: MachineShared, clock: GuestClock, guestTimeLimit: number): void {
  try {
    for (;;) {
      const st = core.run(SLICE);
      if (st === RUN_BUDGET) {
        core.pollTimer();
        core.publish();
        continue;
      }
      if (st === RUN_STOPPED) break;
      sleep(core, m, clock, st === CORE_OFF, guestTimeLimit);
    }
  } finally {
    core.publish();
    markHalted(m, core.cpu);
  }
}

function sleep(core: CpuCore, m: MachineShared, clock: GuestClock, off: boolean, limit: number): void {
  const cpu = core.cpu;
  const c = m.cpu32;
  const db = m.cpuI(cpu, F.DOORBELL.index);
  const rs = m.cpuI(cpu, F.RUNSTATE.index);
  const attn = m.cpuI(cpu, F.ATTN.index);
  const dl = m.cpuF(cpu, F.WAKE_DEADLINE.index);
  let seen = Atomics.load(c, db);
  const left = off ? markOff(m, cpu) : markSleeping(m, cpu, core.wakeDeadline());
  // Lost-wake-up guard: a reason published before the runstate store is visible now.
  if (Atomics.load(c, attn) !== 0) {
    selfWake(m, cpu, off ? RUN_OFF : RUN_SLEEPING);
    return;
  }
  if (left === 0) idleSkip(m, clock, limit);
  for (;;) {
    if (Atomics.load(c, rs) === RUN_RUNNING) return;
    if ((Atomics.load(c, attn) & ATTN_STOP) !== 0 || !machineRunning(m)) return;
    let ms = Infinity;
    if (!off) {
      ms = clock.hostMsUntil(m.cpuF64[dl]!);
      if (ms <= 0) {
        selfWake(m, cpu, RUN_SLEEPING);
        return;
      }
    }
    // Sleeps until the doorbell changes (a wake-up, a clock jump, the end of the run) or the deadline.
    Atomics.wait(c, db, seen, ms === Infinity ? undefined : ms);
    seen = Atomics.load(c, db);
  }
}

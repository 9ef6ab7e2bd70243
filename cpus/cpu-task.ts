/**
 * The task that runs one CPU of a threads-engine machine. The worker
 * attaches to the machine's shared buffers, loads the guest program (cached
 * across runs: the pool is kept warm), builds the core and runs it until the
 * machine run ends. A model or guest-code exception ends the run with outcome
 * `fault` and is returned, not thrown, so the pool keeps its worker.
 */
import { MachineShared, type MachineBuffers, type MachineGeometry } from '../src/machine/shared.js';
import { HostScaledClock } from '../src/machine/clock.js';
import { loadProgram, type ProgramRef } from '../src/machine/program.js';
import { createCore } from '../src/machine/boot.js';
import { threadsCpuLoop } from '../src/machine/cpu-loop.js';
import { endRun, markHalted } from '../src/machine/runstate.js';
import { ControlLayout } from '../src/machine/control.js';
import type { CoreConfig } from './core.js';
import type { FirmwareConfig } from '../firmware/quirks.js';

export interface CpuTask {
  readonly cpu: number;
  readonly geometry: MachineGeometry;
  readonly buffers: MachineBuffers;
  readonly program: ProgramRef;
  readonly firmware: FirmwareConfig;
  readonly core: CoreConfig;
  readonly guestTimeLimit: number;
}

export interface CpuTaskResult {
  readonly cpu: number;
  readonly retired: number;
  readonly fault: { message: string; stack: string; pc: number; code: string } | null;
}

export default async function runCpu(task: CpuTask): Promise<CpuTaskResult> {
  const m = MachineShared.attach(task.geometry, task.buffers);
  const C = ControlLayout.fields;
  let clock: HostScaledClock | null = null;
  let core: ReturnType<typeof createCore> | null = null;
  try {
    const program = await loadProgram(task.program, { ncpus: task.geometry.ncpus });
    // Start barrier: guest time begins once the boot CPU's worker is attached (the controller then
    // releases START). Every CPU waits for START, which also publishes the clock's epoch.
    if (task.cpu === 0) {
      Atomics.store(m.ctl32, C.BOOT_CPU_READY.index, 1);
      Atomics.notify(m.ctl32, C.BOOT_CPU_READY.index);
    }
    while (Atomics.load(m.ctl32, C.START.index) === 0) Atomics.wait(m.ctl32, C.START.index, 0);
    clock = new HostScaledClock(task.buffers.control);
    core = createCore(m, task.cpu, program, clock, task.firmware, task.core);
    threadsCpuLoop(core, m, clock, task.guestTimeLimit);
    return { cpu: task.cpu, retired: core.retired, fault: null };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    endRun(m, 'fault', task.cpu, 0, clock ? clock.now() : 0);
    if (!core) markHalted(m, task.cpu);
    const pc = typeof (e as { pc?: unknown }).pc === 'number' ? (e as { pc: number }).pc : 0;
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'internal';
    return { cpu: task.cpu, retired: core?.retired ?? 0, fault: { message: err.message, stack: err.stack ?? '', pc, code } };
  }
}

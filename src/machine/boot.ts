/**
 * Preparing a machine run: shared memory, platform cold boot, CPU 0 powered
 * on at the program's entry point. Every other CPU starts OFF and comes up
 * only through PSCI CPU_ON, as on hardware.
 */
import { MachineShared } from './shared.js';
import { ControlLayout, MACHINE_RUNNING } from './control.js';
import { CpuLayout, POWER_ON_PENDING, ATTN_POWER } from '../../cpus/layout.js';
import { firmwareColdBoot } from '../../firmware/el3.js';
import { FirmwareState } from '../../firmware/state.js';
import { powerOnKick } from './runstate.js';
import { limitsOf, type MachineConfig } from './config.js';
import type { GuestProgram } from './program.js';
import { CpuCore, type CoreConfig } from '../../cpus/core.js';
import { Firmware } from '../../firmware/el3.js';
import { TraceWriter } from '../trace/ring.js';
import type { GuestClock } from './clock.js';
import type { FirmwareConfig } from '../../firmware/quirks.js';

const C = ControlLayout.fields;
const F = CpuLayout.fields;

export function coreConfig(cfg: MachineConfig): CoreConfig {
  return { priBits: cfg.priBits ?? 5, featNmi: cfg.featNmi ?? false };
}

export function prepareMachine(cfg: MachineConfig, program: GuestProgram): MachineShared {
  const m = MachineShared.allocate({ ncpus: cfg.cpus, ramBytes: program.ramBytes, traceRecords: cfg.traceRecords ?? 4096 });
  firmwareColdBoot(m, cfg.priBits ?? 5);
  program.initMemory?.(m);
  Atomics.store(m.ctl32, C.STATE.index, MACHINE_RUNNING);
  Atomics.store(m.ctl32, C.RUNNABLE.index, 0);
  Atomics.store(m.ctl32, C.END_CPU.index, -1);
  m.ctlF64[C.GUEST_TIME_LIMIT.index] = limitsOf(cfg).guestTimeNs;
  // CPU 0: the platform's cold boot releases it through the same warm-boot path CPU_ON uses.
  new FirmwareState(m, cfg.firmware).setPsciOn(0, program.entry, program.entryContext ?? 0);
  Atomics.store(m.cpu32, m.cpuI(0, F.POWER.index), POWER_ON_PENDING);
  powerOnKick(m, 0, ATTN_POWER);
  return m;
}

/** Builds the core for `cpu` in the current thread (both engines). */
export function createCore(
  m: MachineShared, cpu: number, program: GuestProgram, clock: GuestClock, firmware: Firmware | FirmwareConfig, core: CoreConfig,
): CpuCore {
  const fw = firmware instanceof Firmware ? firmware : new Firmware(m, firmware);
  const trace = m.geometry.traceRecords > 0 ? new TraceWriter(m, cpu, clock) : null;
  const c = new CpuCore(m, cpu, program.image, clock, fw, core, trace);
  c.ctx = program.context(c);
  return c;
}

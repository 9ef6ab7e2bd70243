/**
 * PSCI 1.1 (Arm DEN0022; reference/firmware-and-gic.md section 2), as TF-A
 * lib/psci implements it, for the calling PE.
 */
import { CpuLayout, POWER_ON, POWER_OFF, POWER_ON_PENDING, ATTN_POWER, mpidrAffinity, mpidrOf } from '../cpus/layout.js';
import { EL3_ERET, EL3_OFF, EL3_HALT, EL3_STAY, type CpuCore } from '../cpus/core.js';
import { powerOnKick } from '../src/machine/runstate.js';
import { SMCCC_VERSION, arg32, mpidrAffinityBits } from './smccc.js';
import { T } from '../src/trace/events.js';
import type { FirmwareState } from './state.js';
import { sdeiCpuOff } from './sdei/main.js';

export const PSCI = {
  VERSION: 0x8400_0000,
  CPU_SUSPEND: 0x8400_0001,
  CPU_SUSPEND64: 0xc400_0001,
  CPU_OFF: 0x8400_0002,
  CPU_ON: 0x8400_0003,
  CPU_ON64: 0xc400_0003,
  AFFINITY_INFO: 0x8400_0004,
  AFFINITY_INFO64: 0xc400_0004,
  MIGRATE: 0x8400_0005,
  MIGRATE64: 0xc400_0005,
  MIGRATE_INFO_TYPE: 0x8400_0006,
  MIGRATE_INFO_UP_CPU: 0x8400_0007,
  MIGRATE_INFO_UP_CPU64: 0xc400_0007,
  SYSTEM_OFF: 0x8400_0008,
  SYSTEM_RESET: 0x8400_0009,
  FEATURES: 0x8400_000a,
  SYSTEM_RESET2: 0x8400_0012,
  SYSTEM_RESET2_64: 0xc400_0012,
} as const;

export const PSCI_RET = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
  NOT_PRESENT: -7,
  DISABLED: -8,
  INVALID_ADDRESS: -9,
} as const;

export const PSCI_VERSION_1_1 = 0x0001_0001;
/** MIGRATE_INFO_TYPE: no Trusted OS, or one that needs no migration. */
export const TOS_NOT_PRESENT_MP = 2;
/** power_state bit 16: 0 standby, 1 power-down (original format). */
export const PSTATE_TYPE_POWERDOWN = 1 << 16;
export const RESET2_VENDOR = 0x8000_0000;
export const RESET2_WARM = 0;

const F = CpuLayout.fields;
/** Function id bit 30: SMC64 calling convention. */
const SMC64 = 0x4000_0000;

/** Functions PSCI_FEATURES reports as implemented. */
const IMPLEMENTED: ReadonlySet<number> = new Set([
  PSCI.VERSION, PSCI.CPU_SUSPEND, PSCI.CPU_SUSPEND64, PSCI.CPU_OFF, PSCI.CPU_ON, PSCI.CPU_ON64,
  PSCI.AFFINITY_INFO, PSCI.AFFINITY_INFO64, PSCI.MIGRATE_INFO_TYPE, PSCI.SYSTEM_OFF, PSCI.SYSTEM_RESET,
  PSCI.FEATURES, PSCI.SYSTEM_RESET2, PSCI.SYSTEM_RESET2_64,
]);

export function isPsciFid(fid: number): boolean {
  return ((fid >>> 24) & 0x3f) === 4 && (fid & 0xffff) <= 0x1f;
}

/** TF-A psci_validate_entry_point: Non-secure RAM, 4-byte aligned. */
function validEntry(core: CpuCore, entry: number): boolean {
  const map = core.m.map;
  return entry >= map.ramBase && entry < map.ramEnd && entry % 4 === 0;
}

function targetCpu(core: CpuCore, mpidr: number): number {
  // Bits above Aff1 must be clear (no Aff2/Aff3 in the model); RES1/U/MT bits ignored.
  const aff = mpidrAffinityBits(mpidr);
  if (aff > 0xffffff) return -1;
  return core.cpuOfMpidr(aff);
}

/**
 * Argument x<n> of a PSCI call: for an SMC32 function id only w<n> counts (TF-A
 * psci_smc_handler clears the top halves of x1-x3 for 32-bit calls; SMCCC 1.2).
 */
function arg(core: CpuCore, fid: number, n: number): number {
  return (fid & SMC64) !== 0 ? core.x(n) : arg32(core.x(n));
}

function ret(core: CpuCore, v: number): number {
  core.setX(0, v);
  return EL3_ERET;
}

export function powerState(core: CpuCore, cpu: number): number {
  return Atomics.load(core.m.cpu32, core.m.cpuI(cpu, F.POWER.index));
}

export function psciCall(fw: FirmwareState, core: CpuCore, fid: number): number {
  const pe = core.cpu;
  core.trace?.emit(T.PSCI, fid, fid === PSCI.CPU_ON || fid === PSCI.CPU_ON64 ? targetCpu(core, arg(core, fid, 1)) : 0);
  switch (fid) {
    case PSCI.VERSION:
      return ret(core, PSCI_VERSION_1_1);

    case PSCI.FEATURES: {
      const q = arg32(core.x(1));
      if (q === SMCCC_VERSION) return ret(core, PSCI_RET.SUCCESS);
      if (!IMPLEMENTED.has(q)) return ret(core, PSCI_RET.NOT_SUPPORTED);
      // CPU_SUSPEND: bit 0 OS-initiated mode (no), bit 1 extended power_state format (no).
      return ret(core, 0);
    }

    case PSCI.CPU_ON:
    case PSCI.CPU_ON64: {
      const target = targetCpu(core, arg(core, fid, 1));
      if (target < 0) return ret(core, PSCI_RET.INVALID_PARAMETERS);
      const entry = arg(core, fid, 2);
      if (!validEntry(core, entry)) return ret(core, PSCI_RET.INVALID_ADDRESS);
      const pw = core.m.cpuI(target, F.POWER.index);
      // TF-A psci_cpu_on_start: under the target's lock, check then move to ON_PENDING.
      const old = Atomics.compareExchange(core.m.cpu32, pw, POWER_OFF, POWER_ON_PENDING);
      if (old === POWER_ON) return ret(core, PSCI_RET.ALREADY_ON);
      if (old === POWER_ON_PENDING) return ret(core, PSCI_RET.ON_PENDING);
      fw.setPsciOn(target, entry, arg(core, fid, 3));
      // The entry point above is published by the ATTN/RUNSTATE Atomics in powerOnKick.
      powerOnKick(core.m, target, ATTN_POWER);
      return ret(core, PSCI_RET.SUCCESS);
    }

    case PSCI.CPU_OFF: {
      if (fw.quirk('cpu-off-denied')) return ret(core, PSCI_RET.DENIED);
      if (fw.depth(pe) > 0) {
        if (fw.quirk('cpu-off-in-sdei-wedges')) {
          // The PE never leaves EL3 and never powers down: AFFINITY_INFO keeps saying ON.
          fw.setWedgedUntil(pe, Infinity);
          core.el3StayUntil(Infinity);
          return EL3_STAY;
        }
        sdeiCpuOff(fw, core, !fw.quirk('cpu-off-abandons-sdei'));
      }
      return cpuOff(fw, core);
    }

    case PSCI.AFFINITY_INFO:
    case PSCI.AFFINITY_INFO64: {
      const target = targetCpu(core, arg(core, fid, 1));
      const level = arg(core, fid, 2);
      if (level !== 0 || target < 0) return ret(core, PSCI_RET.INVALID_PARAMETERS);
      return ret(core, powerState(core, target)); // 0 ON, 1 OFF, 2 ON_PENDING
    }

    case PSCI.CPU_SUSPEND:
    case PSCI.CPU_SUSPEND64: {
      const ps = arg32(core.x(1));
      const powerDown = (ps & PSTATE_TYPE_POWERDOWN) !== 0;
      const level = (ps >>> 24) & 3;
      const entry = arg(core, fid, 2);
      if (level !== 0) return ret(core, PSCI_RET.INVALID_PARAMETERS);
      if (powerDown && !validEntry(core, entry)) return ret(core, PSCI_RET.INVALID_ADDRESS);
      // TF-A abandons a power-down suspend when an interrupt is already pending (ISR_EL1).
      if (core.gic.signalled(false) !== null) return ret(core, PSCI_RET.SUCCESS);
      fw.beginSuspend(core, powerDown, entry, arg(core, fid, 3));
      return EL3_STAY;
    }

    case PSCI.MIGRATE_INFO_TYPE:
      return ret(core, TOS_NOT_PRESENT_MP);

    case PSCI.SYSTEM_OFF:
      core.endRun('poweroff', 0);
      return EL3_HALT;

    case PSCI.SYSTEM_RESET:
      core.endRun('reset', 0);
      return EL3_HALT;

    case PSCI.SYSTEM_RESET2:
    case PSCI.SYSTEM_RESET2_64: {
      const type = arg32(core.x(1)); // uint32_t reset_type for both forms (TF-A psci_system_reset2)
      // Architectural type 0 is the only one; the model platform has no vendor reset types.
      if (type !== RESET2_WARM) return ret(core, PSCI_RET.INVALID_PARAMETERS);
      core.endRun('reset', 1);
      return EL3_HALT;
    }

    default:
      return ret(core, PSCI_RET.NOT_SUPPORTED);
  }
}

/**
 * TF-A psci_do_cpu_off: the GIC CPU interface is disabled and the
 * redistributor marked asleep, then the PE's state becomes OFF immediately
 * before the final power-down (so AFFINITY_INFO may see ON until then).
 */
export function cpuOff(fw: FirmwareState, core: CpuCore): number {
  const c = core.m.cpu32;
  c[core.m.cpuI(core.cpu, F.ICC_IGRPEN0_EL1.index)] = 0;
  c[core.m.cpuI(core.cpu, F.ICC_IGRPEN1.index)] = 0;
  fw.setMasked(core.cpu, true);
  Atomics.store(c, core.m.cpuI(core.cpu, F.POWER.index), POWER_OFF);
  return EL3_OFF;
}

export { mpidrOf, mpidrAffinity };

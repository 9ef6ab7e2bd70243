/**
 * One CPU's architectural state in shared memory.
 *
 * 64-bit registers are kept as float64 holding integers. The model keeps every
 * register value within the safe-integer range (|v| < 2^53), which holds because
 * the guest address space is flat and 32-bit (src/machine/memory.ts) and
 * firmware results are small; they are written to guest memory (pt_regs, crash
 * notes) as exact little-endian 64-bit integers.
 *
 * The GIC CPU interface (ICC_*) is part of the PE, so its registers live here
 * too; the distributor and redistributors are in src/gic/layout.ts.
 */
import { defineLayout } from '../src/machine/layout.js';

export const CpuLayout = defineLayout('cpu', {
  X: { type: 'f64', count: 31, owner: 'cpu', doc: 'general-purpose registers x0-x30' },
  SP_EL0: { type: 'f64', owner: 'cpu', doc: 'SP_EL0 (Linux keeps `current` here while at EL1)' },
  SP_EL1: { type: 'f64', owner: 'cpu', doc: 'stack pointer used at EL1h' },
  PC: { type: 'f64', owner: 'cpu', doc: 'program counter, published at every observable boundary' },
  ELR_EL1: { type: 'f64', owner: 'cpu' },
  FAR_EL1: { type: 'f64', owner: 'cpu' },
  VBAR_EL1: { type: 'f64', owner: 'cpu' },
  TPIDR_EL1: { type: 'f64', owner: 'cpu', doc: 'per-CPU offset (Linux __my_cpu_offset)' },
  ELR_EL3: { type: 'f64', owner: 'firmware' },
  CNTV_CVAL: { type: 'f64', owner: 'cpu', doc: 'virtual timer compare value, guest ns' },
  RETIRED: { type: 'f64', owner: 'cpu', doc: 'retired-instruction counter, published at boundaries' },
  WAKE_DEADLINE: { type: 'f64', owner: 'cpu', doc: 'guest ns at which a sleeping CPU must wake (Infinity: none)' },
  PSTATE: { type: 'i32', owner: 'cpu', doc: 'SPSR-format PSTATE: M[3:0], F I A D (bits 6-9), ALLINT (bit 13)' },
  SPSR_EL1: { type: 'i32', owner: 'cpu' },
  ESR_EL1: { type: 'i32', owner: 'cpu' },
  SPSR_EL3: { type: 'i32', owner: 'firmware' },
  SCR_EL3: { type: 'i32', owner: 'firmware', doc: 'bit 1 IRQ, bit 2 FIQ routing to EL3; bit 0 NS' },
  SCTLR_EL1: { type: 'i32', owner: 'cpu', doc: 'only NMI (bit 61 -> model bit 0) and SPINTMASK (bit 62 -> model bit 1)' },
  MPIDR_EL1: { type: 'i32', owner: 'controller', doc: 'RES1 bit 31, Aff1 = cpu / 16, Aff0 = cpu % 16' },
  CNTV_CTL: { type: 'i32', owner: 'cpu', doc: 'bit 0 ENABLE, bit 1 IMASK' },
  ICC_PMR_EL1: { type: 'i32', owner: 'cpu', doc: 'stored (Secure-view) priority mask' },
  ICC_BPR0_EL1: { type: 'i32', owner: 'cpu' },
  ICC_BPR1_EL1: { type: 'i32', owner: 'cpu' },
  ICC_CTLR_EL1: { type: 'i32', owner: 'cpu', doc: 'bit 0 CBPR, bit 1 EOImode' },
  ICC_CTLR_EL3: { type: 'i32', owner: 'firmware', doc: 'bit 2 EOImode_EL3' },
  ICC_IGRPEN0_EL1: { type: 'i32', owner: 'cpu' },
  ICC_IGRPEN1: { type: 'i32', owner: 'cpu', doc: 'bit 0 Group 1 Non-secure enable, bit 1 Group 1 Secure enable' },
  ICC_AP0R0: { type: 'i32', owner: 'cpu', doc: 'Group 0 active priorities, bit n = group priority n << 3' },
  ICC_AP1R0_S: { type: 'i32', owner: 'cpu', doc: 'Group 1 Secure active priorities' },
  ICC_AP1R0_NS: { type: 'i32', owner: 'cpu', doc: 'Group 1 Non-secure active priorities' },
  ICC_NMI_ACTIVE: { type: 'i32', owner: 'cpu', doc: 'bit per group (0, 1S, 1NS): an NMI is active (AP1R0 bit 63)' },
  POWER: { type: 'i32', owner: 'firmware', doc: 'PSCI power state: 0 ON, 1 OFF, 2 ON_PENDING' },
  RUNSTATE: { type: 'i32', owner: 'any', doc: 'host run state: RUNNING, SLEEPING, OFF, HALTED' },
  DOORBELL: { type: 'i32', owner: 'any', doc: 'futex word: bumped and notified to wake a sleeping CPU' },
  ATTN: { type: 'i32', owner: 'any', doc: 'attention bits (ATTN_*): set by anyone with Atomics.or, consumed by the CPU' },
  EVENT_REG: { type: 'i32', owner: 'any', doc: 'WFE event register' },
  MONITOR: { type: 'i32', owner: 'cpu', doc: 'address armed by LDXR for WFE wake-up, 0 when none' },
  WAIT_KIND: { type: 'i32', owner: 'cpu', doc: 'what a sleeping CPU waits for (WAIT_* in cpus/isa.ts)' },
});

export type CpuField = keyof typeof CpuLayout.fields;

/** PSCI AFFINITY_INFO encodings double as the POWER field values (PSCI DEN0022 / TF-A aff_info_state_t). */
export const POWER_ON = 0;
export const POWER_OFF = 1;
export const POWER_ON_PENDING = 2;

/** Host run state of a CPU (src/machine/runstate.ts). */
export const RUN_RUNNING = 0;
export const RUN_SLEEPING = 1;
export const RUN_OFF = 2;
export const RUN_HALTED = 3;

/** Attention bits. */
export const ATTN_GIC = 1; // GIC state for this PE changed (an interrupt may be signalled)
export const ATTN_STOP = 2; // the machine run ended: stop at the next boundary
export const ATTN_POWER = 4; // PSCI CPU_ON targeted this PE
export const ATTN_EVENT = 8; // SEV, or the monitored address was written
export const ATTN_TIME = 16; // a deadline this CPU waits for has passed (clock jump)

/** SCR_EL3 bits used. */
export const SCR_NS = 1;
export const SCR_IRQ = 2;
export const SCR_FIQ = 4;

/** Model encoding of SCTLR_EL1.NMI and .SPINTMASK. */
export const SCTLR_NMI = 1;
export const SCTLR_SPINTMASK = 2;

export const CNTV_CTL_ENABLE = 1;
export const CNTV_CTL_IMASK = 2;

/** MPIDR_EL1 for logical CPU `cpu`: 16 PEs per cluster so that GICv3 target lists reach every PE. */
export function mpidrOf(cpu: number): number {
  return (0x80000000 | (Math.floor(cpu / 16) << 8) | (cpu % 16)) >>> 0;
}

/** Affinity (Aff1.Aff0) of an MPIDR value, without RES1/U/MT bits. */
export function mpidrAffinity(mpidr: number): number {
  return mpidr & 0x00ffffff;
}

export function cpuOfAffinity(aff: number, ncpus: number): number {
  if ((aff & ~0xffff) !== 0) return -1;
  const cpu = ((aff >> 8) & 0xff) * 16 + (aff & 0xff);
  if ((aff & 0xff) >= 16 || cpu >= ncpus) return -1;
  return cpu;
}

/**
 * System registers reachable with MRS/MSR, and what an access does.
 *
 * Register identifiers are small integers (SYS.*); each access names its
 * architectural register. GIC CPU-interface registers go to src/gic/cpuif.ts
 * with the Non-secure views applied when the PE is not at EL3 (the model's
 * firmware configuration is SCR_EL3.FIQ = 1 with GICD_CTLR.DS = 0, as TF-A).
 * An access the current EL may not make is UNDEFINED: a synchronous exception
 * with EC = 0 (IMPDEF: NS EL1 accesses to Group 0 registers are modelled as
 * UNDEFINED rather than as traps to EL3).
 */
import { CpuLayout, SCR_FIQ, CNTV_CTL_ENABLE } from './layout.js';
import { PSR_DAIF, PSR_ALLINT, PSR_MODE_MASK, pstateEl } from './pstate.js';
import { GROUP0, GROUP1NS } from '../src/gic/layout.js';

export const SYS = {
  DAIF: 1,
  CURRENTEL: 2,
  NZCV: 3,
  ELR_EL1: 4,
  SPSR_EL1: 5,
  ESR_EL1: 6,
  FAR_EL1: 7,
  VBAR_EL1: 8,
  TPIDR_EL1: 9,
  SP_EL0: 10,
  MPIDR_EL1: 11,
  SCTLR_EL1: 12,
  CNTVCT_EL0: 13,
  CNTFRQ_EL0: 14,
  CNTV_CVAL_EL0: 15,
  CNTV_CTL_EL0: 16,
  ALLINT: 17,
  ICC_PMR_EL1: 20,
  ICC_IAR1_EL1: 21,
  ICC_EOIR1_EL1: 22,
  ICC_RPR_EL1: 23,
  ICC_HPPIR1_EL1: 24,
  ICC_SGI1R_EL1: 25,
  ICC_SGI0R_EL1: 26,
  ICC_DIR_EL1: 27,
  ICC_CTLR_EL1: 28,
  ICC_IGRPEN1_EL1: 29,
  ICC_BPR1_EL1: 30,
  ICC_SRE_EL1: 31,
  ICC_IAR0_EL1: 32,
  ICC_EOIR0_EL1: 33,
  ICC_HPPIR0_EL1: 34,
  ICC_IGRPEN0_EL1: 35,
  SCR_EL3: 36,
  ELR_EL3: 37,
  SPSR_EL3: 38,
  SP_EL1: 39,
} as const;

export type SysReg = (typeof SYS)[keyof typeof SYS];

export const SYS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SYS).map(([k, v]) => [v, k]));

/** CNTFRQ_EL0: the model's generic timer counts guest nanoseconds. */
export const CNTFRQ = 1_000_000_000;

/** Registers accessible only at EL3. */
export function el3Only(reg: number): boolean {
  return reg === SYS.ICC_IAR0_EL1 || reg === SYS.ICC_EOIR0_EL1 || reg === SYS.ICC_HPPIR0_EL1 ||
    reg === SYS.ICC_IGRPEN0_EL1 || reg === SYS.SCR_EL3 || reg === SYS.ELR_EL3 || reg === SYS.SPSR_EL3;
}

export const SCR_FIQ_BIT = SCR_FIQ;
export const PSTATE_WRITABLE_DAIF = PSR_DAIF;
export { CpuLayout, CNTV_CTL_ENABLE, PSR_ALLINT, PSR_MODE_MASK, pstateEl, GROUP0, GROUP1NS };

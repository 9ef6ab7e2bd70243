/**
 * Priority arithmetic (reference/firmware-and-gic.md section 4.5).
 *
 * Priorities are kept in stored (Secure-view) form. Only the top `priBits`
 * bits are implemented; the rest read as zero. Non-secure software sees
 * Group 1 Non-secure priorities, and (with SCR_EL3.FIQ = 1) ICC_PMR_EL1 and
 * ICC_RPR_EL1, through the Non-secure view: a write of v stores 0x80 | v >> 1,
 * a read of s returns (s << 1) & 0xff. Doing the shift only here is what makes
 * "the SDEI SGI at 0x70 beats any PMR Linux can write" fall out of the rules.
 */

export interface PriorityConfig {
  /** Implemented priority bits (ICC_CTLR_EL1.PRIbits + 1); the model supports 3 to 5. */
  readonly priBits: number;
}

export function implementedMask(priBits: number): number {
  return (0xff << (8 - priBits)) & 0xff;
}

/** Non-secure write of a priority field or PMR: stores 0x80 | (v >> 1) (QEMU icc_pmr_write, gicd_write_ipriorityr). */
export function nsPriorityWrite(v: number, priBits: number): number {
  return (0x80 | ((v & 0xff) >> 1)) & implementedMask(priBits);
}

/** Non-secure read of a stored priority: (s << 1) & 0xff (QEMU gicr_read_ipriorityr). */
export function nsPriorityRead(s: number): number {
  return (s << 1) & 0xff;
}

/** Non-secure read of ICC_PMR_EL1 / ICC_RPR_EL1 when SCR_EL3.FIQ = 1 (QEMU icc_pmr_read). */
export function nsPmrRead(s: number): number {
  if (s < 0x80) return 0;
  if (s === 0xff) return 0xff;
  return (s << 1) & 0xff;
}

/** Minimum binary point for a group given the preemption bits (QEMU icc_min_bpr). */
export function minBpr(group1ns: boolean, priBits: number): number {
  return 7 - priBits + (group1ns ? 1 : 0);
}

/**
 * Group-priority mask for a binary point value (QEMU icc_gprio_mask): for BPR0
 * (and Group 1 Secure, and Group 1 Non-secure with CBPR) value n the group
 * priority is bits [7:n+1]; for the Non-secure BPR1 value n it is bits [7:n].
 */
export function groupPriorityMask(bpr: number, nsBpr1: boolean): number {
  const n = nsBpr1 ? bpr : bpr + 1;
  return (0xff << n) & 0xff;
}

/**
 * GICv3 distributor and redistributor state in shared memory
 * (reference/firmware-and-gic.md section 4.2; GICv3 IHI0069 chapter 12).
 *
 * Bit-per-INTID registers are one 32-bit word: a redistributor covers INTIDs
 * 0-31 (SGIs and PPIs) of its PE, the distributor covers SPIs 32..32+NSPI-1.
 * Pending and active bits change under Atomics because a sender on another
 * thread sets pending bits while the owning PE acknowledges. Priorities are
 * bytes, stored in their Secure-view ("stored") form; the Non-secure shifts
 * happen only in the MMIO and system-register accessors, as in the GIC.
 */
import { defineLayout } from '../machine/layout.js';

export const NSPI = 32;
export const SPI_BASE = 32;

export const DistributorLayout = defineLayout('gicd', {
  CTLR: { type: 'i32', owner: 'any', doc: 'bit 0 EnableGrp0, 1 EnableGrp1NS, 2 EnableGrp1S, 4 ARE_S, 5 ARE_NS, 6 DS' },
  IGROUPR: { type: 'i32', owner: 'any', doc: 'SPI group bits (1 = Group 1 Non-secure)' },
  IGRPMODR: { type: 'i32', owner: 'any' },
  ENABLE: { type: 'i32', owner: 'any' },
  PENDING: { type: 'i32', owner: 'any', doc: 'pending latch' },
  ACTIVE: { type: 'i32', owner: 'any' },
  LEVEL: { type: 'i32', owner: 'any', doc: 'ICFGR: 1 = level-sensitive' },
  INPUT: { type: 'i32', owner: 'any', doc: 'level of each SPI input line' },
  NMI: { type: 'i32', owner: 'any', doc: 'GICD_INMIR: superpriority' },
  IPRIORITYR: { type: 'i32', count: NSPI / 4, owner: 'any', doc: 'one stored priority byte per SPI' },
  IROUTER: { type: 'i32', count: NSPI, owner: 'any', doc: 'bits 23:0 affinity, bit 31 IRM (any PE)' },
});

export const RedistributorLayout = defineLayout('gicr', {
  CTLR: { type: 'i32', owner: 'any' },
  WAKER: { type: 'i32', owner: 'any', doc: 'bit 1 ProcessorSleep, bit 2 ChildrenAsleep' },
  IGROUPR0: { type: 'i32', owner: 'any' },
  IGRPMODR0: { type: 'i32', owner: 'any' },
  ENABLE: { type: 'i32', owner: 'any' },
  PENDING: { type: 'i32', owner: 'any', doc: 'pending latch: senders Atomics.or, the PE clears on acknowledge' },
  ACTIVE: { type: 'i32', owner: 'any' },
  LEVEL: { type: 'i32', owner: 'any', doc: 'ICFGR1 for PPIs: 1 = level-sensitive (SGIs are always edge)' },
  INPUT: { type: 'i32', owner: 'any', doc: 'level of each PPI input line (the PE drives its own timer line)' },
  NMI: { type: 'i32', owner: 'any', doc: 'GICR_INMIR0: superpriority' },
  IPRIORITYR: { type: 'i32', count: 8, owner: 'any', doc: 'one stored priority byte per INTID 0-31' },
});

/** GICD_CTLR bits. */
export const GICD_CTLR_ENABLE_G0 = 1;
export const GICD_CTLR_ENABLE_G1NS = 2;
export const GICD_CTLR_ENABLE_G1S = 4;
export const GICD_CTLR_ARE_S = 0x10;
export const GICD_CTLR_ARE_NS = 0x20;
export const GICD_CTLR_DS = 0x40;

/** Interrupt groups. */
export const GROUP0 = 0;
export const GROUP1S = 1;
export const GROUP1NS = 2;
export type Group = typeof GROUP0 | typeof GROUP1S | typeof GROUP1NS;

export const INTID_SPURIOUS = 1023;
export const INTID_NMI_PENDING = 1022;
export const INTID_G1NS_PENDING = 1021;
export const INTID_G1S_PENDING = 1020;

export const PRIORITY_IDLE = 0xff;

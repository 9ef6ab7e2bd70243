/**
 * Which interrupt a PE's CPU interface signals, and on which line
 * (reference/firmware-and-gic.md sections 4.4, 4.7 and 4.8; GICv3 IHI0069
 * pseudocode HighestPriorityPendingInterrupt / CanSignalInterrupt, as QEMU
 * implements them in gicd_int_pending, gicr_int_pending, irqbetter,
 * icc_hppi_can_preempt and gicv3_cpuif_update).
 */
import { CpuLayout } from '../../cpus/layout.js';
import {
  DistributorLayout, RedistributorLayout, GROUP0, GROUP1S, GROUP1NS, NSPI, SPI_BASE,
  GICD_CTLR_ENABLE_G0, GICD_CTLR_ENABLE_G1NS, GICD_CTLR_ENABLE_G1S, GICD_CTLR_DS,
} from './layout.js';
import { groupPriorityMask } from './priority.js';
import type { MachineShared } from '../machine/shared.js';
import { load32 } from '../machine/access.js';

const R = RedistributorLayout.fields;
const D = DistributorLayout.fields;
const F = CpuLayout.fields;

export const LINE_NONE = 0;
export const LINE_IRQ = 1;
export const LINE_FIQ = 2;

/** The highest-priority pending interrupt found by `hppi` (fields reused, no allocation). */
export class Hppi {
  intid = -1;
  prio = 0xff;
  group = 0;
  nmi = false;
}

export function groupOfBits(groupBit: number, modBit: number, ds: boolean): number {
  if (groupBit) return GROUP1NS;
  return !ds && modBit ? GROUP1S : GROUP0;
}

function distributorGroupEnabled(ctlr: number, group: number): boolean {
  return group === GROUP0 ? (ctlr & GICD_CTLR_ENABLE_G0) !== 0
    : group === GROUP1NS ? (ctlr & GICD_CTLR_ENABLE_G1NS) !== 0
    : (ctlr & GICD_CTLR_ENABLE_G1S) !== 0;
}

/** Better = lower priority value; at equal priority an NMI wins; then the lower INTID (IMPDEF, as QEMU). */
function better(h: Hppi, intid: number, prio: number, nmi: boolean): boolean {
  if (h.intid < 0 || prio < h.prio) return true;
  if (prio > h.prio) return false;
  if (nmi !== h.nmi) return nmi;
  return intid < h.intid;
}

/**
 * Finds the highest-priority candidate for PE `pe` (section 4.8 `candidates`):
 * pending (latch, or level-sensitive with its input high), enabled, not active
 * (active-and-pending is never signalled), its group enabled in GICD_CTLR, and
 * targeting this PE. Returns false when there is none.
 */
export function hppi(m: MachineShared, pe: number, mpidrAff: number, out: Hppi): boolean {
  out.intid = -1;
  out.prio = 0xff;
  out.nmi = false;
  const g = m.gic32;
  const plain = m.singleThread;
  const rb = m.gicrI(pe, 0);
  // Perf: an Atomics.load costs ~15 ns here and this runs at every interrupt re-check. With no
  // pending latch and no input line high (the usual case) nothing can be a candidate, so the
  // level, enable and active words are read only when one is set; the result is the same.
  const pendR = load32(plain, g, rb + R.PENDING.index);
  const inR = load32(plain, g, rb + R.INPUT.index);
  let cand = (pendR | inR) === 0 ? 0
    : (pendR | (inR & load32(plain, g, rb + R.LEVEL.index))) & load32(plain, g, rb + R.ENABLE.index) & ~load32(plain, g, rb + R.ACTIVE.index);
  const pendD = load32(plain, g, D.PENDING.index);
  const inD = load32(plain, g, D.INPUT.index);
  let spi = (pendD | inD) === 0 ? 0
    : (pendD | (inD & load32(plain, g, D.LEVEL.index))) & load32(plain, g, D.ENABLE.index) & ~load32(plain, g, D.ACTIVE.index);
  if (cand === 0 && spi === 0) return false;
  const ctlr = load32(plain, g, D.CTLR.index);
  const ds = (ctlr & GICD_CTLR_DS) !== 0;
  if (cand !== 0) {
    const grp = load32(plain, g, rb + R.IGROUPR0.index);
    const mod = load32(plain, g, rb + R.IGRPMODR0.index);
    const nmiBits = load32(plain, g, rb + R.NMI.index);
    const prioBase = m.gicrPrioByte(pe, 0);
    while (cand !== 0) {
      const bit = cand & -cand;
      const i = 31 - Math.clz32(bit);
      cand ^= bit;
      const group = groupOfBits(grp & bit, mod & bit, ds);
      if (!distributorGroupEnabled(ctlr, group)) continue;
      const prio = m.gicU8[prioBase + i]!;
      const nmi = (nmiBits & bit) !== 0;
      if (better(out, i, prio, nmi)) {
        out.intid = i; out.prio = prio; out.group = group; out.nmi = nmi;
      }
    }
  }
  if (spi !== 0) {
    const grp = load32(plain, g, D.IGROUPR.index);
    const mod = load32(plain, g, D.IGRPMODR.index);
    const nmiBits = load32(plain, g, D.NMI.index);
    while (spi !== 0) {
      const bit = spi & -spi;
      const i = 31 - Math.clz32(bit);
      spi ^= bit;
      if (i >= NSPI) break;
      const route = load32(plain, g, D.IROUTER.index + i);
      // IRM = 1: any participating PE may take it; otherwise only the PE whose affinity matches.
      if ((route & 0x80000000) === 0 && (route & 0xffffff) !== mpidrAff) continue;
      const group = groupOfBits(grp & bit, mod & bit, ds);
      if (!distributorGroupEnabled(ctlr, group)) continue;
      const prio = m.gicU8[m.gicdPrioByte(i)]!;
      const nmi = (nmiBits & bit) !== 0;
      if (better(out, SPI_BASE + i, prio, nmi)) {
        out.intid = SPI_BASE + i; out.prio = prio; out.group = group; out.nmi = nmi;
      }
    }
  }
  return out.intid >= 0;
}

/** The Active Priority register of a group in the PE's CPU region. */
export function aprIndex(group: number): number {
  return group === GROUP0 ? F.ICC_AP0R0.index : group === GROUP1S ? F.ICC_AP1R0_S.index : F.ICC_AP1R0_NS.index;
}

/**
 * Running priority (QEMU icc_highest_active_prio): the group priority of the
 * lowest set bit over all Active Priority registers; 0x00/0x80 while an NMI is
 * active; 0xff when nothing is active. Bit n stands for priority n << (8 - priBits).
 */
export function runningPriority(m: MachineShared, pe: number, priBits: number): number {
  const c = m.cpu32;
  const base = m.cpuI(pe, 0);
  const nmiActive = c[base + F.ICC_NMI_ACTIVE.index]!;
  if (nmiActive & ((1 << GROUP0) | (1 << GROUP1S))) return 0x00;
  const ap = c[base + F.ICC_AP0R0.index]! | c[base + F.ICC_AP1R0_S.index]! | c[base + F.ICC_AP1R0_NS.index]!;
  if (nmiActive & (1 << GROUP1NS)) {
    // An active Non-secure NMI runs at 0x80 unless something Secure is higher.
    const low = ap === 0 ? 0xff : (31 - Math.clz32(ap & -ap)) << (8 - priBits);
    return Math.min(low, 0x80);
  }
  if (ap === 0) return 0xff;
  return (31 - Math.clz32(ap & -ap)) << (8 - priBits);
}

export function groupMask(m: MachineShared, pe: number, group: number): number {
  const base = m.cpuI(pe, 0);
  const ctlr = m.cpu32[base + F.ICC_CTLR_EL1.index]!;
  if (group === GROUP1NS && (ctlr & 1) === 0) return groupPriorityMask(m.cpu32[base + F.ICC_BPR1_EL1.index]!, true);
  return groupPriorityMask(m.cpu32[base + F.ICC_BPR0_EL1.index]!, false);
}

/**
 * Section 4.8 `signal(p)`: whether the CPU interface asserts a line for the
 * HPPI found by `hppi` (CPU-interface group enable, PMR, running priority).
 */
export function canSignal(m: MachineShared, pe: number, h: Hppi, priBits: number, peSecure: boolean): boolean {
  const base = m.cpuI(pe, 0);
  const c = m.cpu32;
  const grpen = h.group === GROUP0 ? c[base + F.ICC_IGRPEN0_EL1.index]! & 1
    : h.group === GROUP1NS ? c[base + F.ICC_IGRPEN1.index]! & 1 : (c[base + F.ICC_IGRPEN1.index]! >> 1) & 1;
  if (!grpen) return false;
  const pmr = c[base + F.ICC_PMR_EL1.index]!;
  const ds = (load32(m.singleThread, m.gic32, D.CTLR.index) & GICD_CTLR_DS) !== 0;
  const pmrOk = h.nmi
    ? !(!ds && h.group === GROUP1NS && (pmr < 0x80 || (peSecure && pmr === 0x80)))
    : h.prio < pmr;
  if (!pmrOk) return false;
  const rp = runningPriority(m, pe, priBits);
  if (rp === 0xff) return true;
  const mask = groupMask(m, pe, h.group);
  if ((h.prio & mask) < (rp & mask)) return true;
  if (h.nmi && (h.prio & mask) === (rp & mask) && (c[base + F.ICC_NMI_ACTIVE.index]! & (1 << h.group)) === 0) return true;
  return false;
}

/**
 * Section 4.7: the line a signalled interrupt uses. At EL3 everything is FIQ;
 * in Non-secure state Group 1 Non-secure is IRQ and the other groups FIQ.
 */
export function lineFor(group: number, atEl3: boolean): number {
  if (atEl3) return LINE_FIQ;
  return group === GROUP1NS ? LINE_IRQ : LINE_FIQ;
}

export { GROUP0, GROUP1S, GROUP1NS };

/**
 * The GIC CPU interface system registers (ICC_*), reference sections 4.5-4.6
 * (QEMU hw/intc/arm_gicv3_cpuif.c: icc_iar1_read, icc_eoir_write,
 * icc_pmr_write, icc_rpr_read, icc_drop_prio, icc_activate_irq).
 *
 * The PE's CPU-interface state lives in its CPU region; only the PE's own
 * thread changes it. Acknowledge and deactivate change redistributor or
 * distributor bits, which other PEs may be setting concurrently, so those use
 * Atomics.
 */
import { CpuLayout } from '../../cpus/layout.js';
import { RedistributorLayout, DistributorLayout, INTID_SPURIOUS, INTID_G1NS_PENDING, INTID_G1S_PENDING, GROUP0, GROUP1S, GROUP1NS, SPI_BASE, NSPI } from './layout.js';
import { Hppi, hppi, canSignal, aprIndex, runningPriority, groupMask } from './signal.js';
import { implementedMask, nsPriorityWrite, nsPmrRead, minBpr } from './priority.js';
import type { MachineShared } from '../machine/shared.js';
import { load32, and32, or32 } from '../machine/access.js';

const F = CpuLayout.fields;
const R = RedistributorLayout.fields;
const D = DistributorLayout.fields;

export class CpuInterface {
  private readonly h = new Hppi();
  constructor(
    private readonly m: MachineShared,
    readonly pe: number,
    readonly mpidrAff: number,
    readonly priBits: number,
  ) {}

  /** The HPPI if it can be signalled now (section 4.8), else null. */
  signalled(peSecure: boolean): Hppi | null {
    if (!hppi(this.m, this.pe, this.mpidrAff, this.h)) return null;
    return canSignal(this.m, this.pe, this.h, this.priBits, peSecure) ? this.h : null;
  }

  /**
   * ICC_IAR1_EL1 (group GROUP1NS from Non-secure) or ICC_IAR0_EL1 (GROUP0):
   * acknowledges the signalled HPPI if it is of the register's group, else
   * returns a special INTID with no side effect.
   */
  acknowledge(group: number, peSecure: boolean, atEl3: boolean): number {
    const h = this.signalled(peSecure);
    if (!h) return INTID_SPURIOUS;
    if (h.group !== group) {
      // EL3 reading IAR0 learns which other group is pending (QEMU icc_hppir0_value).
      if (atEl3 && group === GROUP0) return h.group === GROUP1NS ? INTID_G1NS_PENDING : INTID_G1S_PENDING;
      return INTID_SPURIOUS;
    }
    if (!this.activate(h)) return INTID_SPURIOUS;
    return h.intid;
  }

  /** Pending -> active; false if another PE claimed the (SPI) interrupt first. */
  private activate(h: Hppi): boolean {
    const m = this.m;
    const bit = h.intid < 32 ? 1 << h.intid : 1 << (h.intid - SPI_BASE);
    if (h.intid < 32) {
      const rb = m.gicrI(this.pe, 0);
      // A sender may set the pending bit again right after: active-and-pending.
      // A level-sensitive PPI stays pending through its input line.
      and32(m.singleThread, m.gic32, rb + R.PENDING.index, ~bit);
      or32(m.singleThread, m.gic32, rb + R.ACTIVE.index, bit);
    } else {
      const level = load32(m.singleThread, m.gic32, D.LEVEL.index) & bit;
      // The old value tells whether this PE won the race for an IRM=1 SPI against another acknowledger.
      const old = and32(m.singleThread, m.gic32, D.PENDING.index, ~bit);
      if (!level && !(old & bit)) return false;
      if (or32(m.singleThread, m.gic32, D.ACTIVE.index, bit) & bit) return false;
    }
    const base = m.cpuI(this.pe, 0);
    if (h.nmi) {
      m.cpu32[base + F.ICC_NMI_ACTIVE.index]! |= 1 << h.group;
    } else {
      const mask = groupMask(m, this.pe, h.group);
      const idx = (h.prio & mask) >> (8 - this.priBits);
      m.cpu32[base + aprIndex(h.group)]! |= 1 << idx;
    }
    return true;
  }

  /**
   * ICC_EOIR1_EL1 / ICC_EOIR0_EL1: priority drop for the register's group
   * (clears the NMI bit or the lowest set Active Priority bit: correct nesting
   * means that is the interrupt being ended), then deactivation when EOImode
   * is 0. INTIDs 1020-1023 are ignored.
   */
  endOfInterrupt(intid: number, group: number, atEl3: boolean): void {
    if (intid >= 1020) return;
    const m = this.m;
    const base = m.cpuI(this.pe, 0);
    const nmiA = m.cpu32[base + F.ICC_NMI_ACTIVE.index]!;
    if (nmiA & (1 << group)) {
      m.cpu32[base + F.ICC_NMI_ACTIVE.index] = nmiA & ~(1 << group);
    } else {
      const i = base + aprIndex(group);
      const ap = m.cpu32[i]!;
      m.cpu32[i] = ap & (ap - 1);
    }
    const eoiMode = atEl3 ? (m.cpu32[base + F.ICC_CTLR_EL3.index]! >> 2) & 1 : (m.cpu32[base + F.ICC_CTLR_EL1.index]! >> 1) & 1;
    if (eoiMode === 0) this.deactivate(intid);
  }

  /** ICC_DIR_EL1, or the deactivation half of an EOI with EOImode 0. */
  deactivate(intid: number): void {
    const m = this.m;
    if (intid < 32) {
      and32(m.singleThread, m.gic32, m.gicrI(this.pe, R.ACTIVE.index), ~(1 << intid));
    } else if (intid < SPI_BASE + NSPI) {
      and32(m.singleThread, m.gic32, D.ACTIVE.index, ~(1 << (intid - SPI_BASE)));
    }
  }

  /** ICC_PMR_EL1 write. Non-secure writes are shifted and ignored while PMR holds a Secure value. */
  writePmr(v: number, nonSecure: boolean): void {
    const i = this.m.cpuI(this.pe, F.ICC_PMR_EL1.index);
    if (nonSecure) {
      if (this.m.cpu32[i]! < 0x80) return;
      this.m.cpu32[i] = nsPriorityWrite(v, this.priBits);
    } else {
      this.m.cpu32[i] = v & implementedMask(this.priBits);
    }
  }

  readPmr(nonSecure: boolean): number {
    const s = this.m.cpu32[this.m.cpuI(this.pe, F.ICC_PMR_EL1.index)]!;
    return nonSecure ? nsPmrRead(s) : s;
  }

  /** ICC_RPR_EL1 (Secure-range running priority reads as 0 from Non-secure). */
  readRpr(nonSecure: boolean): number {
    const rp = runningPriority(this.m, this.pe, this.priBits);
    return nonSecure ? nsPmrRead(rp) : rp;
  }

  /** ICC_HPPIR1_EL1 / HPPIR0: the HPPI of that group regardless of PMR and running priority. */
  readHppir(group: number): number {
    if (!hppi(this.m, this.pe, this.mpidrAff, this.h)) return INTID_SPURIOUS;
    return this.h.group === group ? this.h.intid : INTID_SPURIOUS;
  }

  /**
   * Reset of the CPU-interface registers at power-on, then TF-A's
   * gicv3_cpuif_enable: PMR = 0xff (idle), Group 0 and Group 1 Secure enabled
   * (reference section 4.11; TF-A gicv3_cpuif_enable).
   */
  resetAndEnableByFirmware(): void {
    const m = this.m;
    const base = m.cpuI(this.pe, 0);
    const c = m.cpu32;
    c[base + F.ICC_PMR_EL1.index] = 0xff & implementedMask(this.priBits);
    c[base + F.ICC_BPR0_EL1.index] = minBpr(false, this.priBits);
    c[base + F.ICC_BPR1_EL1.index] = minBpr(true, this.priBits);
    c[base + F.ICC_CTLR_EL1.index] = 0;
    c[base + F.ICC_CTLR_EL3.index] = 0;
    c[base + F.ICC_AP0R0.index] = 0;
    c[base + F.ICC_AP1R0_S.index] = 0;
    c[base + F.ICC_AP1R0_NS.index] = 0;
    c[base + F.ICC_NMI_ACTIVE.index] = 0;
    c[base + F.ICC_IGRPEN0_EL1.index] = 1;
    c[base + F.ICC_IGRPEN1.index] = 2; // Group 1 Secure on, Group 1 Non-secure left for the OS
  }

  /** ICC_CTLR_EL1 read: PRIbits - 1 in bits 10:8, EOImode bit 1, CBPR bit 0. */
  readCtlr(): number {
    return (this.m.cpu32[this.m.cpuI(this.pe, F.ICC_CTLR_EL1.index)]! & 3) | ((this.priBits - 1) << 8);
  }
  writeCtlr(v: number): void {
    this.m.cpu32[this.m.cpuI(this.pe, F.ICC_CTLR_EL1.index)] = v & 3;
  }
}

export { GROUP0, GROUP1S, GROUP1NS };

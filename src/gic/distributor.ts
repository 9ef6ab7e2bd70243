/**
 * GICD memory-mapped registers (reference section 4.2; GICv3 IHI0069 12.9).
 * Affinity routing is enabled (ARE_S = ARE_NS = 1), so word 0 of the
 * bit-per-INTID registers (SGIs and PPIs) is RAZ/WI here: those live in each
 * redistributor. With GICD_CTLR.DS = 0, Non-secure accesses reach only Group 1
 * Non-secure interrupts; group registers are Secure-only (RAZ/WI from NS).
 */
import {
  DistributorLayout, NSPI, SPI_BASE, GICD_CTLR_ENABLE_G1NS, GICD_CTLR_ARE_NS, GICD_CTLR_DS, GROUP1NS,
} from './layout.js';
import { groupOfBits } from './signal.js';
import { nsPriorityRead, nsPriorityWrite, implementedMask } from './priority.js';
import { ATTN_GIC } from '../../cpus/layout.js';
import { kick } from '../machine/runstate.js';
import type { MachineShared } from '../machine/shared.js';

const D = DistributorLayout.fields;

export const GICD = {
  CTLR: 0x0000, TYPER: 0x0004, IIDR: 0x0008,
  IGROUPR: 0x0080, ISENABLER: 0x0100, ICENABLER: 0x0180, ISPENDR: 0x0200, ICPENDR: 0x0280,
  ISACTIVER: 0x0300, ICACTIVER: 0x0380, IPRIORITYR: 0x0400, ICFGR: 0x0c00, IGRPMODR: 0x0d00,
  INMIR: 0x0f80, IROUTER: 0x6000,
} as const;

/** Bits of SPI word 1 (INTIDs 32-63) that a Non-secure access may see. */
function nsVisible(m: MachineShared): number {
  const g = m.gic32;
  if (Atomics.load(g, D.CTLR.index) & GICD_CTLR_DS) return -1;
  return Atomics.load(g, D.IGROUPR.index); // Group 1 Non-secure bits
}

function spiGroup(m: MachineShared, spi: number): number {
  const g = m.gic32;
  const bit = 1 << spi;
  const ds = (Atomics.load(g, D.CTLR.index) & GICD_CTLR_DS) !== 0;
  return groupOfBits(Atomics.load(g, D.IGROUPR.index) & bit, Atomics.load(g, D.IGRPMODR.index) & bit, ds);
}

function kickAll(m: MachineShared): void {
  for (let pe = 0; pe < m.ncpus; pe++) kick(m, pe, ATTN_GIC);
}

export function gicdRead(m: MachineShared, off: number, nonSecure: boolean, priBits: number): number {
  const g = m.gic32;
  const ns = nonSecure ? nsVisible(m) : -1;
  if (off === GICD.CTLR) {
    const c = Atomics.load(g, D.CTLR.index);
    if (!nonSecure || c & GICD_CTLR_DS) return c;
    // Non-secure view: bit 0 EnableGrp1, bit 1 EnableGrp1A, bit 4 ARE_NS.
    return (c & GICD_CTLR_ENABLE_G1NS ? 3 : 0) | (c & GICD_CTLR_ARE_NS ? 0x10 : 0);
  }
  if (off === GICD.TYPER) return ((SPI_BASE + NSPI) / 32 - 1) | (9 << 19); // ITLinesNumber, IDbits = 9 (10-bit INTIDs)
  if (off === GICD.IIDR) return 0x0300043b;
  const word = (base: number): number => (off - base) >> 2;
  const bitReg = (base: number, idx: number): number | null => {
    if (off < base || off >= base + 0x80) return null;
    if (word(base) !== 1) return 0; // SGI/PPI words RAZ with affinity routing; no SPIs above 63
    return Atomics.load(g, idx) & ns;
  };
  if (off >= GICD.IGROUPR && off < GICD.IGROUPR + 0x80) return nonSecure && ns !== -1 ? 0 : (word(GICD.IGROUPR) === 1 ? Atomics.load(g, D.IGROUPR.index) : 0);
  for (const [base, idx] of [[GICD.ISENABLER, D.ENABLE.index], [GICD.ICENABLER, D.ENABLE.index], [GICD.ISPENDR, D.PENDING.index],
    [GICD.ICPENDR, D.PENDING.index], [GICD.ISACTIVER, D.ACTIVE.index], [GICD.ICACTIVER, D.ACTIVE.index]] as const) {
    const v = bitReg(base, idx);
    if (v !== null) return v;
  }
  if (off >= GICD.IPRIORITYR + SPI_BASE && off < GICD.IPRIORITYR + SPI_BASE + NSPI) {
    let v = 0;
    for (let b = 0; b < 4; b++) {
      const spi = off - GICD.IPRIORITYR - SPI_BASE + b;
      let p = m.gicU8[m.gicdPrioByte(spi)]!;
      if (nonSecure && ns !== -1) p = spiGroup(m, spi) === GROUP1NS ? nsPriorityRead(p) : 0;
      v |= p << (8 * b);
    }
    return v >>> 0;
  }
  if (off >= GICD.ICFGR + 8 && off < GICD.ICFGR + 16) {
    const first = (off - GICD.ICFGR - 8) * 4; // SPI index of the first 2-bit field
    const lvl = Atomics.load(g, D.LEVEL.index);
    let v = 0;
    for (let k = 0; k < 16; k++) if (!(lvl & (1 << (first + k)))) v |= 2 << (2 * k); // 0b10 = edge
    return v >>> 0;
  }
  if (off >= GICD.IGRPMODR && off < GICD.IGRPMODR + 0x80) return nonSecure && ns !== -1 ? 0 : (word(GICD.IGRPMODR) === 1 ? Atomics.load(g, D.IGRPMODR.index) : 0);
  if (off >= GICD.INMIR && off < GICD.INMIR + 0x80) return word(GICD.INMIR) === 1 ? Atomics.load(g, D.NMI.index) & ns : 0;
  if (off >= GICD.IROUTER + SPI_BASE * 8 && off < GICD.IROUTER + (SPI_BASE + NSPI) * 8) {
    const spi = ((off - GICD.IROUTER) >> 3) - SPI_BASE;
    if (nonSecure && ns !== -1 && spiGroup(m, spi) !== GROUP1NS) return 0;
    const r = Atomics.load(g, D.IROUTER.index + spi);
    return (off & 4) === 0 ? ((r & 0xffffff) | (r & 0x80000000)) >>> 0 : 0;
  }
  return 0;
}

export function gicdWrite(m: MachineShared, off: number, value: number, nonSecure: boolean, priBits: number, width: 1 | 4): void {
  const g = m.gic32;
  const ns = nonSecure ? nsVisible(m) : -1;
  if (width === 1) {
    if (off >= GICD.IPRIORITYR + SPI_BASE && off < GICD.IPRIORITYR + SPI_BASE + NSPI) {
      writeSpiPriority(m, off - GICD.IPRIORITYR - SPI_BASE, value & 0xff, nonSecure && ns !== -1, priBits);
      kickAll(m);
    }
    return;
  }
  if (off === GICD.CTLR) {
    const c = Atomics.load(g, D.CTLR.index);
    if (!nonSecure || c & GICD_CTLR_DS) {
      Atomics.store(g, D.CTLR.index, value & 0x77);
    } else {
      const en = value & 3 ? GICD_CTLR_ENABLE_G1NS : 0;
      const are = value & 0x10 ? GICD_CTLR_ARE_NS : 0;
      Atomics.store(g, D.CTLR.index, (c & ~(GICD_CTLR_ENABLE_G1NS | GICD_CTLR_ARE_NS)) | en | are);
    }
    kickAll(m);
    return;
  }
  const inWord1 = (base: number): boolean => off === base + 4;
  const v = value | 0;
  if (off >= GICD.IGROUPR && off < GICD.IGROUPR + 0x80) {
    if (!(nonSecure && ns !== -1) && inWord1(GICD.IGROUPR)) Atomics.store(g, D.IGROUPR.index, v);
    return;
  }
  if (off >= GICD.IGRPMODR && off < GICD.IGRPMODR + 0x80) {
    if (!(nonSecure && ns !== -1) && inWord1(GICD.IGRPMODR)) Atomics.store(g, D.IGRPMODR.index, v);
    return;
  }
  const masked = v & ns;
  if (inWord1(GICD.ISENABLER)) { Atomics.or(g, D.ENABLE.index, masked); kickAll(m); return; }
  if (inWord1(GICD.ICENABLER)) { Atomics.and(g, D.ENABLE.index, ~masked); return; }
  if (inWord1(GICD.ISPENDR)) { Atomics.or(g, D.PENDING.index, masked); kickAll(m); return; }
  if (inWord1(GICD.ICPENDR)) { Atomics.and(g, D.PENDING.index, ~masked); return; }
  if (inWord1(GICD.ISACTIVER)) { Atomics.or(g, D.ACTIVE.index, masked); return; }
  if (inWord1(GICD.ICACTIVER)) { Atomics.and(g, D.ACTIVE.index, ~masked); kickAll(m); return; }
  if (inWord1(GICD.INMIR)) { Atomics.store(g, D.NMI.index, (Atomics.load(g, D.NMI.index) & ~ns) | masked); kickAll(m); return; }
  if (off >= GICD.IPRIORITYR + SPI_BASE && off < GICD.IPRIORITYR + SPI_BASE + NSPI) {
    for (let b = 0; b < 4; b++) writeSpiPriority(m, off - GICD.IPRIORITYR - SPI_BASE + b, (value >>> (8 * b)) & 0xff, nonSecure && ns !== -1, priBits);
    kickAll(m);
    return;
  }
  if (off >= GICD.ICFGR + 8 && off < GICD.ICFGR + 16) {
    const first = (off - GICD.ICFGR - 8) * 4;
    let lvl = Atomics.load(g, D.LEVEL.index);
    for (let k = 0; k < 16; k++) {
      const b = 1 << (first + k);
      if (!(b & ns)) continue;
      if ((value >>> (2 * k)) & 2) lvl &= ~b; else lvl |= b;
    }
    Atomics.store(g, D.LEVEL.index, lvl);
    return;
  }
  if (off >= GICD.IROUTER + SPI_BASE * 8 && off < GICD.IROUTER + (SPI_BASE + NSPI) * 8 && (off & 4) === 0) {
    const spi = ((off - GICD.IROUTER) >> 3) - SPI_BASE;
    if (nonSecure && ns !== -1 && spiGroup(m, spi) !== GROUP1NS) return;
    Atomics.store(g, D.IROUTER.index + spi, (value & 0xffffff) | (value & 0x80000000));
    kickAll(m);
  }
}

function writeSpiPriority(m: MachineShared, spi: number, v: number, nsView: boolean, priBits: number): void {
  if (spi < 0 || spi >= NSPI) return;
  if (nsView) {
    if (spiGroup(m, spi) !== GROUP1NS) return; // RAZ/WI
    m.gicU8[m.gicdPrioByte(spi)] = nsPriorityWrite(v, priBits);
  } else {
    m.gicU8[m.gicdPrioByte(spi)] = v & implementedMask(priBits);
  }
}

/** Drives an SPI's input line (a level-sensitive device interrupt) or pulses an edge one. */
export function setSpiInput(m: MachineShared, spi: number, high: boolean): void {
  const bit = 1 << spi;
  const g = m.gic32;
  if (Atomics.load(g, D.LEVEL.index) & bit) {
    if (high) Atomics.or(g, D.INPUT.index, bit); else Atomics.and(g, D.INPUT.index, ~bit);
  } else if (high) {
    Atomics.or(g, D.PENDING.index, bit);
  }
  if (high) kickAll(m);
}

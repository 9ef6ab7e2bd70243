/**
 * GICR memory-mapped registers of one PE: the RD frame (CTLR, TYPER, WAKER)
 * and the SGI frame at +64 KiB (reference section 4.2; IHI0069 12.10-12.11).
 * With DS = 0, Non-secure accesses reach only Group 1 Non-secure INTIDs.
 */
import { RedistributorLayout, GICD_CTLR_DS, DistributorLayout, GROUP1NS } from './layout.js';
import { groupOfBits } from './signal.js';
import { nsPriorityRead, nsPriorityWrite, implementedMask } from './priority.js';
import { ATTN_GIC, mpidrOf, mpidrAffinity } from '../../cpus/layout.js';
import { kick } from '../machine/runstate.js';
import { GICR_SGI_OFFSET } from '../machine/memory.js';
import type { MachineShared } from '../machine/shared.js';
import { load32, store32, and32, or32 } from '../machine/access.js';

const R = RedistributorLayout.fields;

export const GICR = {
  CTLR: 0x0000, IIDR: 0x0004, TYPER: 0x0008, TYPER_HI: 0x000c, WAKER: 0x0014,
  IGROUPR0: 0x0080, ISENABLER0: 0x0100, ICENABLER0: 0x0180, ISPENDR0: 0x0200, ICPENDR0: 0x0280,
  ISACTIVER0: 0x0300, ICACTIVER0: 0x0380, IPRIORITYR: 0x0400, ICFGR0: 0x0c00, ICFGR1: 0x0c04,
  IGRPMODR0: 0x0d00, NSACR: 0x0e00, INMIR0: 0x0f80,
} as const;

function nsMask(m: MachineShared, pe: number, nonSecure: boolean): number {
  if (!nonSecure || load32(m.singleThread, m.gic32, DistributorLayout.fields.CTLR.index) & GICD_CTLR_DS) return -1;
  return load32(m.singleThread, m.gic32, m.gicrI(pe, R.IGROUPR0.index));
}

function groupAt(m: MachineShared, pe: number, intid: number): number {
  const bit = 1 << intid;
  const plain = m.singleThread;
  const ds = (load32(plain, m.gic32, DistributorLayout.fields.CTLR.index) & GICD_CTLR_DS) !== 0;
  return groupOfBits(load32(plain, m.gic32, m.gicrI(pe, R.IGROUPR0.index)) & bit, load32(plain, m.gic32, m.gicrI(pe, R.IGRPMODR0.index)) & bit, ds);
}

export function gicrRead(m: MachineShared, pe: number, off: number, nonSecure: boolean): number {
  const g = m.gic32;
  const ns = nsMask(m, pe, nonSecure);
  const nsRestricted = ns !== -1;
  if (off < GICR_SGI_OFFSET) {
    switch (off) {
      case GICR.CTLR: return load32(m.singleThread, g, m.gicrI(pe, R.CTLR.index));
      case GICR.IIDR: return 0x0300043b;
      case GICR.TYPER: return ((pe << 8) | (pe === m.ncpus - 1 ? 0x10 : 0)) >>> 0;
      case GICR.TYPER_HI: return mpidrAffinity(mpidrOf(pe));
      case GICR.WAKER: return load32(m.singleThread, g, m.gicrI(pe, R.WAKER.index));
      default: return 0;
    }
  }
  const o = off - GICR_SGI_OFFSET;
  const at = (f: { index: number }): number => load32(m.singleThread, g, m.gicrI(pe, f.index));
  switch (o) {
    case GICR.IGROUPR0: return nsRestricted ? 0 : at(R.IGROUPR0);
    case GICR.IGRPMODR0: return nsRestricted ? 0 : at(R.IGRPMODR0);
    case GICR.ISENABLER0: case GICR.ICENABLER0: return (at(R.ENABLE) & ns) >>> 0;
    case GICR.ISPENDR0: case GICR.ICPENDR0: return (at(R.PENDING) & ns) >>> 0;
    case GICR.ISACTIVER0: case GICR.ICACTIVER0: return (at(R.ACTIVE) & ns) >>> 0;
    case GICR.INMIR0: return (at(R.NMI) & ns) >>> 0;
    case GICR.ICFGR0: return 0xaaaaaaaa; // SGIs: always edge
    case GICR.ICFGR1: {
      const lvl = at(R.LEVEL);
      let v = 0;
      for (let k = 0; k < 16; k++) if (!(lvl & (1 << (16 + k)))) v |= 2 << (2 * k);
      return v >>> 0;
    }
    default:
      if (o >= GICR.IPRIORITYR && o < GICR.IPRIORITYR + 32) {
        let v = 0;
        for (let b = 0; b < 4; b++) {
          const i = o - GICR.IPRIORITYR + b;
          let p = m.gicU8[m.gicrPrioByte(pe, i)]!;
          if (nsRestricted) p = groupAt(m, pe, i) === GROUP1NS ? nsPriorityRead(p) : 0;
          v |= p << (8 * b);
        }
        return v >>> 0;
      }
      return 0;
  }
}

export function gicrWrite(m: MachineShared, pe: number, off: number, value: number, nonSecure: boolean, priBits: number, width: 1 | 4): void {
  const g = m.gic32;
  const ns = nsMask(m, pe, nonSecure);
  const nsRestricted = ns !== -1;
  if (off < GICR_SGI_OFFSET) {
    if (width !== 4) return;
    if (off === GICR.WAKER) {
      // ChildrenAsleep follows ProcessorSleep at once in the model.
      const sleep = value & 2;
      store32(m.singleThread, g, m.gicrI(pe, R.WAKER.index), sleep ? 6 : 0);
    } else if (off === GICR.CTLR) {
      store32(m.singleThread, g, m.gicrI(pe, R.CTLR.index), value | 0);
    }
    return;
  }
  const o = off - GICR_SGI_OFFSET;
  if (o >= GICR.IPRIORITYR && o < GICR.IPRIORITYR + 32) {
    const n = width === 1 ? 1 : 4;
    for (let b = 0; b < n; b++) {
      const i = o - GICR.IPRIORITYR + b;
      const v = (value >>> (8 * b)) & 0xff;
      if (nsRestricted) {
        if (groupAt(m, pe, i) !== GROUP1NS) continue;
        m.gicU8[m.gicrPrioByte(pe, i)] = nsPriorityWrite(v, priBits);
      } else {
        m.gicU8[m.gicrPrioByte(pe, i)] = v & implementedMask(priBits);
      }
    }
    kick(m, pe, ATTN_GIC);
    return;
  }
  if (width !== 4) return;
  const v = (value | 0) & ns;
  const idx = (f: { index: number }): number => m.gicrI(pe, f.index);
  const plain = m.singleThread;
  switch (o) {
    case GICR.IGROUPR0: if (!nsRestricted) store32(plain, g, idx(R.IGROUPR0), value | 0); break;
    case GICR.IGRPMODR0: if (!nsRestricted) store32(plain, g, idx(R.IGRPMODR0), value | 0); break;
    case GICR.ISENABLER0: or32(plain, g, idx(R.ENABLE), v); break;
    case GICR.ICENABLER0: and32(plain, g, idx(R.ENABLE), ~v); break;
    case GICR.ISPENDR0: or32(plain, g, idx(R.PENDING), v); break;
    case GICR.ICPENDR0: and32(plain, g, idx(R.PENDING), ~v); break;
    case GICR.ISACTIVER0: or32(plain, g, idx(R.ACTIVE), v); break;
    case GICR.ICACTIVER0: and32(plain, g, idx(R.ACTIVE), ~v); break;
    case GICR.INMIR0: store32(plain, g, idx(R.NMI), (load32(plain, g, idx(R.NMI)) & ~ns) | v); break;
    case GICR.ICFGR1: {
      let lvl = load32(plain, g, idx(R.LEVEL));
      for (let k = 0; k < 16; k++) {
        const b = 1 << (16 + k);
        if (!(b & ns)) continue;
        if ((value >>> (2 * k)) & 2) lvl &= ~b; else lvl |= b;
      }
      store32(plain, g, idx(R.LEVEL), lvl);
      break;
    }
    default: return;
  }
  kick(m, pe, ATTN_GIC);
}

/** Drives a PPI's input line of PE `pe` (the generic timer drives PPI 27). Returns true on a change. */
export function setPpiInput(m: MachineShared, pe: number, intid: number, high: boolean): boolean {
  const i = m.gicrI(pe, R.INPUT.index);
  const bit = 1 << intid;
  // Perf: engines poll the timer line between slices and it rarely changes; skip the locked
  // read-modify-write when the bit already has the level (each line has one driver: the PE's timer).
  const plain = m.singleThread;
  if (((load32(plain, m.gic32, i) & bit) !== 0) === high) return false;
  const old = high ? or32(plain, m.gic32, i, bit) : and32(plain, m.gic32, i, ~bit);
  return ((old & bit) !== 0) !== high;
}

/** Whether a PPI's input line of PE `pe` is driven high. */
export function ppiInputHigh(m: MachineShared, pe: number, intid: number): boolean {
  return (load32(m.singleThread, m.gic32, m.gicrI(pe, R.INPUT.index)) & (1 << intid)) !== 0;
}

/** Sets an SGI/PPI pending at PE `pe` (firmware re-pend, test injection) and wakes the PE. */
export function setPrivatePending(m: MachineShared, pe: number, intid: number): void {
  or32(m.singleThread, m.gic32, m.gicrI(pe, R.PENDING.index), 1 << intid);
  kick(m, pe, ATTN_GIC);
}

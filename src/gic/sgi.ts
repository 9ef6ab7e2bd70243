/**
 * SGI generation (reference/firmware-and-gic.md section 4.3; QEMU
 * icc_generate_sgi, gicv3_redist_send_sgi).
 *
 * The value written to ICC_SGI1R_EL1 / ICC_SGI0R_EL1: TargetList[15:0],
 * Aff1[23:16], INTID[27:24], Aff2[39:32], IRM[40], RS[47:44], Aff3[55:48].
 * IRM = 1 targets every PE except the sender. A redistributor accepts the SGI
 * only if the INTID's group at that PE is the requested one, otherwise it is
 * silently dropped (so Linux's ICC_SGI1R writes for the Group 0 SGI 8 do
 * nothing: only firmware can raise the SDEI SGI). Acceptance sets one pending
 * bit per (PE, INTID): SGIs of the same number coalesce.
 */
import { RedistributorLayout, GICD_CTLR_DS, DistributorLayout, GROUP0, GROUP1NS } from './layout.js';
import { groupOfBits } from './signal.js';
import { ATTN_GIC } from '../../cpus/layout.js';
import { kick } from '../machine/runstate.js';
import type { MachineShared } from '../machine/shared.js';

const R = RedistributorLayout.fields;

export interface SgiTarget {
  readonly intid: number;
  readonly irm: boolean;
  readonly aff1: number;
  readonly aff2: number;
  readonly rs: number;
  readonly targetList: number;
}

/** Splits a 64-bit SGIR value held in a JS number (Aff3 must be 0: bits above 52 are not representable). */
export function decodeSgir(value: number): SgiTarget {
  const lo = value % 0x1_0000_0000;
  const hi = Math.floor(value / 0x1_0000_0000);
  return {
    targetList: lo & 0xffff,
    aff1: (lo >>> 16) & 0xff,
    intid: (lo >>> 24) & 0xf,
    aff2: hi & 0xff,
    irm: ((hi >>> 8) & 1) === 1,
    rs: (hi >>> 12) & 0xf,
  };
}

export function encodeSgir(t: { intid: number; irm?: boolean; aff1?: number; aff2?: number; rs?: number; targetList?: number }): number {
  const lo = ((t.targetList ?? 0) & 0xffff) | (((t.aff1 ?? 0) & 0xff) << 16) | ((t.intid & 0xf) << 24);
  const hi = ((t.aff2 ?? 0) & 0xff) | ((t.irm ? 1 : 0) << 8) | (((t.rs ?? 0) & 0xf) << 12);
  return (lo >>> 0) + hi * 0x1_0000_0000;
}

/** SGIR value that targets exactly `cpus` within one cluster (Linux gic_ipi_send_mask builds one per cluster). */
export function sgirForCluster(intid: number, aff1: number, aff0s: readonly number[]): number {
  let tl = 0;
  let rs = -1;
  for (const a of aff0s) {
    const r = a >> 4;
    if (rs >= 0 && r !== rs) throw new Error('one SGIR write covers one 16-PE range');
    rs = r;
    tl |= 1 << (a & 15);
  }
  return encodeSgir({ intid, aff1, rs: Math.max(rs, 0), targetList: tl });
}

/**
 * Delivers an SGI write by PE `sender`. `group` is the group the write requests
 * (GROUP1NS for ICC_SGI1R_EL1 from Non-secure, GROUP0 for ICC_SGI0R_EL1 at EL3).
 * Returns the PEs that accepted it.
 */
export function generateSgi(m: MachineShared, sender: number, value: number, group: number, onAccept?: (pe: number) => void): number[] {
  const t = decodeSgir(value);
  const accepted: number[] = [];
  const ds = (Atomics.load(m.gic32, DistributorLayout.fields.CTLR.index) & GICD_CTLR_DS) !== 0;
  const bit = 1 << t.intid;
  const deliver = (pe: number): void => {
    const rb = m.gicrI(pe, 0);
    const g = groupOfBits(Atomics.load(m.gic32, rb + R.IGROUPR0.index) & bit, Atomics.load(m.gic32, rb + R.IGRPMODR0.index) & bit, ds);
    if (g !== group) return; // group mismatch: silently dropped (QEMU gicv3_redist_send_sgi)
    onAccept?.(pe);
    // Pending first, then the attention bit and wake-up (runstate protocol).
    Atomics.or(m.gic32, rb + R.PENDING.index, bit);
    kick(m, pe, ATTN_GIC);
    accepted.push(pe);
  };
  if (t.irm) {
    for (let pe = 0; pe < m.ncpus; pe++) if (pe !== sender) deliver(pe);
  } else if (t.aff2 === 0) {
    for (let n = 0; n < 16; n++) {
      if ((t.targetList & (1 << n)) === 0) continue;
      const aff0 = t.rs * 16 + n;
      // The model gives each cluster 16 PEs (cpus/layout.ts mpidrOf), so Aff0 >= 16 names no PE.
      if (aff0 >= 16) continue;
      const pe = t.aff1 * 16 + aff0;
      if (pe < m.ncpus) deliver(pe);
    }
  }
  return accepted;
}

export { GROUP0, GROUP1NS };

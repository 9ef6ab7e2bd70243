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
import { load32, or32 } from '../machine/access.js';

const R = RedistributorLayout.fields;

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

/** Called with each PE that accepts an SGI, before its pending bit is set (the sender's trace record). */
export type SgiAcceptHook = (pe: number, intid: number) => void;

/**
 * Delivers an SGI write by PE `sender`. `group` is the group the write requests
 * (GROUP1NS for ICC_SGI1R_EL1 from Non-secure, GROUP0 for ICC_SGI0R_EL1 at EL3).
 * Returns how many PEs accepted it. Perf: it allocates nothing (no decoded
 * object, closure or list): in the threads engine a send runs once per tens
 * of thousands of instructions, with cold caches, and every fresh line costs.
 */
export function generateSgi(m: MachineShared, sender: number, value: number, group: number, onAccept: SgiAcceptHook | null): number {
  const lo = value % 0x1_0000_0000;
  const hi = Math.floor(value / 0x1_0000_0000);
  const intid = (lo >>> 24) & 0xf;
  const ds = (load32(m.singleThread, m.gic32, DistributorLayout.fields.CTLR.index) & GICD_CTLR_DS) !== 0;
  let accepted = 0;
  if (((hi >>> 8) & 1) === 1) {
    // IRM = 1: every PE but the sender.
    for (let pe = 0; pe < m.ncpus; pe++) if (pe !== sender) accepted += deliver(m, pe, intid, group, ds, onAccept);
  } else if ((hi & 0xff) === 0) {
    const targetList = lo & 0xffff;
    const aff1 = (lo >>> 16) & 0xff;
    const rs = (hi >>> 12) & 0xf;
    for (let n = 0; n < 16; n++) {
      if ((targetList & (1 << n)) === 0) continue;
      const aff0 = rs * 16 + n;
      // The model gives each cluster 16 PEs (cpus/layout.ts mpidrOf), so Aff0 >= 16 names no PE.
      if (aff0 >= 16) continue;
      const pe = aff1 * 16 + aff0;
      if (pe < m.ncpus) accepted += deliver(m, pe, intid, group, ds, onAccept);
    }
  }
  return accepted;
}

/** One PE's redistributor takes the SGI if the INTID's group there is the requested one: 1 if it did. */
function deliver(m: MachineShared, pe: number, intid: number, group: number, ds: boolean, onAccept: SgiAcceptHook | null): number {
  const rb = m.gicrI(pe, 0);
  const bit = 1 << intid;
  const plain = m.singleThread;
  const g = groupOfBits(load32(plain, m.gic32, rb + R.IGROUPR0.index) & bit, load32(plain, m.gic32, rb + R.IGRPMODR0.index) & bit, ds);
  if (g !== group) return 0; // group mismatch: silently dropped (QEMU gicv3_redist_send_sgi)
  if (onAccept !== null) onAccept(pe, intid);
  // Pending first, then the attention bit and wake-up (runstate protocol).
  or32(plain, m.gic32, rb + R.PENDING.index, bit);
  kick(m, pe, ATTN_GIC);
  return 1;
}

export { GROUP0, GROUP1NS };

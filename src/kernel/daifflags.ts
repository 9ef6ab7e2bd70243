/**
 * arch/arm64/include/asm/daifflags.h (reference linux-stop-paths 5.2).
 * With pseudo-NMI, PMR values are the kernel's view (GIC_PRIO_*), written
 * through ICC_PMR_EL1, which the GIC stores in its Non-secure form.
 */
import type { Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PSR_I, PSR_A, PSR_F, PSR_D, DAIF_MASK } from '../../cpus/pstate.js';
import type { K } from './kernel.js';

/** include/linux/irqchip/arm-gic-v3-prio.h */
export const GIC_PRIO_IRQON = 0xe0;
export const GIC_PRIO_IRQOFF = 0xc0;
export const GIC_PRIO_NMI = 0x80;
export const GIC_PRIO_PSR_I_SET = 0x10;

/**
 * local_daif_mask(): D, A, I, F all set; with pseudo-NMI PMR =
 * GIC_PRIO_IRQON | GIC_PRIO_PSR_I_SET (0xf0), then trace_hardirqs_off.
 * Afterwards nothing but an SDEI dispatch (from EL3) can interrupt.
 */
export function* local_daif_mask(k: K): Guest<void> {
  yield k.c.daifSet(0xf);
  if (k.cfg.pseudoNmi) yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON | GIC_PRIO_PSR_I_SET);
}

/** local_daif_save_flags(): DAIF, reporting I|F as set when PMR masks (pseudo-NMI). */
export function* local_daif_save_flags(k: K): Guest<number> {
  let flags = yield k.c.mrs(SYS.DAIF);
  if (k.cfg.pseudoNmi) {
    const pmr = yield k.c.mrs(SYS.ICC_PMR_EL1);
    if (pmr !== GIC_PRIO_IRQON) flags |= PSR_I | PSR_F;
  }
  return flags;
}

export function* local_daif_save(k: K): Guest<number> {
  const flags = yield* local_daif_save_flags(k);
  yield* local_daif_mask(k);
  return flags;
}

/**
 * local_daif_restore(flags): with I clear, PMR = 0xe0 (and pmr_sync); with I
 * set under pseudo-NMI: if A is clear too, I|F are cleared from the flags and
 * PMR = 0xc0 (masked by PMR only, NMIs and SError deliverable), otherwise
 * PMR = 0xf0. Then DAIF = flags.
 */
export function* local_daif_restore(k: K, flags: number): Guest<void> {
  let f = flags;
  if (!(f & PSR_I)) {
    if (k.cfg.pseudoNmi) {
      yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON);
      yield k.c.dsb(); // pmr_sync
    }
  } else if (k.cfg.pseudoNmi) {
    if (!(f & PSR_A)) {
      f &= ~(PSR_I | PSR_F);
      yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQOFF);
    } else {
      yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON | GIC_PRIO_PSR_I_SET);
    }
  }
  yield k.c.msr(SYS.DAIF, f & DAIF_MASK);
}

/**
 * local_daif_inherit(regs): give a synchronous exception handler the
 * interrupted context's masking: PMR = regs->pmr (pseudo-NMI), DAIF = regs->pstate & DAIF_MASK.
 */
export function* local_daif_inherit(k: K, pstate: number, pmr: number): Guest<void> {
  if (k.cfg.pseudoNmi) yield k.c.msr(SYS.ICC_PMR_EL1, pmr);
  yield k.c.msr(SYS.DAIF, pstate & DAIF_MASK);
}

export { PSR_I, PSR_A, PSR_F, PSR_D, DAIF_MASK };

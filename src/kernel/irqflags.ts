/**
 * arch/arm64/include/asm/irqflags.h, modern form (reference 5.4): without
 * pseudo-NMI, "IRQs off" is DAIF.I|F; with it, PMR = 0xc0 and DAIF untouched,
 * so pseudo-NMIs still pass.
 */
import type { Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PSR_I } from '../../cpus/pstate.js';
import { GIC_PRIO_IRQON, GIC_PRIO_IRQOFF } from './daifflags.js';
import type { K } from './kernel.js';

export function* local_irq_disable(k: K): Guest<void> {
  if (k.cfg.pseudoNmi) yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQOFF);
  else yield k.c.daifSet(3);
}

export function* local_irq_enable(k: K): Guest<void> {
  if (k.cfg.pseudoNmi) {
    yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON);
    yield k.c.dsb(); // pmr_sync
  } else {
    yield k.c.daifClr(3);
  }
}

/** arch_local_save_flags: DAIF, or the PMR value with pseudo-NMI. */
export function* local_save_flags(k: K): Guest<number> {
  return yield k.c.mrs(k.cfg.pseudoNmi ? SYS.ICC_PMR_EL1 : SYS.DAIF);
}

export function irqs_disabled_flags(k: K, flags: number): boolean {
  return k.cfg.pseudoNmi ? flags !== GIC_PRIO_IRQON : (flags & PSR_I) !== 0;
}

export function* local_irq_save(k: K): Guest<number> {
  const flags = yield* local_save_flags(k);
  if (!irqs_disabled_flags(k, flags)) yield* local_irq_disable(k);
  return flags;
}

export function* local_irq_restore(k: K, flags: number): Guest<void> {
  if (k.cfg.pseudoNmi) {
    yield k.c.msr(SYS.ICC_PMR_EL1, flags);
    yield k.c.dsb();
  } else {
    yield k.c.msr(SYS.DAIF, flags);
  }
}

export function* irqs_disabled(k: K): Guest<boolean> {
  return irqs_disabled_flags(k, yield* local_save_flags(k));
}

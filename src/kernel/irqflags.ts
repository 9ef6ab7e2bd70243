/**
 * arch/arm64/include/asm/irqflags.h, modern form (reference 5.4): without
 * pseudo-NMI, "IRQs off" is DAIF.I|F; with it, PMR = 0xc0 and DAIF untouched,
 * so pseudo-NMIs still pass.
 *
 * With the interrupt pipeline (Dovetail, CONFIG_IRQ_PIPELINE) the
 * arch_local_* helpers become virtual: they act on the in-band stage's
 * stall bit (src/kernel/pipeline.ts), while the native_irq_* helpers keep
 * acting on PSTATE (the Dovetail porting guide: "the original arch_local_*
 * helpers should be renamed as native_* helpers, affecting the hardware
 * interrupt state in the CPU").
 */
import type { Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PSR_I } from '../../cpus/pstate.js';
import { GIC_PRIO_IRQON, GIC_PRIO_IRQOFF } from './daifflags.js';
import { inband_irq_disable, inband_irq_enable, inband_irq_save, inband_irq_restore, inband_irqs_disabled_flags, inband_save_flags } from './pipeline.js';
import type { K } from './kernel.js';

// ---- native (hardware) helpers ----

/** One instruction either way: returns its opcode (yield it). */
export function native_irq_disable(k: K): number {
  return k.cfg.pseudoNmi ? k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQOFF) : k.c.daifSet(3);
}

export function* native_irq_enable(k: K): Guest<void> {
  if (k.cfg.pseudoNmi) {
    yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON);
    yield k.c.dsb(); // pmr_sync
  } else {
    yield k.c.daifClr(3);
  }
}

/** native_save_flags: DAIF, or the PMR value with pseudo-NMI. */
export function* native_save_flags(k: K): Guest<number> {
  return yield k.c.mrs(k.cfg.pseudoNmi ? SYS.ICC_PMR_EL1 : SYS.DAIF);
}

export function native_irqs_disabled_flags(k: K, flags: number): boolean {
  return k.cfg.pseudoNmi ? flags !== GIC_PRIO_IRQON : (flags & PSR_I) !== 0;
}

export function* native_irq_save(k: K): Guest<number> {
  const flags = yield* native_save_flags(k);
  if (!native_irqs_disabled_flags(k, flags)) yield native_irq_disable(k);
  return flags;
}

export function* native_irq_restore(k: K, flags: number): Guest<void> {
  if (k.cfg.pseudoNmi) {
    yield k.c.msr(SYS.ICC_PMR_EL1, flags);
    yield k.c.dsb();
  } else {
    yield k.c.msr(SYS.DAIF, flags);
  }
}

// ---- local_irq_*: native, or virtual with the interrupt pipeline ----

export function* local_irq_disable(k: K): Guest<void> {
  if (k.cfg.irqPipeline) yield* inband_irq_disable(k);
  else yield native_irq_disable(k);
}

export function* local_irq_enable(k: K): Guest<void> {
  if (k.cfg.irqPipeline) yield* inband_irq_enable(k);
  else yield* native_irq_enable(k);
}

/** arch_local_save_flags: DAIF, the PMR value with pseudo-NMI, or the stall bit as PSR_I with the pipeline. */
export function* local_save_flags(k: K): Guest<number> {
  if (k.cfg.irqPipeline) return yield* inband_save_flags(k);
  return yield* native_save_flags(k);
}

export function irqs_disabled_flags(k: K, flags: number): boolean {
  if (k.cfg.irqPipeline) return inband_irqs_disabled_flags(flags);
  return native_irqs_disabled_flags(k, flags);
}

export function* local_irq_save(k: K): Guest<number> {
  if (k.cfg.irqPipeline) return yield* inband_irq_save(k);
  return yield* native_irq_save(k);
}

export function* local_irq_restore(k: K, flags: number): Guest<void> {
  if (k.cfg.irqPipeline) yield* inband_irq_restore(k, flags);
  else yield* native_irq_restore(k, flags);
}

export function* irqs_disabled(k: K): Guest<boolean> {
  return irqs_disabled_flags(k, yield* local_save_flags(k));
}

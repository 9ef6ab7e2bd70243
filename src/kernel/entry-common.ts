/**
 * kernel/entry/common.c and include/linux/irq-entry-common.h as the stop
 * paths need them: the preempt-count bookkeeping of interrupt and NMI entry.
 * Paired enter/exit calls pass a typed token (STYLE.md rule 5); exit undoes
 * entry in reverse order.
 */
import type { Guest } from '../../cpus/isa.js';
import { PCPU } from './layout.js';
import { HARDIRQ_OFFSET, NMI_OFFSET } from './irq-gic-v3.js';
import type { K } from './kernel.js';

export type IrqentryState = { readonly kind: 'irq'; readonly exitRcu: boolean } | { readonly kind: 'nmi'; readonly lockdep: boolean };

function* addPreempt(k: K, delta: number): Guest<number> {
  return (yield k.c.ldadd(k.L.pcpu(k.cpu, PCPU.preempt_count), delta)) + delta;
}

export function* preempt_count(k: K): Guest<number> {
  return yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.preempt_count));
}

/** irqentry_enter(regs) from kernel mode: lockdep, RCU (only from idle), tracing. */
export function* irqentry_enter(k: K, regs: number): Guest<IrqentryState> {
  void regs;
  yield k.c.nop();
  return { kind: 'irq', exitRcu: false };
}

/** irqentry_exit(regs, state): may preempt (entry models extend this). */
export function* irqentry_exit(k: K, regs: number, state: IrqentryState): Guest<void> {
  void regs; void state;
  yield k.c.nop();
}

/** irq_enter_rcu: raises the hardirq count, so in_hardirq() holds from here. */
export function* irq_enter_rcu(k: K): Guest<void> {
  yield* addPreempt(k, HARDIRQ_OFFSET);
}
export function* irq_exit_rcu(k: K): Guest<void> {
  yield* addPreempt(k, -HARDIRQ_OFFSET);
}

/** irqentry_nmi_enter: 1. preempt count (first, so in_nmi() is true), 2. lockdep, 3. RCU, 4. tracing. */
export function* irqentry_nmi_enter(k: K, regs: number): Guest<IrqentryState> {
  void regs;
  yield* addPreempt(k, NMI_OFFSET + HARDIRQ_OFFSET);
  return { kind: 'nmi', lockdep: false };
}

/** irqentry_nmi_exit: the exact reverse, preempt count restored last. */
export function* irqentry_nmi_exit(k: K, regs: number, state: IrqentryState): Guest<void> {
  void regs; void state;
  yield* addPreempt(k, -(NMI_OFFSET + HARDIRQ_OFFSET));
}

export function inInterrupt(pc: number): boolean {
  return (pc & (0xff00 | 0xf0000 | 0xf00000)) !== 0;
}

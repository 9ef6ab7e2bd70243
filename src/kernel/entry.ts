/**
 * arch/arm64/kernel/entry.S (vectors, kernel_entry/kernel_exit) and
 * arch/arm64/kernel/entry-common.c (el1_interrupt, __el1_irq, __el1_pnmi,
 * el1h_64_sync_handler, el1_abort) for exceptions taken from EL1h.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { DAIF_PROCCTX_NOIRQ } from '../../cpus/pstate.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import { EC_DABT_CUR, EC_IABT_CUR, EC_BRK64, esrEc } from '../machine/memory.js';
import { GIC_PRIO_IRQON, GIC_PRIO_PSR_I_SET, local_daif_inherit, local_daif_mask } from './daifflags.js';
import { regs_irqs_disabled } from './irq-gic-v3.js';
import { irqentry_enter, irqentry_exit, irq_enter_rcu, irq_exit_rcu, irqentry_nmi_enter, irqentry_nmi_exit } from './entry-common.js';
import { PCPU } from './layout.js';
import type { K } from './kernel.js';

/** kernel_entry 1: push pt_regs; with pseudo-NMI regs->pmr is saved and PMR set to 0xf0. */
function* kernel_entry(k: K): Guest<number> {
  const regs = yield k.c.saveRegs();
  if (k.cfg.pseudoNmi) yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON | GIC_PRIO_PSR_I_SET);
  return regs;
}

/**
 * kernel_exit 1: disable_daif first (an exception taken between restoring
 * ELR_EL1/SPSR_EL1 and the ERET would clobber them), then restore PMR (dsb sy
 * when that unmasks), the registers, ERET.
 */
function* kernel_exit(k: K, regs: number): Guest<void> {
  yield k.c.daifSet(0xf);
  yield k.c.restoreRegs(regs, k.cfg.pseudoNmi);
  if (k.cfg.pseudoNmi) yield k.c.dsb();
  yield k.c.eret();
}

export const el1h_64_sync = guestFn<K>('el1h_64_sync', function* (k) {
  const regs = yield* kernel_entry(k);
  yield k.call('el1h_64_sync_handler', regs);
  yield* kernel_exit(k, regs);
}, { size: 32 });

export const el1h_64_irq = guestFn<K>('el1h_64_irq', function* (k) {
  const regs = yield* kernel_entry(k);
  yield k.call('el1h_64_irq_handler', regs);
  yield* kernel_exit(k, regs);
}, { size: 32 });

export const el1h_64_fiq = guestFn<K>('el1h_64_fiq', function* (k) {
  const regs = yield* kernel_entry(k);
  yield k.call('el1h_64_irq_handler', regs); // el1h_64_fiq_handler -> el1_interrupt(regs, handle_arch_fiq)
  yield* kernel_exit(k, regs);
}, { size: 32 });

export const el1h_64_error = guestFn<K>('el1h_64_error', function* (k) {
  const regs = yield* kernel_entry(k);
  yield k.call('el1h_64_error_handler', regs);
  yield* kernel_exit(k, regs);
}, { size: 32 });

export const VECTORS = [
  { offset: 0x200, fn: el1h_64_sync },
  { offset: 0x280, fn: el1h_64_irq },
  { offset: 0x300, fn: el1h_64_fiq },
  { offset: 0x380, fn: el1h_64_error },
];

/**
 * el1_interrupt(regs, handler): unmask D and A (DAIF_PROCCTX_NOIRQ), then an
 * interrupt taken from an IRQs-off context (pseudo-NMI) is an NMI (__el1_pnmi),
 * anything else an IRQ (__el1_irq).
 */
export const el1h_64_irq_handler = guestFn<K>('el1h_64_irq_handler', function* (k, regs) {
  yield k.c.msr(SYS.DAIF, DAIF_PROCCTX_NOIRQ);
  if (k.cfg.pseudoNmi && (yield* regs_irqs_disabled(k, regs))) yield k.call('__el1_pnmi', regs);
  else yield k.call('__el1_irq', regs);
  return 0;
}, { size: 24 });

export const __el1_irq = guestFn<K>('__el1_irq', function* (k, regs) {
  const state = yield* irqentry_enter(k, regs);
  yield* irq_enter_rcu(k);
  yield k.call('do_interrupt_handler', regs);
  yield* irq_exit_rcu(k);
  yield* irqentry_exit(k, regs, state);
  return 0;
}, { size: 24 });

export const __el1_pnmi = guestFn<K>('__el1_pnmi', function* (k, regs) {
  const state = yield* irqentry_nmi_enter(k, regs);
  yield k.call('do_interrupt_handler', regs);
  yield* irqentry_nmi_exit(k, regs, state);
  return 0;
}, { size: 24 });

/**
 * do_interrupt_handler(regs, handler): set_irq_regs(regs), run the handler on
 * the per-CPU IRQ stack when on the task stack (call_on_irq_stack), restore.
 */
export const do_interrupt_handler = guestFn<K>('do_interrupt_handler', function* (k, regs) {
  const c = k.c;
  const slot = k.L.pcpu(k.cpu, PCPU.irq_regs);
  const old = yield c.ldr(slot);
  yield c.str(slot, regs);
  const sp = c.sp;
  const onIrqStack = sp > k.L.irqStackBase(k.cpu) && sp <= k.L.irqStackTop(k.cpu);
  if (!onIrqStack) {
    yield c.setSp(k.L.irqStackTop(k.cpu));
    yield k.call('gic_handle_irq', regs);
    yield c.setSp(sp);
  } else {
    yield k.call('gic_handle_irq', regs);
  }
  yield c.str(slot, old);
  return 0;
}, { size: 32 });

/** el1h_64_sync_handler: dispatch on ESR_EL1.EC. */
export const el1h_64_sync_handler = guestFn<K>('el1h_64_sync_handler', function* (k, regs) {
  const esr = yield k.c.mrs(SYS.ESR_EL1);
  const ec = esrEc(esr);
  if (ec === EC_DABT_CUR || ec === EC_IABT_CUR) yield k.call('el1_abort', regs, esr);
  else if (ec === EC_BRK64) yield k.call('el1_dbg', regs, esr);
  else yield k.call('el1_undef', regs, esr);
  return 0;
}, { size: 24 });

/**
 * el1_abort(regs, esr): enter_from_kernel_mode, local_daif_inherit (the
 * interrupted context's masks), do_mem_abort, local_daif_mask,
 * exit_to_kernel_mode.
 */
export const el1_abort = guestFn<K>('el1_abort', function* (k, regs, esr) {
  const far = yield k.c.mrs(SYS.FAR_EL1);
  const state = yield* irqentry_enter(k, regs);
  const pstate = yield k.c.ldr(regs + PT_REGS.PSTATE);
  const pmr = yield k.c.ldr(regs + PT_REGS.PMR);
  yield* local_daif_inherit(k, pstate, pmr);
  yield k.call('do_mem_abort', far, esr, regs);
  yield* local_daif_mask(k);
  yield* irqentry_exit(k, regs, state);
  return 0;
}, { size: 32 });

export const el1_undef = guestFn<K>('el1_undef', function* (k, regs, esr) {
  yield k.call('die_str', 1, regs, esr); // "Oops - undefined instruction"
  return 0;
}, { size: 16 });

/** Kernel-mode debug exception (BRK): the entry models extend it; here it is reported and skipped past. */
export const el1_dbg = guestFn<K>('el1_dbg', function* (k, regs, esr) {
  void esr;
  const pc = yield k.c.ldr64(regs + PT_REGS.PC);
  yield k.c.str64(regs + PT_REGS.PC, pc + 4);
  return 0;
}, { size: 16 });

export const el1h_64_error_handler = guestFn<K>('el1h_64_error_handler', function* (k, regs) {
  yield k.call('die_str', 2, regs, 0); // "SError Interrupt"
  return 0;
}, { size: 16 });

export const ENTRY_FUNCTIONS = [
  el1h_64_irq_handler, __el1_irq, __el1_pnmi, do_interrupt_handler, el1h_64_sync_handler, el1_abort, el1_undef, el1_dbg,
  el1h_64_error_handler,
];

/**
 * arch/arm64/kernel/entry.S (vectors, kernel_entry/kernel_exit) and
 * arch/arm64/kernel/entry-common.c (el1_interrupt, __el1_irq, __el1_pnmi,
 * el1h_64_sync_handler, el1_abort, el1_dbg, el1h_64_error_handler) for
 * exceptions taken from EL1h (reference linux-stop-paths.md 6.1).
 *
 * The functions whose code changed between the kernels of reference
 * 6.6-6.8 exist here once per form, under their kernel names; the entry
 * variants (entry-variants.ts) pick the set. The default set, listed in
 * ENTRY_FUNCTIONS, is the final fix (6.8, 'split-exit').
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { DAIF_PROCCTX_NOIRQ, DAIF_ERRCTX } from '../../cpus/pstate.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import { EC_DABT_CUR, EC_IABT_CUR, EC_BRK64, EC_BREAKPT_CUR, EC_WATCHPT_CUR, EC_SOFTSTP_CUR, esrEc } from '../machine/memory.js';
import { GIC_PRIO_IRQON, GIC_PRIO_PSR_I_SET, local_daif_inherit, local_daif_mask, local_daif_restore } from './daifflags.js';
import { native_irq_disable } from './irqflags.js';
import { regs_irqs_disabled } from './irq-gic-v3.js';
import {
  irq_enter_rcu, irq_exit_rcu, irqentry_nmi_enter, irqentry_nmi_exit, irqentry_exit_cond_resched,
  irqentry_exit_to_kernel_mode_preempt, irqentry_exit_to_kernel_mode_after_preempt, arm64_enter_el1_dbg, arm64_exit_el1_dbg,
  decodeState, FROM_IRQ, FROM_SYNC, ENTRY_COMMON_FUNCTIONS,
} from './entry-common.js';
import { pipeline_epilogue_gate, PIPELINE_FUNCTIONS } from './pipeline.js';
import { SCHED_FUNCTIONS } from './sched.js';
import { ENTRY_TEST_FUNCTIONS } from './entry-test.js';
import { EXTABLE_GUEST_FUNCTIONS } from './extable.js';
import { arm64_is_fatal_ras_serror } from './esr.js';
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

// =====================================================================
// Interrupts (6.1)
// =====================================================================

/**
 * el1_interrupt(regs, handle_arch_irq): unmask D and A (DAIF_PROCCTX_NOIRQ),
 * then an interrupt taken from an IRQs-off context (pseudo-NMI) is an NMI
 * (__el1_pnmi), anything else an IRQ (__el1_irq). With the interrupt
 * pipeline (Dovetail) the hardware IRQ goes through the pipeline first, and
 * the regular epilogue runs only if handle_arch_irq_pipelined says so.
 */
export const el1h_64_irq_handler = guestFn<K>('el1h_64_irq_handler', function* (k, regs) {
  yield k.c.msr(SYS.DAIF, DAIF_PROCCTX_NOIRQ);
  if (k.cfg.pseudoNmi && (yield* regs_irqs_disabled(k, regs))) {
    yield k.call('__el1_pnmi', regs, k.addr('gic_handle_irq'));
  } else if (k.cfg.irqPipeline) {
    if ((yield k.call('handle_arch_irq_pipelined', regs)) !== 0) yield k.call('el1_irq_pipelined_epilogue', regs);
  } else {
    yield k.call('__el1_irq', regs, k.addr('gic_handle_irq'));
  }
  return 0;
}, { size: 32 });

function* el1_irq(k: K, regs: number, handler: number, ownPreemption: boolean): Guest<void> {
  const st = yield k.call('irqentry_enter', regs);
  yield* irq_enter_rcu(k);
  yield k.call('do_interrupt_handler', regs, handler);
  yield* irq_exit_rcu(k);
  if (ownPreemption) yield* irqentry_exit_cond_resched(k, FROM_IRQ);
  yield k.call('exit_to_kernel_mode', regs, st, FROM_IRQ);
}

/**
 * __el1_irq(regs, handler) (6.1): enter_from_kernel_mode, irq_enter_rcu,
 * the handler, irq_exit_rcu, exit_to_kernel_mode (which may preempt).
 */
export const __el1_irq = guestFn<K>('__el1_irq', (k, regs, handler) => el1_irq(k, regs, handler, false), { size: 32 });

/**
 * __el1_irq with ARCH_HAS_OWN_IRQ_PREEMPTION (6.7, first fix): it calls
 * irqentry_exit_cond_resched() itself after irq_exit_rcu() and before
 * exit_to_kernel_mode(), with DAIF = DAIF_PROCCTX_NOIRQ, so only IRQ exits
 * preempt.
 */
export const __el1_irq_own_preemption = guestFn<K>('__el1_irq', (k, regs, handler) => el1_irq(k, regs, handler, true), { size: 32 });

/** __el1_pnmi(regs, handler): irqentry_nmi_enter, the handler, irqentry_nmi_exit; an NMI never preempts. */
export const __el1_pnmi = guestFn<K>('__el1_pnmi', function* (k, regs, handler) {
  const state = yield* irqentry_nmi_enter(k, regs);
  yield k.call('do_interrupt_handler', regs, handler);
  yield* irqentry_nmi_exit(k, regs, state);
  return 0;
}, { size: 24 });

/**
 * do_interrupt_handler(regs, handler): set_irq_regs(regs), run the handler on
 * the per-CPU IRQ stack when on the task stack (call_on_irq_stack), restore.
 */
export const do_interrupt_handler = guestFn<K>('do_interrupt_handler', function* (k, regs, handler) {
  const c = k.c;
  const fn = c.image.entryAt(handler);
  if (!fn) throw c.fault(`interrupt handler 0x${handler.toString(16)} is not a function`, 'guest-code');
  const slot = k.L.pcpu(k.cpu, PCPU.irq_regs);
  const old = yield c.ldr(slot);
  yield c.str(slot, regs);
  const sp = c.sp;
  const onIrqStack = sp > k.L.irqStackBase(k.cpu) && sp <= k.L.irqStackTop(k.cpu);
  if (!onIrqStack) {
    yield c.setSp(k.L.irqStackTop(k.cpu));
    yield c.bl(fn, regs);
    yield c.setSp(sp);
  } else {
    yield c.bl(fn, regs);
  }
  yield c.str(slot, old);
  return 0;
}, { size: 32 });

// =====================================================================
// Exit to kernel mode (6.1, 6.6-6.8)
// =====================================================================

/** mte_check_tfsr_exit: no MTE in the model (a no-op instruction keeps its place; yield it). */
function mte_check_tfsr_exit(k: K): number {
  return k.c.nop();
}

/**
 * exit_to_kernel_mode(regs, state) as arm64 had it with generic IRQ entry
 * (6.1, 6.6, 6.7): mte_check_tfsr_exit, then irqentry_exit(), which in the
 * generic-preempt kernel may preempt with whatever DAIF the caller left.
 * x2 = FROM_IRQ / FROM_SYNC (model-only).
 */
export const exit_to_kernel_mode_generic = guestFn<K>('exit_to_kernel_mode', function* (k, regs, st, from) {
  if (!(yield* pipeline_epilogue_gate(k, decodeState(st), from))) return 0;
  yield mte_check_tfsr_exit(k);
  yield k.call('irqentry_exit', regs, st, from);
  return 0;
}, { size: 24 });

/**
 * arm64_exit_to_kernel_mode(regs, state) (6.8, final fix), in order:
 *  1. local_irq_disable(): only I and F (or PMR), D and A as inherited;
 *  2. irqentry_exit_to_kernel_mode_preempt();
 *  3. local_daif_mask();
 *  4. mte_check_tfsr_exit();
 *  5. irqentry_exit_to_kernel_mode_after_preempt().
 * So preemption happens "when only interrupts are masked". (With the
 * interrupt pipeline, step 1 is the hardware mask: the in-band stage is
 * already stalled by irqentry_enter.)
 */
export const exit_to_kernel_mode = guestFn<K>('exit_to_kernel_mode', function* (k, regs, st, from) {
  const state = decodeState(st);
  if (!(yield* pipeline_epilogue_gate(k, state, from))) return 0;
  yield native_irq_disable(k);
  yield* irqentry_exit_to_kernel_mode_preempt(k, regs, state, from);
  yield* local_daif_mask(k);
  yield mte_check_tfsr_exit(k);
  yield* irqentry_exit_to_kernel_mode_after_preempt(k, regs, state);
  return 0;
}, { size: 48 });

// =====================================================================
// Synchronous exceptions (6.1)
// =====================================================================

/** el1h_64_sync_handler: dispatch on ESR_EL1.EC. */
export const el1h_64_sync_handler = guestFn<K>('el1h_64_sync_handler', function* (k, regs) {
  const esr = yield k.c.mrs(SYS.ESR_EL1);
  const ec = esrEc(esr);
  if (ec === EC_DABT_CUR || ec === EC_IABT_CUR) yield k.call('el1_abort', regs, esr);
  else if (ec === EC_BRK64 || ec === EC_BREAKPT_CUR || ec === EC_WATCHPT_CUR || ec === EC_SOFTSTP_CUR) yield k.call('el1_dbg', regs, esr);
  else yield k.call('el1_undef', regs, esr);
  return 0;
}, { size: 24 });

/** The common part of el1_abort: enter_from_kernel_mode, local_daif_inherit, do_mem_abort; returns the state token. */
function* el1_abort_handle(k: K, regs: number, esr: number): Guest<number> {
  const c = k.c;
  const far = yield c.mrs(SYS.FAR_EL1);
  const st = yield k.call('irqentry_enter', regs);
  const pstate = yield c.ldr(regs + PT_REGS.PSTATE);
  const pmr = yield c.ldr(regs + PT_REGS.PMR);
  yield* local_daif_inherit(k, pstate, pmr);
  yield k.call('do_mem_abort', far, esr, regs);
  return st;
}

/**
 * el1_abort(regs, esr) before the final fix (6.1, 6.6, 6.7):
 * enter_from_kernel_mode, local_daif_inherit (the interrupted context's
 * masks, usually DAIF = 0), do_mem_abort, local_daif_mask() (DAIF = 0b1111,
 * PMR 0xf0 with pseudo-NMI), then exit_to_kernel_mode.
 */
export const el1_abort_mask_first = guestFn<K>('el1_abort', function* (k, regs, esr) {
  const st = yield* el1_abort_handle(k, regs, esr);
  yield* local_daif_mask(k);
  yield k.call('exit_to_kernel_mode', regs, st, FROM_SYNC);
  return 0;
}, { size: 32 });

/** el1_abort with the final fix (6.8): the exit helper does the masking, after the preemption point. */
export const el1_abort = guestFn<K>('el1_abort', function* (k, regs, esr) {
  const st = yield* el1_abort_handle(k, regs, esr);
  yield k.call('exit_to_kernel_mode', regs, st, FROM_SYNC);
  return 0;
}, { size: 32 });

export const el1_undef = guestFn<K>('el1_undef', function* (k, regs, esr) {
  yield k.call('die_str', 1, regs, esr); // "Oops - undefined instruction"
  return 0;
}, { size: 16 });

/**
 * el1_dbg(regs, esr) (6.1): arm64_enter_el1_dbg, do_debug_exception,
 * arm64_exit_el1_dbg. NMI-like, no irqentry_enter: it never preempts.
 * A BRK (call_break_hook: a BUG/WARN-style handler) resumes after the
 * instruction; a hardware breakpoint or watchpoint (the perf
 * hw_breakpoint handler counts the hit) resumes at it, the core stepping
 * over it once as Linux does with single-step.
 */
export const el1_dbg = guestFn<K>('el1_dbg', function* (k, regs, esr) {
  const c = k.c;
  const restore = yield* arm64_enter_el1_dbg(k);
  if (esrEc(esr) === EC_BRK64) {
    const pc = yield c.ldr64(regs + PT_REGS.PC);
    yield c.str64(regs + PT_REGS.PC, pc + 4);
  } else {
    yield c.ldadd(k.L.pcpu(k.cpu, PCPU.hw_breakpoint_hits), 1);
  }
  yield* arm64_exit_el1_dbg(k, restore);
  return 0;
}, { size: 24 });

/**
 * el1h_64_error_handler (6.1): local_daif_restore(DAIF_ERRCTX) (D clear;
 * A, I, F set), irqentry_nmi_enter, do_serror, irqentry_nmi_exit. do_serror
 * returns for a RAS error the CPU can make progress past; otherwise it is
 * fatal (arm64_serror_panic; the model dies with "SError Interrupt").
 */
export const el1h_64_error_handler = guestFn<K>('el1h_64_error_handler', function* (k, regs) {
  const esr = yield k.c.mrs(SYS.ESR_EL1);
  yield* local_daif_restore(k, DAIF_ERRCTX);
  const state = yield* irqentry_nmi_enter(k, regs);
  if (arm64_is_fatal_ras_serror(esr)) yield k.call('die_str', 2, regs, esr); // do_serror -> arm64_serror_panic
  else yield k.c.ldadd(k.L.pcpu(k.cpu, PCPU.serrors_handled), 1);
  yield* irqentry_nmi_exit(k, regs, state);
  return 0;
}, { size: 24 });

/** The default (final-fix) entry functions; entry-variants.ts replaces some by name. */
export const ENTRY_FUNCTIONS = [
  el1h_64_irq_handler, __el1_irq, __el1_pnmi, do_interrupt_handler, el1h_64_sync_handler, el1_abort, el1_undef, el1_dbg,
  el1h_64_error_handler, exit_to_kernel_mode, ...ENTRY_COMMON_FUNCTIONS, ...PIPELINE_FUNCTIONS, ...SCHED_FUNCTIONS,
  ...ENTRY_TEST_FUNCTIONS, ...EXTABLE_GUEST_FUNCTIONS,
];

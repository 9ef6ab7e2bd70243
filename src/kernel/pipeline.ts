/**
 * The interrupt pipeline (Dovetail, CONFIG_IRQ_PIPELINE): kernel/irq/pipeline.c,
 * include/linux/irqstage.h and the arm64 port's irq_pipeline.h, as far as
 * the stop and entry paths meet them.
 *
 * Two stages share each CPU. The out-of-band (oob) stage runs the handlers
 * of interrupts requested with IRQF_OOB at once, whatever in-band code is
 * doing. The in-band stage is the ordinary kernel: local_irq_disable() only
 * sets its stall bit (the virtual interrupt disable flag); hardware IRQs
 * stay enabled (PSTATE.I clear) and are still taken. An in-band IRQ taken
 * while the stage is stalled is logged and replayed when the stage is
 * unstalled (local_irq_enable / restore), an oob IRQ is handled immediately.
 *
 * handle_arch_irq_pipelined() feeds the hardware IRQ into the pipeline and
 * returns whether the regular epilogue (the in-band interrupt exit:
 * irqentry state and preemption) may run: only over in-band code with the
 * in-band stage unstalled (the Dovetail porting guide, "Interrupt exit":
 * the epilogue is valid only if the kernel was accepting interrupts, the
 * virtual disable flag clear, and running in-band code). Faults from oob
 * code skip the epilogue too (irqentry_enter returns stage 'oob'; "Fault
 * exit").
 *
 * In this model the oob interrupts are the stop IPIs (IPI_CPU_STOP,
 * IPI_CPU_STOP_NMI: a CPU whose in-band stage is stalled by
 * local_irq_disable is still stopped by rung 1) and, on entry-test CPUs, the
 * per-CPU timer, which a real-time core would own (the oob timer handler
 * probes a user address and faults, so faults from oob code happen).
 * Pseudo-NMI is not combined with the pipeline (the scenario schema rejects
 * it): the merged and native helpers below assume PSTATE.I masking.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PSR_I } from '../../cpus/pstate.js';
import { GICR_BASE, GICR_STRIDE, GICR_SGI_OFFSET } from '../machine/memory.js';
import { PCPU } from './layout.js';
import {
  irq_enter_rcu, irq_exit_rcu, irqentry_exit_cond_resched, pipeline_rcu_enter, pipeline_rcu_exit, trace_hardirqs_on,
  trace_hardirqs_off_finish, PIPE_STALL, PIPE_UNSTALL, FROM_IRQ, FROM_SYNC, type IrqentryState,
} from './entry-common.js';
import { native_irq_disable, native_irq_enable, native_irq_save, native_irq_restore } from './irqflags.js';
import { IPI, ARCH_TIMER_VIRT_PPI } from './irq-gic-v3.js';
import { OBS, obsAdd, obsGet64, obsSet64, obsFirst64, obsSet, peek } from './observe.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';

/** T.PIPELINE a values (b: the INTID, or as noted). */
export const PIPE = {
  STALL: PIPE_STALL, // b = 0
  UNSTALL: PIPE_UNSTALL,
  LOG: 3, // an in-band IRQ logged (irq_post_inband)
  OOB_BEGIN: 4, // an oob handler starts (the current stage is oob)
  OOB_END: 5,
  INBAND: 6, // a logged in-band IRQ's handler starts (replay)
  EPILOGUE: 7, // the regular epilogue runs; b = kind (0 IRQ, 1 fault) | oob stage << 1 | stalled << 2, as found
  FAST_EXIT: 8, // the epilogue is skipped; b = kind
} as const;

export const PIPE_NAMES: Readonly<Record<number, string>> = {
  1: 'stall', 2: 'unstall', 3: 'log', 4: 'oob-begin', 5: 'oob-end', 6: 'inband-handler', 7: 'epilogue', 8: 'fast-exit',
};

// =====================================================================
// Merged interrupt states (arch/arm64/include/asm/irq_pipeline.h)
// =====================================================================

/** IRQMASK_I_POS: the CPU's interrupt bit (PSR_I); IRQMASK_i_POS: the free bit holding the other state in a combo word. */
export const IRQMASK_I_POS = 7;
export const IRQMASK_i_POS = 31;
export const IRQMASK_i_BIT = 2 ** IRQMASK_i_POS;

/** arch_irqs_virtual_to_native_flags(stalled): the stall bit at the CPU's interrupt bit position, all else clear. */
export function arch_irqs_virtual_to_native_flags(stalled: boolean): number {
  return stalled ? PSR_I : 0;
}

/** arch_irqs_native_to_virtual_flags(flags): the hardware I bit of `flags` moved to the free bit 31, all else clear. */
export function arch_irqs_native_to_virtual_flags(flags: number): number {
  return (flags & PSR_I) !== 0 ? IRQMASK_i_BIT : 0;
}

/**
 * A combined state word (local_irq_save_full and friends): the virtual
 * state where arch_local_save_flags() reports it (bit 7), the hardware
 * state in the free bit 31.
 */
export function irqs_merge_flags(hardFlags: number, stalled: boolean): number {
  return arch_irqs_virtual_to_native_flags(stalled) + arch_irqs_native_to_virtual_flags(hardFlags);
}

/** The inverse of irqs_merge_flags: the hardware flags (I only) and the stall state. */
export function irqs_split_flags(combo: number): { hardFlags: number; stalled: boolean } {
  return { hardFlags: combo >= IRQMASK_i_BIT ? PSR_I : 0, stalled: (combo & PSR_I) !== 0 };
}

// =====================================================================
// The in-band stage's virtual interrupt state
// =====================================================================

function stallAddr(k: K): number {
  return k.L.pcpu(k.cpu, PCPU.inband_stall);
}

/** inband_irq_disable (local_irq_disable): stall the in-band stage. */
export function* inband_irq_disable(k: K): Guest<void> {
  k.c.trace?.emit(T.PIPELINE, PIPE.STALL, 0);
  yield k.c.str(stallAddr(k), 1);
}

/**
 * inband_irq_enable (local_irq_enable): with hard IRQs off, replay what was
 * logged while stalled (sync_current_irq_stage, which unstalls at its end),
 * else just unstall.
 */
export function* inband_irq_enable(k: K): Guest<void> {
  const flags = yield* native_irq_save(k);
  if ((yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.inband_log))) !== 0) {
    yield k.call('sync_current_irq_stage');
  } else {
    k.c.trace?.emit(T.PIPELINE, PIPE.UNSTALL, 0);
    yield k.c.str(stallAddr(k), 0);
  }
  yield* native_irq_restore(k, flags);
}

/** arch_local_irq_save: test_and_stall; returns the old state as flags (PSR_I when it was stalled). */
export function* inband_irq_save(k: K): Guest<number> {
  k.c.trace?.emit(T.PIPELINE, PIPE.STALL, 0);
  return arch_irqs_virtual_to_native_flags((yield k.c.swp(stallAddr(k), 1)) !== 0);
}

/** arch_local_irq_restore: unstall (with replay) only if the flags say it was unstalled. */
export function* inband_irq_restore(k: K, flags: number): Guest<void> {
  if (!inband_irqs_disabled_flags(flags)) yield* inband_irq_enable(k);
  else yield k.c.nop();
}

export function* inband_save_flags(k: K): Guest<number> {
  return arch_irqs_virtual_to_native_flags((yield k.c.ldr(stallAddr(k))) !== 0);
}

export function inband_irqs_disabled_flags(flags: number): boolean {
  return (flags & PSR_I) !== 0;
}

// =====================================================================
// Feeding hardware IRQs into the pipeline
// =====================================================================

/** Host-side acknowledge times for the latency probes (per CPU). */
const ackTimes = new WeakMap<K, Float64Array>();

function ackTime(k: K): Float64Array {
  let a = ackTimes.get(k);
  if (!a) ackTimes.set(k, (a = new Float64Array(32)));
  return a;
}

function latency(k: K, oob: boolean, irqnr: number): void {
  if (irqnr >= 32) return;
  const acked = ackTime(k)[irqnr]!;
  if (acked <= 0) return;
  ackTime(k)[irqnr] = 0;
  const d = Math.max(0, k.c.clock.now() - acked);
  obsAdd(k, oob ? OBS.lat_oob_n : OBS.lat_inband_n);
  const sumOff = oob ? OBS.lat_oob_sum : OBS.lat_inband_sum;
  obsSet64(k, sumOff, obsGet64(k, sumOff) + d);
  const maxOff = oob ? OBS.lat_oob_max : OBS.lat_inband_max;
  if (d > obsGet64(k, maxOff)) obsSet64(k, maxOff, d);
}

/** irq_settings_is_oob(): the stop IPIs; the per-CPU timer on entry-test CPUs (a real-time core's timer). */
export function irq_is_oob(k: K, irqnr: number): boolean {
  if (irqnr === IPI.CPU_STOP || irqnr === IPI.CPU_STOP_NMI) return true;
  return irqnr === ARCH_TIMER_VIRT_PPI && k.rt.plan(k.cpu).entryTest !== undefined;
}

function sgiFrame(cpu: number): number {
  return GICR_BASE + cpu * GICR_STRIDE + GICR_SGI_OFFSET;
}

/**
 * generic_pipeline_irq(irq, regs) (kernel/irq/pipeline.c), called by the
 * GIC driver with hard IRQs off after acknowledging the IRQ: an oob IRQ's
 * handler runs now on the oob stage (handle_oob_irq); an in-band one is
 * logged (irq_post_inband). A level-triggered PPI stays masked at the
 * redistributor until its in-band handler has run (the flow handler's
 * mask-and-ack), since the GIC driver EOIs it as soon as this returns.
 */
export const generic_pipeline_irq = guestFn<K>('generic_pipeline_irq', function* (k, irqnr, regs) {
  const c = k.c;
  if (irqnr < 32) ackTime(k)[irqnr] = c.clock.now();
  if (irq_is_oob(k, irqnr)) {
    const oob = k.L.pcpu(k.cpu, PCPU.oob_stage);
    const prev = yield c.swp(oob, 1); // switch_oob
    c.trace?.emit(T.PIPELINE, PIPE.OOB_BEGIN, irqnr);
    latency(k, true, irqnr);
    if (irqnr === ARCH_TIMER_VIRT_PPI) yield k.call('oob_timer_handler', regs);
    else yield k.call('generic_handle_domain_irq', irqnr, regs);
    c.trace?.emit(T.PIPELINE, PIPE.OOB_END, irqnr);
    yield c.str(oob, prev);
    return 0;
  }
  if (irqnr >= 16 && irqnr < 32) yield c.str(sgiFrame(k.cpu) + 0x180, 1 << irqnr); // GICR_ICENABLER0: mask the PPI
  c.trace?.emit(T.PIPELINE, PIPE.LOG, irqnr);
  yield c.ldset(k.L.pcpu(k.cpu, PCPU.inband_log), irqnr < 32 ? 1 << irqnr : 0);
  return 0;
}, { size: 32 });

/**
 * sync_current_irq_stage() for the in-band stage, hard IRQs off: stall the
 * stage (trace_hardirqs_off), then for each logged IRQ: hard IRQs on, the
 * in-band handler inside irq_enter/irq_exit (do_inband_irq ->
 * arch_do_IRQ_pipelined), hard IRQs off; finally trace_hardirqs_on and
 * unstall.
 */
export const sync_current_irq_stage = guestFn<K>('sync_current_irq_stage', function* (k) {
  const c = k.c;
  const log = k.L.pcpu(k.cpu, PCPU.inband_log);
  k.c.trace?.emit(T.PIPELINE, PIPE.STALL, 0);
  yield c.str(stallAddr(k), 1);
  yield trace_hardirqs_off_finish(k);
  const top = c.label();
  for (;;) {
    const pending = yield c.ldr(log);
    if (pending === 0) break;
    const irqnr = 31 - Math.clz32(pending & -pending);
    yield c.ldclr(log, 1 << irqnr);
    c.trace?.emit(T.PIPELINE, PIPE.INBAND, irqnr);
    latency(k, false, irqnr);
    yield* native_irq_enable(k);
    yield* irq_enter_rcu(k);
    yield k.call('generic_handle_domain_irq', irqnr, yield c.ldr(k.L.pcpu(k.cpu, PCPU.irq_regs)));
    yield* irq_exit_rcu(k);
    if (irqnr >= 16) yield c.str(sgiFrame(k.cpu) + 0x100, 1 << irqnr); // GICR_ISENABLER0: unmask the PPI
    yield native_irq_disable(k);
    yield c.b(top);
  }
  yield* trace_hardirqs_on(k);
  k.c.trace?.emit(T.PIPELINE, PIPE.UNSTALL, 0);
  yield c.str(stallAddr(k), 0);
  return 0;
}, { size: 64 });

/**
 * handle_arch_irq_pipelined(regs) (handle_irq_pipelined): the pipeline
 * entry is NMI-like for RCU (rcu_nmi_enter), the GIC handler feeds the
 * pipeline, then synchronize_pipeline_on_irq() replays the in-band log if
 * in-band code was interrupted with the stage unstalled. Returns 1 if the
 * epilogue may run: running_inband() && !irqs_disabled().
 */
export const handle_arch_irq_pipelined = guestFn<K>('handle_arch_irq_pipelined', function* (k, regs) {
  const c = k.c;
  yield* pipeline_rcu_enter(k);
  yield k.call('do_interrupt_handler', regs, k.addr('gic_handle_irq'));
  yield* pipeline_rcu_exit(k);
  const oob = yield c.ldr(k.L.pcpu(k.cpu, PCPU.oob_stage));
  const stalled = yield c.ldr(stallAddr(k));
  if (oob !== 0 || stalled !== 0) return 0;
  if ((yield c.ldr(k.L.pcpu(k.cpu, PCPU.inband_log))) !== 0) yield k.call('sync_current_irq_stage');
  return 1;
}, { size: 32 });

function* el1_irq_epilogue(k: K, regs: number, ownPreemption: boolean): Guest<void> {
  const st = yield k.call('irqentry_enter', regs);
  if (ownPreemption) yield* irqentry_exit_cond_resched(k, FROM_IRQ);
  yield k.call('exit_to_kernel_mode', regs, st, FROM_IRQ);
}

/**
 * The regular IRQ epilogue in pipeline mode: the in-band interrupt exit
 * (irqentry state, preemption) for an IRQ the pipeline has already handled.
 */
export const el1_irq_pipelined_epilogue = guestFn<K>('el1_irq_pipelined_epilogue', function* (k, regs) {
  yield* el1_irq_epilogue(k, regs, false);
  return 0;
}, { size: 24 });

/** The same with ARCH_HAS_OWN_IRQ_PREEMPTION (reference 6.7): arm64 preempts here itself. */
export const el1_irq_pipelined_epilogue_own_preemption = guestFn<K>('el1_irq_pipelined_epilogue', function* (k, regs) {
  yield* el1_irq_epilogue(k, regs, true);
  return 0;
}, { size: 24 });

/**
 * The exit helpers' gate: over oob code the epilogue is skipped (fast exit);
 * otherwise a probe checks, from the stage state it finds, that an IRQ
 * epilogue runs only over unstalled in-band code and a fault epilogue only
 * over in-band code. Returns whether the epilogue runs. Without the
 * pipeline it always does.
 */
export function* pipeline_epilogue_gate(k: K, state: IrqentryState, from: number): Guest<boolean> {
  if (!k.cfg.irqPipeline) return true;
  if (state.kind === 'irq' && state.stage === 'oob') {
    k.c.trace?.emit(T.PIPELINE, PIPE.FAST_EXIT, from);
    obsAdd(k, OBS.fast_exit);
    yield k.c.nop();
    return false;
  }
  const oob = peek(k, k.L.pcpu(k.cpu, PCPU.oob_stage)) !== 0 ? 1 : 0;
  const stalledBefore = state.kind === 'irq' && state.stage === 'inband-stalled' ? 1 : 0;
  const what = from | (oob << 1) | (stalledBefore << 2);
  k.c.trace?.emit(T.PIPELINE, PIPE.EPILOGUE, what);
  obsAdd(k, from === FROM_SYNC ? OBS.epi_sync : OBS.epi_irq);
  if (oob || (from === FROM_IRQ && stalledBefore)) {
    if (obsAdd(k, OBS.epi_bad) === 1) {
      obsFirst64(k, OBS.epi_bad_time, k.c.clock.now());
      obsSet(k, OBS.epi_bad_what, oob | (stalledBefore << 1) | (from << 2));
    }
  }
  return true;
}

// =====================================================================
// Idle, and the out-of-band timer
// =====================================================================

/**
 * cpu_do_idle with the pipeline: entered with the in-band stage stalled;
 * hard IRQs off around the check for logged IRQs and the WFI (which wakes
 * on a masked IRQ), then on again so that the pending IRQ is taken: logged
 * if in-band, handled if oob. local_irq_enable() in default_idle_call then
 * replays the log.
 */
export const cpu_do_idle_pipelined = guestFn<K>('cpu_do_idle', function* (k) {
  const c = k.c;
  yield native_irq_disable(k);
  if ((yield c.ldr(k.L.pcpu(k.cpu, PCPU.inband_log))) === 0) {
    yield c.dsb();
    yield c.wfi();
  }
  yield* native_irq_enable(k);
  return 0;
}, { size: 24 });

/** Period of the entry-test CPUs' out-of-band timer. */
export const OOB_TIMER_NS = 25_000;
/** A user address the oob timer handler probes (unmapped: it faults, and the fixup recovers). */
export const OOB_PROBE_ADDR = 0x1000_0040;

export function* oob_timer_start(k: K): Guest<void> {
  yield k.c.msr(SYS.CNTV_CVAL_EL0, (yield k.c.now()) + OOB_TIMER_NS);
  yield k.c.msr(SYS.CNTV_CTL_EL0, 1);
}

/**
 * The oob timer's handler (a real-time core's timer): re-arm, then probe a
 * user address with copy_from_user_nofault, which faults: a fault from oob
 * code, whose exit skips the epilogue.
 */
export const oob_timer_handler = guestFn<K>('oob_timer_handler', function* (k) {
  const c = k.c;
  const cval = yield c.mrs(SYS.CNTV_CVAL_EL0);
  const now = yield c.now();
  let next = cval + OOB_TIMER_NS;
  if (next <= now) next = now + OOB_TIMER_NS;
  yield c.msr(SYS.CNTV_CVAL_EL0, next);
  yield k.call('__arch_copy_from_user', OOB_PROBE_ADDR);
  return 0;
}, { size: 24 });

/** The epilogue handler of el1_interrupt in pipeline mode is the epilogue itself (see el1h_64_irq_handler). */
export const PIPELINE_FUNCTIONS = [
  generic_pipeline_irq, sync_current_irq_stage, handle_arch_irq_pipelined, el1_irq_pipelined_epilogue, oob_timer_handler,
];

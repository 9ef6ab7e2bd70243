/**
 * kernel/entry/common.c, include/linux/irq-entry-common.h,
 * include/linux/hardirq.h (nmi_enter) and kernel/softirq.c
 * (irq_enter_rcu/irq_exit_rcu): the entry and exit bookkeeping of
 * interrupts, NMIs and kernel-mode exceptions (reference
 * linux-stop-paths.md 6.2-6.5), with each piece of state the kernel keeps
 * as explicit per-CPU guest state (layout.ts PCPU):
 *
 *   preempt count   PCPU.preempt_count (HARDIRQ_OFFSET, NMI_OFFSET)
 *   lockdep         PCPU.lockdep_hardirqs_enabled, lockdep_hardirq_context
 *   RCU             PCPU.ct_nesting (context tracking: watching while >= 0)
 *   tracing         PCPU.tracing_irqs_off, ftrace_nmi
 *   time accounting PCPU.irqtime_*
 *
 * Every change is one instruction, and the same instruction emits a T.ENTRY
 * record (STEP, value) so that the checkers can verify the order
 * (src/check/entry-checkers.ts, the seed-004 rules of reference 6.4). Each
 * entry or exit routine brackets its steps with PATH_BEGIN/PATH_END records.
 * instrumentation_begin()/end() are compiler annotations in the kernel: here
 * they are records only, no instruction.
 *
 * Paired enter/exit calls pass a typed token (STYLE.md rule 5):
 * IrqentryState, a discriminated union; irqentry_enter returns it encoded in
 * x0 as the kernel returns irqentry_state_t in a register.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PCPU } from './layout.js';
import { regs_irqs_disabled } from './irq-gic-v3.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';

/** include/linux/preempt.h (reference 6.5). */
export const PREEMPT_MASK = 0x000000ff;
export const SOFTIRQ_MASK = 0x0000ff00;
export const HARDIRQ_MASK = 0x000f0000;
export const NMI_MASK = 0x00f00000;
export const HARDIRQ_OFFSET = 1 << 16;
export const NMI_OFFSET = 1 << 20;

// =====================================================================
// The ordering log: T.ENTRY records
// =====================================================================

/** What a T.ENTRY record says happened (a = step, b = value). */
export const STEP = {
  PATH_BEGIN: 1, // b = PATH
  PATH_END: 2, // b = PATH
  PREEMPT: 3, // b = delta added to preempt_count (other steps: the delta or value written; RCU steps: the resulting nesting)
  LOCKDEP_HARDIRQS_OFF: 4,
  LOCKDEP_HARDIRQS_ON_PREPARE: 5,
  LOCKDEP_HARDIRQS_ON: 6,
  LOCKDEP_HARDIRQ_ENTER: 7,
  LOCKDEP_HARDIRQ_EXIT: 8,
  CT_IRQ_ENTER: 9,
  CT_IRQ_EXIT: 10,
  CT_NMI_ENTER: 11,
  CT_NMI_EXIT: 12,
  CT_IDLE_ENTER: 13,
  CT_IDLE_EXIT: 14,
  RCU_IRQ_ENTER_CHECK_TICK: 15,
  TRACE_HARDIRQS_OFF_FINISH: 16,
  TRACE_HARDIRQS_ON_PREPARE: 17,
  TRACE_HARDIRQS_ON: 18,
  FTRACE_NMI_ENTER: 19,
  FTRACE_NMI_EXIT: 20,
  INSTR_BEGIN: 21,
  INSTR_END: 22,
  ACCOUNT_HARDIRQ_ENTER: 23,
  ACCOUNT_HARDIRQ_EXIT: 24,
} as const;

export type StepClass = 'path' | 'preempt' | 'lockdep' | 'rcu' | 'tracing' | 'time' | 'instr';

export interface StepInfo {
  readonly name: string;
  readonly cls: StepClass;
  /** Changes the class's state (ordering is judged on changes; a check such as lockdep_hardirqs_on_prepare does not count). */
  readonly changes: boolean;
  /** Instrumentable code: must run while RCU watches (reference 6.4, noinstr rules). */
  readonly instr: boolean;
  /** For RCU steps: the change to context tracking's nesting. */
  readonly rcu?: number;
}

export const STEP_INFO: Readonly<Record<number, StepInfo>> = {
  [STEP.PATH_BEGIN]: { name: 'begin', cls: 'path', changes: false, instr: false },
  [STEP.PATH_END]: { name: 'end', cls: 'path', changes: false, instr: false },
  [STEP.PREEMPT]: { name: 'preempt_count_add', cls: 'preempt', changes: true, instr: false },
  [STEP.LOCKDEP_HARDIRQS_OFF]: { name: 'lockdep_hardirqs_off', cls: 'lockdep', changes: true, instr: false },
  [STEP.LOCKDEP_HARDIRQS_ON_PREPARE]: { name: 'lockdep_hardirqs_on_prepare', cls: 'lockdep', changes: false, instr: true },
  [STEP.LOCKDEP_HARDIRQS_ON]: { name: 'lockdep_hardirqs_on', cls: 'lockdep', changes: true, instr: false },
  [STEP.LOCKDEP_HARDIRQ_ENTER]: { name: 'lockdep_hardirq_enter', cls: 'lockdep', changes: true, instr: false },
  [STEP.LOCKDEP_HARDIRQ_EXIT]: { name: 'lockdep_hardirq_exit', cls: 'lockdep', changes: true, instr: false },
  [STEP.CT_IRQ_ENTER]: { name: 'ct_irq_enter', cls: 'rcu', changes: true, instr: false, rcu: 1 },
  [STEP.CT_IRQ_EXIT]: { name: 'ct_irq_exit', cls: 'rcu', changes: true, instr: false, rcu: -1 },
  [STEP.CT_NMI_ENTER]: { name: 'ct_nmi_enter', cls: 'rcu', changes: true, instr: false, rcu: 1 },
  [STEP.CT_NMI_EXIT]: { name: 'ct_nmi_exit', cls: 'rcu', changes: true, instr: false, rcu: -1 },
  [STEP.CT_IDLE_ENTER]: { name: 'ct_cpuidle_enter', cls: 'rcu', changes: true, instr: false, rcu: -1 },
  [STEP.CT_IDLE_EXIT]: { name: 'ct_cpuidle_exit', cls: 'rcu', changes: true, instr: false, rcu: 1 },
  [STEP.RCU_IRQ_ENTER_CHECK_TICK]: { name: 'rcu_irq_enter_check_tick', cls: 'rcu', changes: false, instr: true },
  [STEP.TRACE_HARDIRQS_OFF_FINISH]: { name: 'trace_hardirqs_off_finish', cls: 'tracing', changes: true, instr: true },
  [STEP.TRACE_HARDIRQS_ON_PREPARE]: { name: 'trace_hardirqs_on_prepare', cls: 'tracing', changes: true, instr: true },
  [STEP.TRACE_HARDIRQS_ON]: { name: 'trace_hardirqs_on', cls: 'tracing', changes: true, instr: true },
  [STEP.FTRACE_NMI_ENTER]: { name: 'ftrace_nmi_enter', cls: 'tracing', changes: true, instr: true },
  [STEP.FTRACE_NMI_EXIT]: { name: 'ftrace_nmi_exit', cls: 'tracing', changes: true, instr: true },
  [STEP.INSTR_BEGIN]: { name: 'instrumentation_begin', cls: 'instr', changes: false, instr: true },
  [STEP.INSTR_END]: { name: 'instrumentation_end', cls: 'instr', changes: false, instr: false },
  [STEP.ACCOUNT_HARDIRQ_ENTER]: { name: 'account_hardirq_enter', cls: 'time', changes: true, instr: true },
  [STEP.ACCOUNT_HARDIRQ_EXIT]: { name: 'account_hardirq_exit', cls: 'time', changes: true, instr: true },
};

/** The entry and exit routines whose steps the ordering rules judge (PATH_BEGIN/PATH_END b). */
export const PATH = {
  IRQ_ENTER: 1, // irqentry_enter (kernel mode)
  IRQ_EXIT: 2, // irqentry_exit's state part (irqentry_exit_to_kernel_mode_after_preempt)
  NMI_ENTER: 3, // irqentry_nmi_enter, nmi_enter
  NMI_EXIT: 4, // irqentry_nmi_exit, nmi_exit
  DBG_ENTER: 5, // arm64_enter_el1_dbg
  DBG_EXIT: 6, // arm64_exit_el1_dbg
  IRQ_ENTER_RCU: 7, // irq_enter_rcu
  IRQ_EXIT_RCU: 8, // irq_exit_rcu
  PIPE_ENTER: 9, // handle_irq_pipelined_prepare (Dovetail)
  PIPE_EXIT: 10, // handle_irq_pipelined_finish
} as const;

export const PATH_NAMES: Readonly<Record<number, string>> = {
  [PATH.IRQ_ENTER]: 'irq-enter', [PATH.IRQ_EXIT]: 'irq-exit', [PATH.NMI_ENTER]: 'nmi-enter', [PATH.NMI_EXIT]: 'nmi-exit',
  [PATH.DBG_ENTER]: 'dbg-enter', [PATH.DBG_EXIT]: 'dbg-exit', [PATH.IRQ_ENTER_RCU]: 'irq-enter-rcu', [PATH.IRQ_EXIT_RCU]: 'irq-exit-rcu',
  [PATH.PIPE_ENTER]: 'pipeline-enter', [PATH.PIPE_EXIT]: 'pipeline-exit',
};

/** A record without an instruction of its own (it belongs to the next instruction). */
function mark(k: K, step: number, b = 0): void {
  k.c.trace?.emit(T.ENTRY, step, b);
}

function pathBegin(k: K, path: number): void {
  mark(k, STEP.PATH_BEGIN, path);
}

function pathEnd(k: K, path: number): void {
  mark(k, STEP.PATH_END, path);
}

/**
 * One step: the record and the per-CPU update are one instruction. Like every
 * one-instruction helper here it returns that instruction's opcode for the
 * caller to `yield` (the result of an LDADD step is the old value): a helper
 * generator run with `yield*` costs a generator object per call and a
 * delegation per resumption, and these run on every interrupt.
 */
function addStep(k: K, step: number, field: number, delta: number): number {
  mark(k, step, delta);
  return k.c.ldadd(k.L.pcpu(k.cpu, field), delta);
}

function setStep(k: K, step: number, field: number, v: number): number {
  mark(k, step, v);
  return k.c.str(k.L.pcpu(k.cpu, field), v);
}

export function instrumentation_begin(k: K): void {
  mark(k, STEP.INSTR_BEGIN);
}
export function instrumentation_end(k: K): void {
  mark(k, STEP.INSTR_END);
}

// =====================================================================
// The state helpers, one per kernel helper
// =====================================================================

/** preempt_count(): one LDR (yield it; the result is the count). */
export function preempt_count(k: K): number {
  return k.c.ldr(k.L.pcpu(k.cpu, PCPU.preempt_count));
}

/** __preempt_count_add for the entry offsets (HARDIRQ_OFFSET, NMI_OFFSET), recorded (one instruction). */
function preempt_count_step(k: K, delta: number): number {
  return addStep(k, STEP.PREEMPT, PCPU.preempt_count, delta);
}

/** preempt_disable() / preempt_enable_no_resched(): scheduler-side changes, not entry steps. */
export function* preempt_count_add(k: K, delta: number): Guest<number> {
  return (yield k.c.ldadd(k.L.pcpu(k.cpu, PCPU.preempt_count), delta)) + delta;
}

export function* lockdep_hardirqs_enabled(k: K): Guest<boolean> {
  return (yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.lockdep_hardirqs_enabled))) !== 0;
}
export function lockdep_hardirqs_off(k: K): number {
  return setStep(k, STEP.LOCKDEP_HARDIRQS_OFF, PCPU.lockdep_hardirqs_enabled, 0);
}
/** A check (instrumentable): reads lockdep's state, changes nothing. */
export function lockdep_hardirqs_on_prepare(k: K): number {
  mark(k, STEP.LOCKDEP_HARDIRQS_ON_PREPARE);
  return k.c.ldr(k.L.pcpu(k.cpu, PCPU.lockdep_hardirqs_enabled));
}
export function lockdep_hardirqs_on(k: K): number {
  return setStep(k, STEP.LOCKDEP_HARDIRQS_ON, PCPU.lockdep_hardirqs_enabled, 1);
}
export function lockdep_hardirq_enter(k: K): number {
  return addStep(k, STEP.LOCKDEP_HARDIRQ_ENTER, PCPU.lockdep_hardirq_context, 1);
}
export function lockdep_hardirq_exit(k: K): number {
  return addStep(k, STEP.LOCKDEP_HARDIRQ_EXIT, PCPU.lockdep_hardirq_context, -1);
}

/**
 * Context tracking (kernel/context_tracking.c): RCU watches while the
 * nesting is >= 0 (stored minus one, so zeroed memory is "watching"). The
 * record carries the resulting nesting (not the delta), so that a checker
 * reading a ring whose older records were overwritten still knows whether
 * RCU watches; the update is a load and a store of this CPU's own word.
 */
function* ctStep(k: K, step: number, delta: number): Guest<void> {
  const addr = k.L.pcpu(k.cpu, PCPU.ct_nesting);
  const v = (yield k.c.ldr(addr)) + delta;
  mark(k, step, v);
  yield k.c.str(addr, v);
}
// Each returns ctStep's generator itself (no generator of its own in between): run it with `yield*`.
export function ct_irq_enter(k: K): Guest<void> {
  return ctStep(k, STEP.CT_IRQ_ENTER, 1);
}
export function ct_irq_exit(k: K): Guest<void> {
  return ctStep(k, STEP.CT_IRQ_EXIT, -1);
}
export function ct_nmi_enter(k: K): Guest<void> {
  return ctStep(k, STEP.CT_NMI_ENTER, 1);
}
export function ct_nmi_exit(k: K): Guest<void> {
  return ctStep(k, STEP.CT_NMI_EXIT, -1);
}
/** ct_cpuidle_enter/exit (default_idle_call): RCU stops watching around the idle wait (extended quiescent state). */
export function ct_cpuidle_enter(k: K): Guest<void> {
  return ctStep(k, STEP.CT_IDLE_ENTER, -1);
}
export function ct_cpuidle_exit(k: K): Guest<void> {
  return ctStep(k, STEP.CT_IDLE_EXIT, 1);
}
export function* rcu_is_watching(k: K): Guest<boolean> {
  return (yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.ct_nesting))) >= 0;
}
/** rcu_irq_enter_check_tick: instrumentable, reads RCU's state (one instruction). */
function rcu_irq_enter_check_tick(k: K): number {
  mark(k, STEP.RCU_IRQ_ENTER_CHECK_TICK);
  return k.c.ldr(k.L.pcpu(k.cpu, PCPU.ct_nesting));
}

/** kernel/trace/trace_preemptirq.c: the tracer's view of the hardirq state (tracing_irq_cpu). */
export function trace_hardirqs_off_finish(k: K): number {
  return setStep(k, STEP.TRACE_HARDIRQS_OFF_FINISH, PCPU.tracing_irqs_off, 1);
}
export function trace_hardirqs_on_prepare(k: K): number {
  return setStep(k, STEP.TRACE_HARDIRQS_ON_PREPARE, PCPU.tracing_irqs_off, 0);
}
/** trace_hardirqs_on: the tracer first, then lockdep (lockdep_hardirqs_on_prepare, lockdep_hardirqs_on). */
export function* trace_hardirqs_on(k: K): Guest<void> {
  yield setStep(k, STEP.TRACE_HARDIRQS_ON, PCPU.tracing_irqs_off, 0);
  yield lockdep_hardirqs_on_prepare(k);
  yield lockdep_hardirqs_on(k);
}
function ftrace_nmi_enter(k: K): number {
  return addStep(k, STEP.FTRACE_NMI_ENTER, PCPU.ftrace_nmi, 1);
}
function ftrace_nmi_exit(k: K): number {
  return addStep(k, STEP.FTRACE_NMI_EXIT, PCPU.ftrace_nmi, -1);
}

/** account_hardirq_enter/exit (kernel/sched/cputime.c irqtime): hardirq time accumulates while the nesting is > 0. */
function* account_hardirq_enter(k: K): Guest<void> {
  const c = k.c;
  if ((yield addStep(k, STEP.ACCOUNT_HARDIRQ_ENTER, PCPU.irqtime_depth, 1)) === 0) { // the outermost level
    yield c.str64(k.L.pcpu(k.cpu, PCPU.irqtime_start), yield c.now());
  }
}
function* account_hardirq_exit(k: K): Guest<void> {
  const c = k.c;
  if ((yield addStep(k, STEP.ACCOUNT_HARDIRQ_EXIT, PCPU.irqtime_depth, -1)) === 1) { // leaving the outermost level
    const start = yield c.ldr64(k.L.pcpu(k.cpu, PCPU.irqtime_start));
    const total = yield c.ldr64(k.L.pcpu(k.cpu, PCPU.irqtime_total));
    yield c.str64(k.L.pcpu(k.cpu, PCPU.irqtime_total), total + Math.max(0, (yield c.now()) - start));
  }
}

/** `current`: one LDR of this CPU's current task pointer (yield it; is_idle_task(current) is idle_task(k) === that). */
export function load_current(k: K): number {
  return k.c.ldr(k.L.pcpu(k.cpu, PCPU.current));
}
/** The address of this CPU's idle task (no instruction). */
export function idle_task(k: K): number {
  return k.L.pcpu(k.cpu, PCPU.idle_task);
}

// =====================================================================
// The state token
// =====================================================================

/**
 * Dovetail's stage info (kernel/entry/common.c with CONFIG_IRQ_PIPELINE):
 * what the exception interrupted. 'none' without the pipeline.
 */
export type StageInfo = 'none' | 'inband-unstalled' | 'inband-stalled' | 'oob';

export type IrqentryState =
  | { readonly kind: 'irq'; readonly exitRcu: boolean; readonly stage: StageInfo }
  | { readonly kind: 'nmi'; readonly lockdep: boolean };

const STAGES: readonly StageInfo[] = ['none', 'inband-unstalled', 'inband-stalled', 'oob'];

/** irqentry_state_t in a register: bit 0 kind (1 NMI), bit 1 exit_rcu or lockdep, bits 2-3 stage. */
export function encodeState(s: IrqentryState): number {
  return s.kind === 'nmi' ? 1 | (s.lockdep ? 2 : 0) : (s.exitRcu ? 2 : 0) | (STAGES.indexOf(s.stage) << 2);
}

export function decodeState(v: number): IrqentryState {
  if (v & 1) return { kind: 'nmi', lockdep: (v & 2) !== 0 };
  return { kind: 'irq', exitRcu: (v & 2) !== 0, stage: STAGES[(v >> 2) & 3]! };
}

function irqState(s: IrqentryState): { exitRcu: boolean; stage: StageInfo } {
  if (s.kind !== 'irq') throw new Error('an NMI entry token passed to an IRQ exit');
  return s;
}

// =====================================================================
// Kernel-mode interrupt and exception entry/exit (6.2)
// =====================================================================

/** Dovetail stall-bit helpers needed by entry (the rest is src/kernel/pipeline.ts). */
export function* test_and_stall_inband(k: K): Guest<boolean> {
  k.c.trace?.emit(T.PIPELINE, PIPE_STALL, 0);
  return (yield k.c.swp(k.L.pcpu(k.cpu, PCPU.inband_stall), 1)) !== 0;
}
export function* unstall_inband_nocheck(k: K): Guest<void> {
  k.c.trace?.emit(T.PIPELINE, PIPE_UNSTALL, 0);
  yield k.c.str(k.L.pcpu(k.cpu, PCPU.inband_stall), 0);
}
/** T.PIPELINE a values used here (the full table is PIPE in pipeline.ts). */
export const PIPE_STALL = 1;
export const PIPE_UNSTALL = 2;

/**
 * irqentry_enter(regs) from kernel mode (6.2):
 *  1. from the idle task (the only kernel context where RCU may not be
 *     watching): lockdep_hardirqs_off, ct_irq_enter (RCU watches from here),
 *     then [instr] trace_hardirqs_off_finish; exit_rcu = true;
 *  2. otherwise lockdep_hardirqs_off, then [instr] rcu_irq_enter_check_tick,
 *     trace_hardirqs_off_finish.
 * With the interrupt pipeline (Dovetail): over out-of-band code nothing is
 * done (stage 'oob': the exit skips the epilogue); over in-band code the
 * in-band stage is stalled (hard IRQs are off on entry) and whether it was
 * stalled before is kept in the token.
 * Returns the encoded IrqentryState.
 */
export const irqentry_enter = guestFn<K>('irqentry_enter', function* (k, regs) {
  void regs;
  let stage: StageInfo = 'none';
  if (k.cfg.irqPipeline) {
    if ((yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.oob_stage))) !== 0) return encodeState({ kind: 'irq', exitRcu: false, stage: 'oob' });
    stage = (yield* test_and_stall_inband(k)) ? 'inband-stalled' : 'inband-unstalled';
  }
  pathBegin(k, PATH.IRQ_ENTER);
  let exitRcu = false;
  if ((yield load_current(k)) === idle_task(k)) {
    yield lockdep_hardirqs_off(k);
    yield* ct_irq_enter(k);
    instrumentation_begin(k);
    yield trace_hardirqs_off_finish(k);
    instrumentation_end(k);
    exitRcu = true;
  } else {
    yield lockdep_hardirqs_off(k);
    instrumentation_begin(k);
    yield rcu_irq_enter_check_tick(k);
    yield trace_hardirqs_off_finish(k);
    instrumentation_end(k);
  }
  pathEnd(k, PATH.IRQ_ENTER);
  return encodeState({ kind: 'irq', exitRcu, stage });
}, { size: 48 });

/**
 * Whether the interrupted context had interrupts disabled: regs_irqs_disabled(regs), or with the pipeline a stalled
 * in-band stage (no instruction). Returns the generator to run with `yield*` (regs_irqs_disabled's own, with no
 * generator of this helper in between).
 */
export function irqs_were_disabled(k: K, regs: number, stage: StageInfo): Guest<boolean> {
  if (stage !== 'none') return constant(stage !== 'inband-unstalled');
  return regs_irqs_disabled(k, regs);
}

/** A helper result that takes no instruction, for `yield*`. */
function* constant<T>(v: T): Generator<number, T, number> {
  return v;
}

/**
 * arch_irqentry_exit_need_resched() (arch/arm64/include/asm/entry-common.h,
 * reference 6.2): false with pseudo-NMI when DAIF != 0 ("an NMI was
 * handled"); the DAIF test applies only with pseudo-NMI.
 */
export function* arch_irqentry_exit_need_resched(k: K): Guest<boolean> {
  if (k.cfg.pseudoNmi && (yield k.c.mrs(SYS.DAIF)) !== 0) return false;
  return true;
}

/** Where a preemption from exception exit comes from (model-only argument, for the observations). */
export const FROM_IRQ = 0;
export const FROM_SYNC = 1;

/**
 * raw_irqentry_exit_cond_resched(): preempt if preempt_count() == 0,
 * need_resched() and arch_irqentry_exit_need_resched(). The idle task runs
 * with preemption disabled (init_idle_preempt_count); the model's
 * preempt_count is per CPU, so the idle task is tested for directly.
 */
export function* irqentry_exit_cond_resched(k: K, from: number): Guest<void> {
  if ((yield preempt_count(k)) !== 0) return;
  if ((yield load_current(k)) === idle_task(k)) return;
  if ((yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.need_resched))) === 0) return;
  if (!(yield* arch_irqentry_exit_need_resched(k))) return;
  yield k.call('preempt_schedule_irq', from);
}

/**
 * irqentry_exit_to_kernel_mode_preempt(regs, state) (6.2, seed 001): no
 * preemption if the interrupted context had interrupts disabled or RCU was
 * not watching; else irqentry_exit_cond_resched() (CONFIG_PREEMPTION).
 */
export function* irqentry_exit_to_kernel_mode_preempt(k: K, regs: number, state: IrqentryState, from: number): Guest<void> {
  const s = irqState(state);
  if (s.stage === 'oob') return;
  if (yield* irqs_were_disabled(k, regs, s.stage)) return;
  if (s.exitRcu) return;
  yield* irqentry_exit_cond_resched(k, from);
}

/**
 * irqentry_exit_to_kernel_mode_after_preempt(regs, state) (6.2, seed 001):
 * the exact reverse of irqentry_enter: returning to interrupts-enabled
 * context, either [instr] trace_hardirqs_on_prepare,
 * lockdep_hardirqs_on_prepare, then ct_irq_exit and lockdep_hardirqs_on
 * (exit_rcu), or [instr] trace_hardirqs_on; to interrupts-disabled context
 * only ct_irq_exit if exit_rcu. With the pipeline: nothing over oob code;
 * the in-band stage is unstalled again if it was unstalled on entry.
 */
export function* irqentry_exit_to_kernel_mode_after_preempt(k: K, regs: number, state: IrqentryState): Guest<void> {
  const s = irqState(state);
  if (s.stage === 'oob') return;
  pathBegin(k, PATH.IRQ_EXIT);
  if (!(yield* irqs_were_disabled(k, regs, s.stage))) {
    if (s.exitRcu) {
      instrumentation_begin(k);
      yield trace_hardirqs_on_prepare(k);
      yield lockdep_hardirqs_on_prepare(k);
      instrumentation_end(k);
      yield* ct_irq_exit(k);
      yield lockdep_hardirqs_on(k);
    } else {
      instrumentation_begin(k);
      yield* trace_hardirqs_on(k);
      instrumentation_end(k);
    }
  } else if (s.exitRcu) {
    yield* ct_irq_exit(k);
  }
  pathEnd(k, PATH.IRQ_EXIT);
  if (s.stage === 'inband-unstalled') yield* unstall_inband_nocheck(k);
}

/**
 * irqentry_exit(regs, state) as generic entry had it before arm64 selected
 * ARCH_HAS_OWN_IRQ_PREEMPTION (reference 6.6): the preemption step sits
 * inside it, in the "interrupts were enabled, exit_rcu false" branch before
 * trace_hardirqs_on(), so it runs after whatever masking the caller did.
 * x2 = FROM_IRQ / FROM_SYNC (model-only).
 */
export const irqentry_exit_preempting = guestFn<K>('irqentry_exit', function* (k, regs, st, from) {
  const state = decodeState(st);
  yield* irqentry_exit_to_kernel_mode_preempt(k, regs, state, from);
  yield* irqentry_exit_to_kernel_mode_after_preempt(k, regs, state);
  return 0;
}, { size: 48 });

/**
 * irqentry_exit(regs, state) with CONFIG_ARCH_HAS_OWN_IRQ_PREEMPTION
 * (reference 6.7): no preemption here; arm64 preempts from its own IRQ path.
 */
export const irqentry_exit = guestFn<K>('irqentry_exit', (k, regs, st) =>
  // The body is the helper's generator itself (its RET returns 0): no generator in between.
  irqentry_exit_to_kernel_mode_after_preempt(k, regs, decodeState(st)), { size: 48 });

// =====================================================================
// irq_enter_rcu / irq_exit_rcu (kernel/softirq.c)
// =====================================================================

/**
 * irq_enter_rcu: __irq_enter_raw (preempt count += HARDIRQ_OFFSET, so
 * in_hardirq() holds from here; lockdep_hardirq_enter), then
 * account_hardirq_enter.
 */
export function* irq_enter_rcu(k: K): Guest<void> {
  pathBegin(k, PATH.IRQ_ENTER_RCU);
  yield preempt_count_step(k, HARDIRQ_OFFSET);
  yield lockdep_hardirq_enter(k);
  yield* account_hardirq_enter(k);
  pathEnd(k, PATH.IRQ_ENTER_RCU);
}

/**
 * irq_exit_rcu: account_hardirq_exit, preempt count -= HARDIRQ_OFFSET
 * (before softirq processing, so that irqentry_exit() can schedule), then
 * lockdep_hardirq_exit ("must be last").
 */
export function* irq_exit_rcu(k: K): Guest<void> {
  pathBegin(k, PATH.IRQ_EXIT_RCU);
  yield* account_hardirq_exit(k);
  yield preempt_count_step(k, -HARDIRQ_OFFSET);
  yield lockdep_hardirq_exit(k);
  pathEnd(k, PATH.IRQ_EXIT_RCU);
}

// =====================================================================
// NMI and NMI-like entry (6.3, 6.4)
// =====================================================================

/**
 * nmi_enter() (include/linux/hardirq.h) and the body of
 * irqentry_nmi_enter(): 1. preempt count += NMI_OFFSET + HARDIRQ_OFFSET
 * (first, so in_nmi() is true for what follows), 2. lockdep, 3. RCU
 * (ct_nmi_enter), 4. [instr] tracing.
 */
export function* nmi_enter(k: K, lockdepOff: boolean): Guest<void> {
  pathBegin(k, PATH.NMI_ENTER);
  yield preempt_count_step(k, NMI_OFFSET + HARDIRQ_OFFSET);
  if (lockdepOff) yield lockdep_hardirqs_off(k);
  yield lockdep_hardirq_enter(k);
  yield* ct_nmi_enter(k);
  instrumentation_begin(k);
  if (lockdepOff) yield trace_hardirqs_off_finish(k);
  yield ftrace_nmi_enter(k);
  instrumentation_end(k);
  pathEnd(k, PATH.NMI_ENTER);
}

/** nmi_exit() and the body of irqentry_nmi_exit(): the exact reverse, preempt count restored last. */
export function* nmi_exit(k: K, lockdepOn: boolean): Guest<void> {
  pathBegin(k, PATH.NMI_EXIT);
  instrumentation_begin(k);
  yield ftrace_nmi_exit(k);
  if (lockdepOn) {
    yield trace_hardirqs_on_prepare(k);
    yield lockdep_hardirqs_on_prepare(k);
  }
  instrumentation_end(k);
  yield* ct_nmi_exit(k);
  yield lockdep_hardirq_exit(k);
  if (lockdepOn) yield lockdep_hardirqs_on(k);
  yield preempt_count_step(k, -(NMI_OFFSET + HARDIRQ_OFFSET));
  pathEnd(k, PATH.NMI_EXIT);
}

/** irqentry_nmi_enter(regs) (6.3): state.lockdep = lockdep_hardirqs_enabled(), then the NMI entry. */
export function* irqentry_nmi_enter(k: K, regs: number): Guest<IrqentryState> {
  void regs;
  const lockdep = yield* lockdep_hardirqs_enabled(k);
  yield* nmi_enter(k, true);
  return { kind: 'nmi', lockdep };
}

/** irqentry_nmi_exit(regs, state) (6.3): the exact reverse; lockdep re-enabled only if it was on entry. */
export function* irqentry_nmi_exit(k: K, regs: number, state: IrqentryState): Guest<void> {
  void regs;
  if (state.kind !== 'nmi') throw new Error('an IRQ entry token passed to irqentry_nmi_exit');
  yield* nmi_exit(k, state.lockdep);
}

/**
 * arm64_enter_el1_dbg (arch/arm64/kernel/entry-common.c, reference 6.1):
 * kernel-mode debug exceptions are NMI-like but keep the preempt count:
 * lockdep (remember and turn off), ct_nmi_enter, trace_hardirqs_off_finish.
 * No irqentry_enter, so they never preempt. Returns whether lockdep had
 * hardirqs enabled (regs->lockdep_hardirqs).
 */
export function* arm64_enter_el1_dbg(k: K): Guest<boolean> {
  const lockdep = yield* lockdep_hardirqs_enabled(k);
  pathBegin(k, PATH.DBG_ENTER);
  yield lockdep_hardirqs_off(k);
  yield* ct_nmi_enter(k);
  instrumentation_begin(k);
  yield trace_hardirqs_off_finish(k);
  instrumentation_end(k);
  pathEnd(k, PATH.DBG_ENTER);
  return lockdep;
}

/** arm64_exit_el1_dbg: the reverse: [instr] trace/lockdep prepare if restoring, ct_nmi_exit, lockdep_hardirqs_on if restoring. */
export function* arm64_exit_el1_dbg(k: K, restore: boolean): Guest<void> {
  pathBegin(k, PATH.DBG_EXIT);
  if (restore) {
    instrumentation_begin(k);
    yield trace_hardirqs_on_prepare(k);
    yield lockdep_hardirqs_on_prepare(k);
    instrumentation_end(k);
  }
  yield* ct_nmi_exit(k);
  if (restore) yield lockdep_hardirqs_on(k);
  pathEnd(k, PATH.DBG_EXIT);
}

/** Dovetail's pipeline entry is NMI-like for RCU (handle_irq_pipelined_prepare: rcu_nmi_enter). */
export function* pipeline_rcu_enter(k: K): Guest<void> {
  pathBegin(k, PATH.PIPE_ENTER);
  yield* ct_nmi_enter(k);
  pathEnd(k, PATH.PIPE_ENTER);
}
export function* pipeline_rcu_exit(k: K): Guest<void> {
  pathBegin(k, PATH.PIPE_EXIT);
  yield* ct_nmi_exit(k);
  pathEnd(k, PATH.PIPE_EXIT);
}

export function inInterrupt(pc: number): boolean {
  return (pc & (SOFTIRQ_MASK | HARDIRQ_MASK | NMI_MASK)) !== 0;
}

export const ENTRY_COMMON_FUNCTIONS = [irqentry_enter, irqentry_exit];

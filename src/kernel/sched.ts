/**
 * kernel/sched/core.c reduced to what preemption from exception exit needs
 * (reference linux-stop-paths.md 6.6): a per-CPU round-robin runqueue of
 * kernel threads, need_resched (set by the timer tick, by resched_curr on
 * another CPU followed by IPI_RESCHEDULE, or by scheduler_ipi), schedule(),
 * preempt_schedule_irq(), __schedule() and arm64's cpu_switch_to.
 *
 * As on arm64, the context switch saves no PSTATE: cpu_switch_to saves and
 * restores callee-saved registers, SP and SP_EL0 only (CpuCore.switchStacks),
 * so the incoming task continues with the DAIF (and PMR) the outgoing one
 * left, until finish_task_switch's local_irq_enable() clears I and F. D and
 * A stay as they were.
 *
 * preempt_count is per CPU in the model (arm64 keeps it per task in
 * thread_info): every switch happens at the same count (preempt_disable +
 * the runqueue lock), so the two agree.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PCPU, TASK } from './layout.js';
import { preempt_count_add, FROM_SYNC } from './entry-common.js';
import { local_irq_disable, local_irq_enable, native_irq_disable, native_irq_enable } from './irqflags.js';
import { smp_cross_call } from './smp.js';
import { IPI } from './irq-gic-v3.js';
import { observeSample, obsAdd, OBS, SAMPLE, peek } from './observe.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';

/** __schedule modes (SM_NONE: schedule(), SM_PREEMPT: preempt_schedule_irq()). */
export const SM_NONE = 0;
export const SM_PREEMPT = 1;

export function* need_resched(k: K): Guest<boolean> {
  return (yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.need_resched))) !== 0;
}

/**
 * preempt_schedule_irq() (kernel/sched/core.c), entered from exception
 * exit with interrupts disabled and preempt_count() == 0:
 *   do { preempt_disable(); local_irq_enable(); __schedule(SM_PREEMPT);
 *        local_irq_disable(); sched_preempt_enable_no_resched();
 *   } while (need_resched());
 * local_irq_enable() clears only I and F (or writes PMR), so whatever D and
 * A the exception exit left stays. With the interrupt pipeline, schedule()
 * runs with the in-band stage stalled but hard IRQs on (Dovetail porting
 * guide, "Reconciling the virtual interrupt state to the epilogue logic").
 * x0 = FROM_IRQ / FROM_SYNC (model-only, for the observations).
 */
export const preempt_schedule_irq = guestFn<K>('preempt_schedule_irq', function* (k, from) {
  observeSample(k, from === FROM_SYNC ? SAMPLE.PREEMPT_SYNC : SAMPLE.PREEMPT_IRQ);
  if (k.cfg.irqPipeline) yield* native_irq_enable(k);
  const top = k.c.label();
  for (;;) {
    yield* preempt_count_add(k, 1);
    yield* local_irq_enable(k);
    yield k.call('__schedule', SM_PREEMPT);
    yield* local_irq_disable(k);
    yield* preempt_count_add(k, -1);
    if (!(yield* need_resched(k))) break;
    yield k.c.b(top);
  }
  if (k.cfg.irqPipeline) yield native_irq_disable(k);
  return 0;
}, { size: 32, traced: true });

/** schedule(): do { preempt_disable(); __schedule(SM_NONE); sched_preempt_enable_no_resched(); } while (need_resched()). */
export const schedule = guestFn<K>('schedule', function* (k) {
  const top = k.c.label();
  for (;;) {
    yield* preempt_count_add(k, 1);
    yield k.call('__schedule', SM_NONE);
    yield* preempt_count_add(k, -1);
    if (!(yield* need_resched(k))) break;
    yield k.c.b(top);
  }
  return 0;
}, { size: 16 });

/**
 * __schedule(mode): local_irq_disable() and the runqueue lock,
 * clear_tsk_need_resched(prev), pick the next task (round robin), then
 * context_switch(): rq->curr and current (SP_EL0) become next and
 * cpu_switch_to swaps the kernel stacks. The code after the switch runs in
 * whichever task is switched back to later, which finishes its own switch
 * with finish_task_switch(last).
 */
export const __schedule = guestFn<K>('__schedule', function* (k, mode) {
  void mode;
  const c = k.c;
  const pcpu = (off: number): number => k.L.pcpu(k.cpu, off);
  yield* local_irq_disable(k);
  yield* preempt_count_add(k, 1); // raw_spin_rq_lock
  yield c.str(pcpu(PCPU.need_resched), 0); // clear_tsk_need_resched(prev)
  const prev = yield c.ldr(pcpu(PCPU.current));
  const nr = yield c.ldr(pcpu(PCPU.rq_nr));
  if (nr > 1) {
    const idx = yield c.ldr(pcpu(PCPU.rq_idx));
    const ni = (idx + 1) % nr;
    const next = yield c.ldr(pcpu(PCPU.rq_tasks) + 4 * ni);
    if (next !== prev && next !== 0) {
      yield c.str(pcpu(PCPU.rq_idx), ni);
      yield c.ldadd(pcpu(PCPU.nr_switches), 1);
      const last = yield* context_switch(k, prev, next);
      yield k.call('finish_task_switch', last);
      return 0;
    }
  }
  yield* preempt_count_add(k, -1); // rq_unlock_irq
  yield* local_irq_enable(k);
  return 0;
}, { size: 48 });

/** context_switch(): rq->curr = next, then cpu_switch_to (which also sets SP_EL0, `current`). Returns `last`. */
function* context_switch(k: K, prev: number, next: number): Guest<number> {
  const c = k.c;
  c.trace?.emit(T.SCHED_SWITCH, prev === 0 ? 0 : peek(k, prev + TASK.pid), peek(k, next + TASK.pid));
  obsAdd(k, OBS.switches);
  yield c.str(k.L.pcpu(k.cpu, PCPU.current), next);
  yield c.msr(SYS.SP_EL0, next);
  return yield c.switchStacks(prev, next);
}

/**
 * finish_task_switch(prev): finish_lock_switch -> raw_spin_rq_unlock_irq:
 * the runqueue lock's preempt count, then local_irq_enable(): I and F only
 * (daifclr #3), or PMR with pseudo-NMI.
 */
export const finish_task_switch = guestFn<K>('finish_task_switch', function* (k, prev) {
  void prev;
  yield* preempt_count_add(k, -1);
  yield* local_irq_enable(k);
  return 0;
}, { size: 16 });

/** schedule_tail(prev): a new task's first switch: finish_task_switch, then preempt_enable(). */
export const schedule_tail = guestFn<K>('schedule_tail', function* (k, prev) {
  yield k.call('finish_task_switch', prev);
  yield* preempt_count_add(k, -1);
  return 0;
}, { size: 16 });

/**
 * ret_from_fork (arch/arm64/kernel/entry.S): a new task's first code, with
 * x0 = the task switched from, x19 = the thread function, x20 = its
 * argument: schedule_tail(prev), then the thread function. The model's
 * kernel threads never return.
 */
export const ret_from_fork = guestFn<K>('ret_from_fork', function* (k, prev) {
  const c = k.c;
  yield k.call('schedule_tail', prev);
  const fn = c.image.entryAt(c.x(19));
  if (!fn) throw c.fault(`ret_from_fork: x19 = 0x${c.x(19).toString(16)} is not a thread function`, 'guest-code');
  yield c.bl(fn, c.x(20));
  throw c.fault(`kernel thread ${fn.name} returned (do_exit is not modelled)`, 'guest-code');
}, { size: 16 });

/**
 * resched_curr(rq of `cpu`) from another CPU: set_tsk_need_resched on its
 * current task, a full barrier, then smp_send_reschedule (IPI_RESCHEDULE).
 * The target may see need_resched before the IPI arrives.
 */
export function* resched_curr(k: K, cpu: number): Guest<void> {
  yield k.c.str(k.L.pcpu(cpu, PCPU.need_resched), 1);
  yield k.c.dmb();
  yield* smp_cross_call(k, [cpu], IPI.RESCHEDULE);
}

export const SCHED_FUNCTIONS = [preempt_schedule_irq, schedule, __schedule, finish_task_switch, schedule_tail, ret_from_fork];

/**
 * EXT: the entry test (scenario field `entryTest`), the model's stand-in for
 * the reproduction of reference 6.9: on each test CPU, kernel threads that
 * keep taking synchronous EL1 exceptions (a user access that faults and is
 * fixed up through the exception table, or a BRK) and yield the CPU; on each
 * waker CPU, a loop that keeps setting need_resched on the test CPUs
 * (resched_curr: the flag, then IPI_RESCHEDULE). The timer tick sets
 * need_resched too. Whenever need_resched is set while a thread is between
 * a synchronous exception's local_daif_mask() and its exit, the
 * generic-preempt kernel preempts with DAIF fully masked.
 *
 * The test CPU's role task creates the threads (kthread_create +
 * wake_up_process: copy_thread and the runqueue) and then takes part in the
 * round robin itself, running the plan's events whenever it runs.
 */
import { guestFn } from '../../cpus/isa.js';
import { PCPU, TASK, TASK_STRUCT_BYTES } from './layout.js';
import { local_irq_save, local_irq_restore, local_irq_disable, local_irq_enable } from './irqflags.js';
import { arch_timer_start } from './time.js';
import { oob_timer_start } from './pipeline.js';
import { resched_curr } from './sched.js';
import { USER_ADDR } from './extable.js';
import { observeSample, SAMPLE, KTHREAD_PID_BASE } from './observe.js';
import type { K } from './kernel.js';

export type EntryTestFault = 'uaccess' | 'brk' | 'none';
export const ENTRY_TEST_FAULTS: readonly EntryTestFault[] = ['uaccess', 'brk', 'none'];

/** What one CPU does in the entry test (runtime.ts CpuPlan). */
export interface EntryTestPlan {
  readonly tasks: number;
  readonly fault: EntryTestFault;
}
export interface WakerPlan {
  readonly targets: readonly number[];
  readonly intervalNs: number;
}

export function kthreadPid(cpu: number, i: number): number {
  return KTHREAD_PID_BASE + 16 * cpu + i;
}

/**
 * The threads' unit of work, a spin_lock_irqsave section that updates a
 * per-CPU word (the default breakpoint target is this function's first
 * instruction, the watchpoint target the word).
 */
export const entry_test_work = guestFn<K>('entry_test_work', function* (k) {
  const c = k.c;
  const flags = yield* local_irq_save(k);
  const w = k.L.pcpu(k.cpu, PCPU.entry_work);
  yield c.str(w, (yield c.ldr(w)) + 1);
  yield c.nops(4);
  yield* local_irq_restore(k, flags);
  return 0;
}, { size: 24 });

/** The kernel thread: sample its PSTATE (process context), work, take a synchronous exception, yield the CPU. */
export const entry_kthread = guestFn<K>('entry_kthread', function* (k) {
  const c = k.c;
  const fault = k.rt.plan(k.cpu).entryTest?.fault ?? 'uaccess';
  const top = c.label();
  for (;;) {
    observeSample(k, SAMPLE.TASK);
    yield k.call('entry_test_work');
    if (fault === 'uaccess') yield k.call('__arch_copy_from_user', USER_ADDR);
    else if (fault === 'brk') yield c.brk(0x800); // a WARN()-style BRK: el1_dbg, resumes after it
    yield k.call('schedule');
    yield c.b(top);
  }
}, { size: 24 });

/**
 * The role task's set-up on a test or waker CPU: kernel threads on their
 * own stacks (copy_thread: they start at ret_from_fork), the runqueue
 * (the role task first), and the timer (the tick, or with the interrupt
 * pipeline the out-of-band timer).
 */
export const entry_test_start = guestFn<K>('entry_test_start', function* (k) {
  const c = k.c;
  const plan = k.rt.plan(k.cpu);
  const et = plan.entryTest;
  if (!et) return 0; // a waker: nothing to set up
  const pcpu = (off: number): number => k.L.pcpu(k.cpu, off);
  yield* local_irq_disable(k);
  yield c.str(pcpu(PCPU.rq_tasks), yield c.ldr(pcpu(PCPU.current)));
  for (let i = 0; i < et.tasks; i++) {
    const task = pcpu(PCPU.kthreads + i * TASK_STRUCT_BYTES);
    const stack = k.L.kthreadStackTop(k.cpu, i);
    yield c.str(task + TASK.pid, kthreadPid(k.cpu, i));
    yield c.str(task + TASK.stack, stack);
    yield c.forkStack(task, k.fn.ret_from_fork!, stack, k.addr('entry_kthread'), i);
    yield c.str(pcpu(PCPU.rq_tasks) + 4 * (i + 1), task);
  }
  yield c.str(pcpu(PCPU.rq_idx), 0);
  yield c.str(pcpu(PCPU.rq_nr), et.tasks + 1);
  yield* local_irq_enable(k);
  if (k.cfg.irqPipeline) yield* oob_timer_start(k);
  else yield* arch_timer_start(k);
  return 0;
}, { size: 48 });

/**
 * One turn of the role task between plan events: on a test CPU, yield to
 * the threads (schedule()); on a waker CPU, wait until the next request is
 * due (IRQs enabled), then resched_curr() each target. `next` is the
 * guest time of the role's next plan event.
 */
export const entry_test_step = guestFn<K>('entry_test_step', function* (k, next) {
  const c = k.c;
  const plan = k.rt.plan(k.cpu);
  if (plan.entryTest) {
    observeSample(k, SAMPLE.TASK);
    yield k.call('schedule');
    return 0;
  }
  const w = plan.waker;
  if (!w) return 0;
  const slot = k.L.pcpu(k.cpu, PCPU.waker_next);
  const now = yield c.now();
  let due = yield c.ldr64(slot);
  if (due === 0) due = now + w.intervalNs;
  if (now >= due) {
    for (const cpu of w.targets) yield* resched_curr(k, cpu);
    due = now + w.intervalNs;
  }
  yield c.str64(slot, due);
  const until = Math.min(next, due);
  c.alarm = until;
  yield c.waitUntil(until);
  return 0;
}, { size: 48 });

export const ENTRY_TEST_FUNCTIONS = [entry_test_work, entry_kthread, entry_test_start, entry_test_step];

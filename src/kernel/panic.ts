/**
 * kernel/panic.c: vpanic's step order, panic_cpu, nmi_panic, panic_timeout
 * (reference linux-stop-paths.md section 3).
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { GV, PCPU } from './layout.js';
import { PANIC_TIMER_STEP_MS } from './config.js';
import { local_irq_disable, local_irq_enable } from './irqflags.js';
import { pr_emerg } from './printk.js';
import { delay_until } from './time.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';

export const PANIC_CPU_INVALID = -1;

/** Messages panic() can be called with (guest code passes an index). */
export const PANIC_MESSAGES: Record<number, string> = {
  0: 'smpstop trigger',
  1: 'Oops: Fatal exception in interrupt',
  2: 'Oops: Fatal exception',
  3: 'Aiee, killing interrupt handler!',
  4: 'Attempted to kill the idle task!',
  5: 'Fatal exception in interrupt',
  6: "CPU%u: cpu didn't die", // %u: the panicking CPU (ScenarioRuntime.message)
};

/** arm64 cpu_die(): the CPU-ops cpu_die (PSCI CPU_OFF) returned. */
export const PANIC_CPU_DIDNT_DIE = 6;

/** panic_try_start(): atomic_try_cmpxchg(&panic_cpu, PANIC_CPU_INVALID, this cpu). Returns the old value. */
export function* panic_try_start(k: K): Guest<number> {
  return yield k.c.cas(k.L.g(GV.panic_cpu), PANIC_CPU_INVALID, k.cpu);
}

export function* panic_reset(k: K): Guest<void> {
  yield k.c.str(k.L.g(GV.panic_cpu), PANIC_CPU_INVALID);
}

function* mdelay(k: K, ms: number): Guest<void> {
  yield* delay_until(k, (yield k.c.now()) + ms * 1e6);
}

/**
 * vpanic(msg) (section 3.2), steps in order:
 *  2. local_irq_disable, preempt_disable;
 *  3. win panic_cpu, or self-stop if another CPU owns it;
 *  4. "Kernel panic - not syncing: <msg>";
 *  6. __crash_kexec(NULL) unless crash_kexec_post_notifiers;
 *  7. panic_other_cpus_shutdown: smp_send_stop, or crash_smp_send_stop with post_notifiers;
 *  8. panic notifiers, kmsg_dump;
 *  9. __crash_kexec(NULL) with post_notifiers;
 * 11. panic_timeout: reboot after N s (N > 0), at once (N < 0), or never (0);
 * 12. "---[ end Kernel panic - not syncing: <msg> ]---";
 * 13. IRQs on, spin with mdelay(PANIC_TIMER_STEP) forever.
 */
export const vpanic = guestFn<K>('vpanic', function* (k, msgId) {
  const c = k.c;
  const msg = k.rt.message(msgId, k.cpu);
  yield* local_irq_disable(k);
  yield c.ldadd(k.L.pcpu(k.cpu, PCPU.preempt_count), 1); // preempt_disable_notrace
  const old = yield* panic_try_start(k);
  if (old === PANIC_CPU_INVALID) {
    c.trace?.emit(T.PANIC, 1, msgId);
  } else if (old !== k.cpu) {
    c.trace?.emit(T.PANIC, 2, old);
    yield k.call('panic_smp_self_stop');
  } else {
    c.trace?.emit(T.PANIC, 3, msgId); // nested panic on the owning CPU: carry on
  }
  yield* pr_emerg(k, `Kernel panic - not syncing: ${msg}`);
  if (!k.cfg.crashKexecPostNotifiers) yield k.call('__crash_kexec', 0);
  // panic_other_cpus_shutdown(crash_kexec_post_notifiers)
  if (!k.cfg.crashKexecPostNotifiers) yield k.call('smp_send_stop');
  else yield k.call('crash_smp_send_stop');
  yield c.nop(); // atomic_notifier_call_chain(&panic_notifier_list, ...); kmsg_dump(KMSG_DUMP_PANIC)
  if (k.cfg.crashKexecPostNotifiers) yield k.call('__crash_kexec', 0);
  const timeout = k.cfg.panicTimeout;
  if (timeout > 0) {
    yield* pr_emerg(k, `Rebooting in ${timeout} seconds..`);
    for (let i = 0; i < timeout * 1000; i += PANIC_TIMER_STEP_MS) yield* mdelay(k, PANIC_TIMER_STEP_MS);
  }
  if (timeout !== 0) yield k.call('emergency_restart');
  yield* pr_emerg(k, `---[ end Kernel panic - not syncing: ${msg} ]---`);
  yield* local_irq_enable(k);
  const top = c.label();
  for (;;) {
    yield* mdelay(k, PANIC_TIMER_STEP_MS);
    yield c.b(top);
  }
}, { size: 160, traced: true });

export const panic = guestFn<K>('panic', function* (k, msgId) {
  c_trace_start(k, msgId);
  yield k.call('vpanic', msgId);
  return 0;
}, { size: 8, traced: true });

function c_trace_start(k: K, msgId: number): void {
  k.c.trace?.emit(T.PANIC, 0, msgId);
}

/** panic("%s...") with one of the fixed messages (die, make_task_dead). */
export const panic_str = guestFn<K>('panic_str', function* (k, id) {
  yield k.call('panic', id);
  return 0;
}, { size: 8 });

/**
 * nmi_panic(regs, msg) (section 3.4): panic if this CPU wins panic_cpu, self-stop
 * if another CPU owns it, return if this CPU already panics.
 */
export const nmi_panic = guestFn<K>('nmi_panic', function* (k, regs, msgId) {
  void regs;
  const old = yield* panic_try_start(k);
  if (old === PANIC_CPU_INVALID) yield k.call('panic', msgId);
  else if (old !== k.cpu) yield k.call('panic_smp_self_stop'); // nmi_panic_self_stop defaults to this on arm64
  return 0;
}, { size: 16 });

export const PANIC_FUNCTIONS = [vpanic, panic, panic_str, nmi_panic];

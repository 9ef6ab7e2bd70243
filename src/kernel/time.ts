/**
 * The arm64 generic timer driver's interrupt (drivers/clocksource/arm_arch_timer.c,
 * arch_timer_handler_virt) driving a periodic tick (HZ = 250) on the CPUs that
 * run a workload; idle CPUs run tickless (NO_HZ_IDLE).
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PCPU } from './layout.js';
import type { K } from './kernel.js';

export const TICK_NS = 4_000_000;

/**
 * Waits until guest time `until`, whatever wakes the wait early (a WFE returns at once when the
 * event register is set, as it is after any exception return): the body of mdelay/usleep.
 */
export function* delay_until(k: K, until: number): Guest<void> {
  for (;;) {
    if ((yield k.c.now()) >= until) return;
    yield k.c.waitUntil(until);
  }
}

export function* arch_timer_start(k: K): Guest<void> {
  yield k.c.msr(SYS.CNTV_CVAL_EL0, (yield k.c.now()) + TICK_NS);
  yield k.c.msr(SYS.CNTV_CTL_EL0, 1);
}

export const arch_timer_handler_virt = guestFn<K>('arch_timer_handler_virt', function* (k) {
  const c = k.c;
  const ctl = yield c.mrs(SYS.CNTV_CTL_EL0);
  if (!(ctl & 4)) return 0; // ISTATUS clear: not ours
  const cval = yield c.mrs(SYS.CNTV_CVAL_EL0);
  const now = yield c.now();
  let next = cval + TICK_NS;
  if (next <= now) next = now + TICK_NS;
  yield c.msr(SYS.CNTV_CVAL_EL0, next); // tick_program_event
  yield c.str(k.L.pcpu(k.cpu, PCPU.need_resched), 1); // scheduler_tick: time slice used up
  return 0;
}, { size: 24 });

export const TIME_FUNCTIONS = [arch_timer_handler_virt];

/**
 * kernel/sched/idle.c do_idle / default_idle_call and arch/arm64/kernel/idle.c
 * cpu_do_idle: the idle task sleeps in WFI with interrupts masked, so an
 * interrupt arriving between the check and the WFI is not lost, then takes it
 * when default_idle_call re-enables interrupts (observed idle CPUs' crash
 * notes point into default_idle_call).
 */
import { guestFn } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PSR_I, PSR_F } from '../../cpus/pstate.js';
import { GIC_PRIO_IRQON, GIC_PRIO_PSR_I_SET } from './daifflags.js';
import { local_irq_disable, local_irq_enable } from './irqflags.js';
import { ct_cpuidle_enter, ct_cpuidle_exit } from './entry-common.js';
import type { K } from './kernel.js';

export const do_idle = guestFn<K>('do_idle', function* (k) {
  const c = k.c;
  const top = c.label();
  for (;;) {
    yield* local_irq_disable(k);
    yield k.call('default_idle_call');
    yield c.b(top);
  }
}, { size: 16 });

/**
 * default_idle_call: ct_cpuidle_enter() (RCU stops watching: an extended
 * quiescent state), arch_cpu_idle, ct_cpuidle_exit(), local_irq_enable().
 */
export const default_idle_call = guestFn<K>('default_idle_call', function* (k) {
  yield* ct_cpuidle_enter(k);
  yield k.call('cpu_do_idle');
  yield* ct_cpuidle_exit(k);
  yield* local_irq_enable(k); // raw_local_irq_enable
  return 0;
}, { size: 16 });

/**
 * cpu_do_idle: dsb(sy); wfi. With pseudo-NMI (__cpu_do_idle_irqprio): mask
 * with PSTATE.I|F and unmask PMR so that WFI wakes on anything, then restore.
 */
export const cpu_do_idle = guestFn<K>('cpu_do_idle', function* (k) {
  const c = k.c;
  if (k.cfg.pseudoNmi) {
    const daif = yield c.mrs(SYS.DAIF);
    yield c.msr(SYS.DAIF, daif | PSR_I | PSR_F);
    const pmr = yield c.mrs(SYS.ICC_PMR_EL1);
    yield c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON | GIC_PRIO_PSR_I_SET);
    yield c.dsb();
    yield c.wfi();
    yield c.msr(SYS.ICC_PMR_EL1, pmr);
    yield c.msr(SYS.DAIF, daif);
  } else {
    yield c.dsb();
    yield c.wfi();
  }
  return 0;
}, { size: 24 });

export const IDLE_FUNCTIONS = [do_idle, default_idle_call, cpu_do_idle];

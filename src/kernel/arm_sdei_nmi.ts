/**
 * drivers/firmware/arm_sdei_nmi.c of the SDEI cross-CPU NMI series
 * (reference linux-stop-paths.md sections 1.5, 2.5, 7.7). The FINAL form is
 * here; earlier revisions override the functions that differ (variants.ts).
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { mpidrOf } from '../../cpus/layout.js';
import { GV } from './layout.js';
import { pr_info, pr_warn, pr_err } from './printk.js';
import { read_cpumask } from './cpumask.js';
import { sdei_call, SDEI_FN, sdei_event_register_private, sdei_event_enable_private } from './arm_sdei.js';
import type { K } from './kernel.js';

/** sdei_nmi_init (device_initcall): FINAL returns early unless sdei_is_present(). */
export function* sdei_nmi_init_body(k: K, checkPresent: boolean): Guest<void> {
  const c = k.c;
  if (checkPresent && (yield c.ldr(k.L.g(GV.sdei_present))) === 0) return;
  if ((yield c.ldr(k.L.g(GV.sdei_present))) === 0) {
    yield* pr_err(k, 'sdei_nmi: failed to register event 0: -5');
    return;
  }
  yield* sdei_event_register_private(k, 0);
  yield* sdei_event_enable_private(k, 0);
  yield c.str(k.L.g(GV.sdei_nmi_available), 1);
  yield* pr_info(k, 'sdei_nmi: using SDEI cross-CPU NMI (SDEI_EVENT_SIGNAL, event 0)');
}

export const sdei_nmi_init = guestFn<K>('sdei_nmi_init', function* (k) {
  yield* sdei_nmi_init_body(k, true);
  return 0;
}, { size: 24 });

/** sdei_nmi_active(): sdei_nmi_available, set once at init. */
export const sdei_nmi_active = guestFn<K>('sdei_nmi_active', function* (k) {
  return yield k.c.ldr(k.L.g(GV.sdei_nmi_available));
}, { size: 8 });

/**
 * sdei_nmi_stop_cpus(mask): WRITE_ONCE(sdei_nmi_stopping, true), a
 * publication barrier, then SDEI_EVENT_SIGNAL(0, mpidr) to each CPU in the mask;
 * an error is printed, not fatal.
 */
export function* sdei_nmi_stop_cpus_body(k: K, mask: number, barrier: 'none' | 'smp_wmb' | 'dsb'): Guest<void> {
  const c = k.c;
  yield c.str(k.L.g(GV.sdei_nmi_stopping), 1);
  if (barrier === 'smp_wmb') yield c.dmb();
  else if (barrier === 'dsb') yield c.dsb();
  const cpus = yield* read_cpumask(k, mask);
  for (const cpu of cpus) {
    const err = yield* sdei_call(k, SDEI_FN.EVENT_SIGNAL, 0, mpidrOf(cpu) & 0xffffff);
    if (err) yield* pr_warn(k, `sdei_nmi: SDEI_EVENT_SIGNAL to CPU ${cpu} failed: ${err}`);
  }
}

export const sdei_nmi_stop_cpus = guestFn<K>('sdei_nmi_stop_cpus', function* (k, mask) {
  yield* sdei_nmi_stop_cpus_body(k, mask, 'dsb'); // FINAL: dsb(ishst), as Catalin asked
  return 0;
}, { size: 32, traced: true });

/**
 * sdei_nmi_handler(event, regs, arg): once stopping is set every event-0
 * delivery stops the CPU it lands on (never completing the event); otherwise
 * it is a backtrace request.
 */
export const sdei_nmi_handler = guestFn<K>('sdei_nmi_handler', function* (k, event, regs) {
  void event;
  if ((yield k.c.ldr(k.L.g(GV.sdei_nmi_stopping))) !== 0) yield k.call('arm64_nmi_cpu_stop', regs, 0);
  yield k.call('nmi_cpu_backtrace', regs);
  return 0;
}, { size: 16, traced: true });

/** nmi_cpu_backtrace: a no-op unless this CPU is in the backtrace mask (the model never requests backtraces). */
export const nmi_cpu_backtrace = guestFn<K>('nmi_cpu_backtrace', function* (k) {
  yield k.c.nop();
  return 0;
}, { size: 8 });

export const SDEI_NMI_FUNCTIONS = [sdei_nmi_init, sdei_nmi_active, sdei_nmi_stop_cpus, sdei_nmi_handler, nmi_cpu_backtrace];

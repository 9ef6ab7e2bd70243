/**
 * `sdei-v3`: "arm64: cross-CPU NMI via SDEI" v3 (reference V3): one stop
 * function arm64_nmi_cpu_stop for the IPI, self-stop and SDEI callers, and
 * the SDEI rung in smp_send_stop. Its crash save is `if (crash)
 * crash_save_cpu(regs, cpu)`, so a self-stop (regs == NULL) after crash_stop
 * is set dereferences NULL. The barrier before SDEI_EVENT_SIGNAL is not
 * visible in the v3 posting; the model uses none.
 */
import { guestFn } from '../../../cpus/isa.js';
import { defineVariant } from './registry.js';
import { GV, PCPU } from '../layout.js';
import { set_cpu_online } from '../cpumask.js';
import { local_daif_mask } from '../daifflags.js';
import { smp_send_stop_ladder, handle_other_ipi } from '../smp.js';
import { IPI } from '../irq-gic-v3.js';
import { SDEI_NMI_FUNCTIONS, sdei_nmi_init_body, sdei_nmi_stop_cpus_body } from '../arm_sdei_nmi.js';
import type { K } from '../kernel.js';

/**
 * arm64_nmi_cpu_stop(regs, die_on_crash) as in v3 (section 2.4): crash
 * sampled once, DAIF masked first, then the crash save, offline, SDEI masked,
 * CPU_OFF for a crash stop from the IPI, park. `crashNeedsRegs` is v4's one
 * change: `if (crash && regs)` instead of `if (crash)`.
 */
export function arm64NmiCpuStop(o: { readonly crashNeedsRegs: boolean }) {
  return guestFn<K>('arm64_nmi_cpu_stop', function* (k, regs, dieOnCrash) {
    const cpu = k.cpu;
    const crash = (yield k.c.ldr(k.L.g(GV.crash_stop))) !== 0;
    yield* local_daif_mask(k);
    if (crash && (regs !== 0 || !o.crashNeedsRegs)) yield k.call('crash_save_cpu', regs, cpu);
    yield* set_cpu_online(k, cpu, false);
    yield k.call('sdei_mask_local_cpu');
    if (crash && dieOnCrash) yield k.call('__cpu_try_die', cpu);
    yield k.call('cpu_park_loop');
    return 0;
  }, { size: 32, traced: true });
}

export const arm64_nmi_cpu_stop = arm64NmiCpuStop({ crashNeedsRegs: false });

/** do_handle_IPI: both stop IPIs call arm64_nmi_cpu_stop(get_irq_regs(), true). */
export const do_handle_IPI = guestFn<K>('do_handle_IPI', function* (k, ipinr) {
  if (ipinr === IPI.CPU_STOP || ipinr === IPI.CPU_STOP_NMI) {
    const regs = yield k.c.ldr(k.L.pcpu(k.cpu, PCPU.irq_regs));
    yield k.call('arm64_nmi_cpu_stop', regs, 1);
  } else {
    yield* handle_other_ipi(k, ipinr);
  }
  return 0;
}, { size: 48, traced: true });

/** panic_smp_self_stop: arm64_nmi_cpu_stop(NULL, false). */
export const panic_smp_self_stop = guestFn<K>('panic_smp_self_stop', function* (k) {
  yield k.call('arm64_nmi_cpu_stop', 0, 0);
  return 0;
}, { size: 8, traced: true });

/** smp_send_stop with the SDEI rung between the NMI rung and the failure warning (section 1.5). */
export const smp_send_stop = guestFn<K>('smp_send_stop', function* (k) {
  yield* smp_send_stop_ladder(k, { sdeiRung: true });
  return 0;
}, { size: 160, traced: true });

export const sdei_nmi_init = guestFn<K>('sdei_nmi_init', function* (k) {
  yield* sdei_nmi_init_body(k, false);
  return 0;
}, { size: 24 });

export const sdei_nmi_stop_cpus = guestFn<K>('sdei_nmi_stop_cpus', function* (k, mask) {
  yield* sdei_nmi_stop_cpus_body(k, mask, 'none');
  return 0;
}, { size: 32, traced: true });

export const SDEI_V3 = defineVariant({
  name: 'sdei-v3',
  base: 'base',
  description: 'the SDEI stop series at v3: SDEI rung, one stop function, NULL-regs crash save in the self-stop path',
  functions: [
    ...SDEI_NMI_FUNCTIONS.filter((f) => f.name !== 'sdei_nmi_init' && f.name !== 'sdei_nmi_stop_cpus'),
    sdei_nmi_init, sdei_nmi_stop_cpus, arm64_nmi_cpu_stop, do_handle_IPI, panic_smp_self_stop, smp_send_stop,
  ],
});

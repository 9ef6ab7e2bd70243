/**
 * `sdei-v4`: the series at v4, written as a patch on sdei-v3 (reference V4):
 * the crash save becomes `if (crash && regs)` (no NULL dereference for the
 * self-stopping panic loser), and smp_wmb() is placed before the SDEI signals.
 */
import { guestFn } from '../../../cpus/isa.js';
import { defineVariant } from './registry.js';
import { GV } from '../layout.js';
import { set_cpu_online } from '../cpumask.js';
import { local_daif_mask } from '../daifflags.js';
import { sdei_nmi_stop_cpus_body } from '../arm_sdei_nmi.js';
import type { K } from '../kernel.js';

export const arm64_nmi_cpu_stop = guestFn<K>('arm64_nmi_cpu_stop', function* (k, regs, dieOnCrash) {
  const cpu = k.cpu;
  const crash = (yield k.c.ldr(k.L.g(GV.crash_stop))) !== 0;
  yield* local_daif_mask(k);
  if (crash && regs !== 0) yield k.call('crash_save_cpu', regs, cpu); // v4: `if (crash && regs)`
  yield* set_cpu_online(k, cpu, false);
  yield k.call('sdei_mask_local_cpu');
  if (crash && dieOnCrash) yield k.call('__cpu_try_die', cpu);
  yield k.call('cpu_park_loop');
  return 0;
}, { size: 32, traced: true });

export const sdei_nmi_stop_cpus = guestFn<K>('sdei_nmi_stop_cpus', function* (k, mask) {
  yield* sdei_nmi_stop_cpus_body(k, mask, 'smp_wmb');
  return 0;
}, { size: 32, traced: true });

export const SDEI_V4 = defineVariant({
  name: 'sdei-v4',
  base: 'sdei-v3',
  description: 'the series at v4: `crash && regs` fix, smp_wmb() before the SDEI signal',
  functions: [arm64_nmi_cpu_stop, sdei_nmi_stop_cpus],
});

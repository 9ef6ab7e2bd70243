/**
 * `sdei-v4`: the series at v4, written as a patch on sdei-v3 (reference V4):
 * the crash save becomes `if (crash && regs)` (no NULL dereference for the
 * self-stopping panic loser), and smp_wmb() is placed before the SDEI signals.
 */
import { guestFn } from '../../../cpus/isa.js';
import { defineVariant } from './registry.js';
import { arm64NmiCpuStop } from './sdei-v3.js';
import { sdei_nmi_stop_cpus_body } from '../arm_sdei_nmi.js';
import type { K } from '../kernel.js';

/** v4: `if (crash && regs) crash_save_cpu(regs, cpu)`. */
export const arm64_nmi_cpu_stop = arm64NmiCpuStop({ crashNeedsRegs: true });

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

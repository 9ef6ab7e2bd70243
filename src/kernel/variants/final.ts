/**
 * `final`: the series as merged (reference FINAL): v4 plus dsb(ishst) before
 * the SDEI signals (Catalin's review) and an init that returns early unless
 * SDEI is present.
 */
import { guestFn } from '../../../cpus/isa.js';
import { defineVariant } from './registry.js';
import { sdei_nmi_init, sdei_nmi_stop_cpus } from '../arm_sdei_nmi.js';
import type { K } from '../kernel.js';

export const FINAL = defineVariant({
  name: 'final',
  base: 'sdei-v4',
  description: 'mainline form of the series: v4 plus dsb(ishst) before the SDEI signal',
  functions: [sdei_nmi_stop_cpus, sdei_nmi_init] as ReturnType<typeof guestFn<K>>[],
});

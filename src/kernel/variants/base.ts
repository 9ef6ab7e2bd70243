/**
 * `base`: mainline arm64 before the SDEI series (reference BASE): IPI rung,
 * then the pseudo-NMI rung when priority masking is in use; local_cpu_stop
 * and ipi_cpu_crash_stop; panic_smp_self_stop = local_cpu_stop.
 */
import { defineVariant } from './registry.js';
import { GIC_FUNCTIONS } from '../irq-gic-v3.js';
import { ENTRY_FUNCTIONS } from '../entry.js';
import { SMP_FUNCTIONS } from '../smp.js';
import { PANIC_FUNCTIONS } from '../panic.js';
import { CRASH_FUNCTIONS } from '../crash.js';
import { REBOOT_FUNCTIONS } from '../reboot.js';
import { ARM_SDEI_FUNCTIONS } from '../arm_sdei.js';
import { SDEI_ARCH_FUNCTIONS } from '../sdei.js';
import { nmi_cpu_backtrace } from '../arm_sdei_nmi.js';
import { TRAP_FUNCTIONS } from '../traps.js';
import { IDLE_FUNCTIONS } from '../idle.js';
import { TIME_FUNCTIONS } from '../time.js';
import { ROLE_FUNCTIONS } from '../roles.js';
import { MAIN_FUNCTIONS } from '../main.js';

export const BASE = defineVariant({
  name: 'base',
  description: 'mainline before the SDEI series: IPI rung, then the pseudo-NMI rung if enabled',
  functions: [
    ...MAIN_FUNCTIONS, ...GIC_FUNCTIONS, ...ENTRY_FUNCTIONS, ...SMP_FUNCTIONS, ...PANIC_FUNCTIONS, ...CRASH_FUNCTIONS,
    ...REBOOT_FUNCTIONS, ...ARM_SDEI_FUNCTIONS, ...SDEI_ARCH_FUNCTIONS, nmi_cpu_backtrace, ...TRAP_FUNCTIONS,
    ...IDLE_FUNCTIONS, ...TIME_FUNCTIONS, ...ROLE_FUNCTIONS,
  ],
});

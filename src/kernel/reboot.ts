/**
 * kernel/reboot.c (kernel_restart, kernel_power_off, emergency_restart) and
 * arch/arm64/kernel/process.c (machine_restart, machine_power_off), with the
 * PSCI reset/off calls of drivers/firmware/psci/psci.c.
 */
import { guestFn } from '../../cpus/isa.js';
import { GV, SYSTEM } from './layout.js';
import { local_irq_disable } from './irqflags.js';
import { pr_emerg } from './printk.js';
import type { K } from './kernel.js';
import { PSCI } from '../../firmware/psci.js';

// The SMCCC function IDs are the firmware's (one ABI table for both sides of the SMC).
export const PSCI_SYSTEM_OFF = PSCI.SYSTEM_OFF;
export const PSCI_SYSTEM_RESET = PSCI.SYSTEM_RESET;

/** kernel_restart(cmd): reboot notifiers (the SDEI driver resets the platform), SYSTEM_RESTART, then machine_restart. */
export const kernel_restart = guestFn<K>('kernel_restart', function* (k) {
  yield k.call('reboot_notifiers', 1); // SYS_RESTART
  yield k.c.str(k.L.g(GV.system_state), SYSTEM.RESTART);
  yield* pr_emerg(k, 'Restarting system');
  yield k.call('machine_restart');
  return 0;
}, { size: 24, traced: true });

/** kernel_power_off(): kernel_shutdown_prepare(SYSTEM_POWER_OFF) (notifiers), "Power down", machine_power_off. */
export const kernel_power_off = guestFn<K>('kernel_power_off', function* (k) {
  yield k.call('reboot_notifiers', 3); // SYS_POWER_OFF
  yield k.c.str(k.L.g(GV.system_state), SYSTEM.POWER_OFF);
  yield* pr_emerg(k, 'Power down');
  yield k.call('machine_power_off');
  return 0;
}, { size: 24, traced: true });

/** The reboot notifier chain: the SDEI driver's sdei_reboot_notifier when SDEI was probed. */
export const reboot_notifiers = guestFn<K>('reboot_notifiers', function* (k, action) {
  if ((yield k.c.ldr(k.L.g(GV.sdei_present))) !== 0) yield k.call('sdei_reboot_notifier', action);
  return 0;
}, { size: 16 });

/** emergency_restart -> machine_emergency_restart -> machine_restart(NULL): no notifiers. */
export const emergency_restart = guestFn<K>('emergency_restart', function* (k) {
  yield k.call('machine_restart');
  return 0;
}, { size: 8, traced: true });

/**
 * machine_restart(cmd): IRQs off, smp_send_stop, then the restart handler
 * (PSCI SYSTEM_RESET for the default cold reboot_mode); if that returns,
 * "Reboot failed -- System halted" and a spin.
 */
export const machine_restart = guestFn<K>('machine_restart', function* (k) {
  yield* local_irq_disable(k);
  yield k.call('smp_send_stop');
  yield k.c.smc(PSCI_SYSTEM_RESET);
  yield* pr_emerg(k, 'Reboot failed -- System halted');
  for (;;) yield k.c.waitUntil(Infinity);
}, { size: 24, traced: true });

/** machine_power_off(): IRQs off, smp_send_stop, pm_power_off (PSCI SYSTEM_OFF). */
export const machine_power_off = guestFn<K>('machine_power_off', function* (k) {
  yield* local_irq_disable(k);
  yield k.call('smp_send_stop');
  yield k.c.smc(PSCI_SYSTEM_OFF);
  for (;;) yield k.c.waitUntil(Infinity);
}, { size: 24, traced: true });

export const REBOOT_FUNCTIONS = [kernel_restart, kernel_power_off, reboot_notifiers, emergency_restart, machine_restart, machine_power_off];

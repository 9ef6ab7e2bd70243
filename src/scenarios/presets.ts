/**
 * Named scenarios: one per wedge mode and one per race window of reference
 * section 8 that the model reaches (the timings of the narrow windows were
 * found with `smpstop stress` and are kept here so they replay).
 */
import type { ScenarioInput } from './schema.js';
import { ENTRY_PRESETS } from './entry-presets.js';

/** A named scenario (`smpstop list presets`). */
export interface Preset {
  readonly name: string;
  readonly description: string;
  readonly scenario: ScenarioInput;
}

const panic0 = { kind: 'panic' as const, cpu: 0, atUs: 100 };
const crashKernel = { variant: 'final', kdump: true };

function wedge(mode: string, extra: Record<string, unknown> = {}): ScenarioInput {
  return { cpus: 4, kernel: crashKernel, faults: [{ cpu: 1, wedge: mode, ...extra } as never], triggers: [panic0] };
}

export const PRESETS: readonly Preset[] = [
  {
    name: 'default',
    description: 'panic with kdump on CPU 0 while CPU 1 spins with IRQs off: the IPI rung fails, the SDEI rung stops it (kernel final)',
    scenario: { cpus: 4, kernel: crashKernel, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [panic0] },
  },
  { name: 'panic', description: 'panic with kdump, every CPU responsive', scenario: { cpus: 4, kernel: crashKernel, triggers: [panic0] } },
  { name: 'panic-no-kdump', description: 'panic without a crash kernel: ordinary stop, reboot after panic_timeout', scenario: { cpus: 4, triggers: [panic0] } },
  { name: 'reboot', description: 'reboot (kernel_restart) on CPU 0', scenario: { cpus: 4, triggers: [{ kind: 'reboot', cpu: 0, atUs: 100 }] } },
  { name: 'poweroff', description: 'power-off (kernel_power_off) on CPU 0', scenario: { cpus: 4, triggers: [{ kind: 'poweroff', cpu: 0, atUs: 100 }] } },
  { name: 'workload-panic', description: 'panic while CPUs 1-3 run spinlock/IRQ/tick workloads', scenario: { cpus: 4, kernel: crashKernel, workload: [1, 2, 3], triggers: [{ kind: 'panic', cpu: 0, atUs: 2000 }] } },
  { name: 'wedge-irqs-off', description: 'CPU 1 in local_irq_disable(); for(;;) (LKDTM HARDLOCKUP), panic with kdump', scenario: wedge('irqs-off') },
  { name: 'wedge-daif-masked', description: 'CPU 1 spins after local_daif_mask(): only SDEI can reach it', scenario: wedge('daif-masked') },
  { name: 'wedge-sdei-masked', description: 'CPU 1 spins with DAIF masked and SDEI PE_MASK: nothing can reach it', scenario: wedge('sdei-masked') },
  { name: 'wedge-in-firmware', description: 'CPU 1 stuck at EL3 in an SMC forever', scenario: wedge('in-firmware') },
  { name: 'wedge-in-firmware-short', description: 'CPU 1 stuck at EL3 for 500 us, then back in the kernel with IRQs on', scenario: wedge('in-firmware', { durationUs: 500 }) },
  { name: 'wedge-offline', description: 'CPU 1 hot-unplugged (PSCI CPU_OFF) before the panic', scenario: wedge('offline') },
  {
    name: 'parallel-panic',
    description: 'R5: CPU 1 hard-locked, its lockup detector panics 200 us after CPU 0 did: the loser self-stops after crash_stop is set (sdei-v3: NULL regs)',
    scenario: { cpus: 4, kernel: { variant: 'sdei-v3', kdump: true }, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [panic0, { kind: 'panic', cpu: 1, atUs: 300 }] },
  },
  {
    name: 'parallel-panic-idle',
    description: 'R5: CPUs 0 and 1 panic at the same time from idle',
    scenario: { cpus: 4, kernel: crashKernel, triggers: [panic0, { kind: 'panic', cpu: 1, atUs: 100 }] },
  },
  {
    name: 'reboot-vs-panic',
    description: 'R7: CPU 0 reboots; CPU 1 (IRQs off) panics with kdump while CPU 0 waits in rung 1; with pseudo-NMI, rung 2 can stop the panicking CPU',
    scenario: {
      cpus: 3, kernel: { variant: 'final', kdump: true, pseudoNmi: true, sdeiDriver: false }, firmware: { sdei: false },
      faults: [{ cpu: 1, wedge: 'irqs-off' }],
      triggers: [{ kind: 'reboot', cpu: 0, atUs: 100 }, { kind: 'panic', cpu: 1, atUs: 1010099.9 }],
    },
  },
  ...ENTRY_PRESETS,
];

export function getPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}

/** `smpstop list`: presets, kernel variants, wedge modes, quirks and checkers, one line each. */
import { PRESETS } from '../scenarios/presets.js';
import { listVariants, variantChain } from '../kernel/variants/index.js';
import { WEDGE_MODES, TRIGGER_KINDS } from '../kernel/runtime.js';
import { QUIRKS } from '../../firmware/quirks.js';
import { listCheckers } from '../check/checkers.js';
import { listFaults } from '../kernel/faults.js';

export const WEDGE_DESCRIPTIONS: Record<string, string> = {
  'irqs-off': 'local_irq_disable() then spin (LKDTM HARDLOCKUP): with pseudo-NMI only PMR masks, so the NMI rung reaches it',
  'daif-masked': 'local_daif_mask() then spin: no IRQ or pseudo-NMI, only an SDEI dispatch from EL3 reaches it',
  'sdei-masked': 'DAIF masked and SDEI PE_MASK, then spin: nothing reaches it',
  'in-firmware': 'stuck at EL3 inside an SMC, for durationUs or forever: no interrupt and no SDEI dispatch is taken',
  offline: 'CPU hot-unplug (offline, SDEI teardown, PSCI CPU_OFF) before the trigger',
};

export const TRIGGER_DESCRIPTIONS: Record<string, string> = {
  panic: "the CPU's own code calls panic() at that time",
  reboot: 'kernel_restart(): reboot notifiers, then machine_restart()',
  poweroff: 'kernel_power_off(): shutdown notifiers, then machine_power_off()',
};

export function listText(what?: string): string {
  const sections: [string, [string, string][]][] = [
    ['presets', PRESETS.map((p) => [p.name, p.description])],
    ['kernels', listVariants().map((v) => [v.name, `${v.description}${v.base ? ` (${variantChain(v.name).join(' -> ')})` : ''}`])],
    ['wedges', WEDGE_MODES.map((w) => [w, WEDGE_DESCRIPTIONS[w] ?? ''])],
    ['faults', listFaults().map((f) => [f.name, f.description])],
    ['triggers', TRIGGER_KINDS.map((t) => [t, TRIGGER_DESCRIPTIONS[t] ?? ''])],
    ['quirks', Object.entries(QUIRKS)],
    ['checkers', listCheckers().map((c) => [c.id, c.description])],
  ];
  const out: string[] = [];
  for (const [name, rows] of sections) {
    if (what && what !== name) continue;
    if (rows.length === 0) {
      out.push(`${name}: none${name === 'faults' ? ' (a --kernel-module defines them with defineFault)' : ''}`, '');
      continue;
    }
    out.push(`${name}:`);
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, d] of rows) out.push(`  ${k.padEnd(w)}  ${d}`);
    out.push('');
  }
  return out.join('\n').trimEnd();
}

export const LIST_TOPICS = ['presets', 'kernels', 'wedges', 'faults', 'triggers', 'quirks', 'checkers'] as const;

/**
 * Presets of the entry-code and interrupt-pipeline models (issue 6;
 * reference linux-stop-paths.md 6.6-6.9), listed with the others in
 * presets.ts.
 */
import type { ScenarioInput } from './schema.js';

interface Preset {
  readonly name: string;
  readonly description: string;
  readonly scenario: ScenarioInput;
}

/**
 * The reproduction of reference 6.9: kernel threads on CPU 1 keep taking
 * EL1 data aborts on a user address (fixed up through the exception table)
 * and yielding, while CPU 2 keeps setting need_resched on CPU 1
 * (resched_curr, then IPI_RESCHEDULE); CPU 0 powers off after 300 us.
 */
export function preemptDaMasked(entry: string, pseudoNmi = false, extra: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    cpus: 3,
    kernel: { entry, pseudoNmi },
    entryTest: { cpus: [1], wakers: [2] },
    triggers: [{ kind: 'poweroff', cpu: 0, atUs: 300 }],
    ...extra,
  };
}

/** Injections into the reproduction: a breakpoint and a watchpoint on what the threads run, then an SError. */
export const INJECTIONS = [
  { cpu: 1, inject: 'breakpoint' as const, atUs: 150 },
  { cpu: 1, inject: 'watchpoint' as const, atUs: 150 },
  { cpu: 1, inject: 'serror' as const, atUs: 200 },
];

export const ENTRY_PRESETS: readonly Preset[] = [
  {
    name: 'preempt-da-masked',
    description: '6.9: kernel threads on CPU 1 fault on user addresses while CPU 2 keeps setting need_resched; generic-preempt preempts with DAIF masked (try --entry split-exit)',
    scenario: preemptDaMasked('generic-preempt'),
  },
  {
    name: 'preempt-da-masked-inject',
    description: 'preempt-da-masked plus a breakpoint, a watchpoint and an SError on CPU 1: missed while D and A are wrongly masked',
    scenario: preemptDaMasked('generic-preempt', false, { faults: INJECTIONS }),
  },
  {
    name: 'preempt-da-masked-brk',
    description: 'the threads take BRK instead of a fault: el1_dbg never preempts, so even generic-preempt is clean (6.1)',
    scenario: preemptDaMasked('generic-preempt', false, { entryTest: { cpus: [1], wakers: [2], fault: 'brk' } }),
  },
  {
    name: 'pipeline-irqs-off',
    description: 'interrupt pipeline: CPU 1 in local_irq_disable(); for(;;) only stalls its in-band stage; the out-of-band stop IPI stops it at rung 1',
    scenario: { cpus: 4, kernel: { variant: 'final', kdump: true, irqPipeline: true }, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }] },
  },
  {
    name: 'pipeline-entry-test',
    description: 'interrupt pipeline with the entry test: in-band IRQs logged and replayed, an out-of-band timer whose faults skip the epilogue; latency per stage',
    scenario: { ...preemptDaMasked('split-exit'), kernel: { entry: 'split-exit', irqPipeline: true } },
  },
];

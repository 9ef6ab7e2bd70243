/**
 * A user checker (examples/stopped-twice.ts) over the R2 window: CPU 1 runs
 * with IRQs off until just before the rung-1 deadline, takes the stop IPI,
 * and the SDEI rung, signalled a few nanoseconds later, lands on it while it
 * is still in the IPI stop. The checker flags those runs, and only those;
 * on a clean run it is silent.
 */
import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runScenario, listCheckers, loadModules } from 'smpstop';

const STOPPED_TWICE = fileURLToPath(new URL('../dist/examples/stopped-twice.js', import.meta.url));
const modules = [STOPPED_TWICE];

describe('checker stopped-twice', () => {
  it('is registered by its module', async () => {
    await loadModules(modules);
    expect(listCheckers().map((c) => c.id)).toContain('stopped-twice');
  });

  it('fires on CPUs stopped by ipi then sdei (R2), and only on them', async () => {
    let fired = 0;
    for (let i = 0; i < 40; i++) {
      const ipiDelayUs = Math.round((1010009.5 + i * 0.04) * 1000) / 1000; // acceptance sweeps across the deadline
      const r = await runScenario({
        cpus: 3, kernel: { variant: 'final', kdump: true },
        faults: [{ cpu: 1, ipiDelayUs, atUs: 90 }], triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }],
      }, { seed: 1, modules });
      const twice = r.violations.filter((v) => v.id === 'stopped-twice');
      const stops = r.cpus[1]!.stops.map((s) => s.how);
      if (stops.length > 1) {
        fired++;
        expect(stops, r.replay).toEqual(['ipi', 'sdei']);
        expect(twice, r.replay).toHaveLength(1);
        expect(twice[0]!.cpu).toBe(1);
        expect(twice[0]!.message).toBe('CPU 1 was stopped 2 times: ipi (arm64_nmi_cpu_stop), then sdei (arm64_nmi_cpu_stop)');
      } else {
        expect(twice, r.replay).toEqual([]);
      }
    }
    expect(fired).toBeGreaterThan(0);
  });

  it('is silent on a clean run', async () => {
    const r = await runScenario({ cpus: 4, kernel: { variant: 'final', kdump: true }, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }] }, { modules });
    expect(r.cpus[1]!.stoppedBy).toBe('sdei');
    expect(r.violations).toEqual([]);
  });
});

/**
 * The outcome table of a user variant (examples/my-v5.ts: the SDEI rung
 * before the pseudo-NMI rung), asserted over 200 sim scheduler seeds per row:
 * a panic on CPU 0 while CPU 1 is wedged, CPU 2 responsive. Compared with
 * `final`, a CPU spinning with IRQs off under pseudo-NMI is now stopped by
 * SDEI and parked inside the event, instead of by the NMI IPI and powered off.
 */
import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runScenario, type RunResult, type CpuResult } from 'smpstop';

/** The compiled variant module (examples/tsconfig.json compiles examples/ to dist/examples/). */
const MY_V5 = fileURLToPath(new URL('../dist/examples/my-v5.js', import.meta.url));
const SEEDS = 200;

type Row = [wedge: 'irqs-off' | 'daif-masked' | 'sdei-masked', pseudoNmi: boolean, kdump: boolean,
  stoppedBy: CpuResult['stoppedBy'], note: string | null, ends: CpuResult['state'], failedToStop: number[]];

const TABLE: Row[] = [
  // wedge on CPU 1  pseudo-NMI  kdump  CPU 1 stopped by  CPU 1 note                 CPU 1 ends   "failed to stop"
  ['irqs-off',       true,       true,  'sdei',           'lkdtm_HARDLOCKUP',          'parked',    []],
  ['irqs-off',       true,       false, 'sdei',           null,                        'parked',    []],
  ['irqs-off',       false,      true,  'sdei',           'lkdtm_HARDLOCKUP',          'parked',    []],
  ['daif-masked',    true,       true,  'sdei',           'wedge_daif_masked',         'parked',    []],
  ['sdei-masked',    true,       true,  'none',           null,                        'running',   [1]],
];

const fn = (symbol: string): string => symbol.replace(/\+0x[0-9a-f]+$/, '');
/** A stopped CPU may still be on its way through its stop path when CPU 0 ends the run (offline is not quiescent). */
const STOP_PATH = ['arm64_nmi_cpu_stop', 'crash_save_cpu', 'sdei_mask_local_cpu', 'cpu_park_loop', '__cpu_try_die', 'do_handle_IPI', 'sdei_nmi_handler'];
const ends = (c: CpuResult): string => (c.state === 'running' && c.stops.length > 0 && STOP_PATH.includes(fn(c.symbol)) ? 'stopping' : c.state);

describe('my-v5: CPU 1 wedged, CPU 0 panics', () => {
  it.each(TABLE)('%s, pseudo-NMI %s, kdump %s: CPU 1 stopped by %s, note %s, ends %s', async (wedge, pseudoNmi, kdump, by, note, state, failed) => {
    const scenario = {
      cpus: 3, kernel: { variant: 'my-v5', pseudoNmi, kdump },
      faults: [{ cpu: 1, wedge }], triggers: [{ kind: 'panic' as const, cpu: 0, atUs: 100 }],
    };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r: RunResult = await runScenario(scenario, { engine: 'sim', seed, modules: [MY_V5] });
      const [c0, c1, c2] = r.cpus as [CpuResult, CpuResult, CpuResult];
      const where = r.replay;
      expect(r.outcome, where).toBe(kdump ? 'kexec' : 'reset');
      expect(r.violations, where).toEqual([]);
      expect(c1.stoppedBy, where).toBe(by);
      expect(c1.crashNote ? fn(c1.crashNote.symbol) : null, where).toBe(note);
      expect(state === 'parked' ? ['parked', 'stopping'] : [state], where).toContain(ends(c1));
      expect(r.failedToStop, where).toEqual(failed);
      expect(c2.stoppedBy, where).toBe('ipi'); // the responsive CPU: rung 1
      expect(c2.crashNote !== null, where).toBe(kdump);
      expect(c0.crashNote ? fn(c0.crashNote.symbol) : null, where).toBe(kdump ? '__crash_kexec' : null);
      // The new rung order, from the kernel log: SDEI is tried before the pseudo-NMI, which is never needed.
      const log = r.log.map((l) => l.text);
      if (wedge !== 'sdei-masked') expect(log, where).toContain('SMP: retry stop with SDEI NMI for CPUs 1');
      expect(log.filter((t) => t.startsWith('SMP: retry stop with NMI')), where).toEqual(wedge === 'sdei-masked' && pseudoNmi ? ['SMP: retry stop with NMI for CPUs 1'] : []);
    }
  });

  it('final, for comparison: the pseudo-NMI rung stops the irqs-off CPU, which powers off', async () => {
    const r = await runScenario({ cpus: 3, kernel: { variant: 'final', pseudoNmi: true, kdump: true }, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }] });
    expect(r.cpus[1]!.stoppedBy).toBe('nmi');
    expect(r.cpus[1]!.state).toBe('off');
  });
});

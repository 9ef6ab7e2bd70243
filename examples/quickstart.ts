/**
 * A plain script against the library: run the default scenario (panic on
 * CPU 0, CPU 1 spinning with IRQs off) with pseudo-NMI on the user variant
 * my-v5, in both engines, print the summary, and write a Perfetto trace and
 * a vmcore of the sim run. Compile it with my-v5.ts and run it:
 *
 *     npx tsc && node quickstart.js [OUTDIR]
 */
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPreset, parseScenario, runScenarioDetailed, formatSummary, writeTrace, writeVmcore, shutdownThreadsEngine } from 'smpstop';

const MY_V5 = fileURLToPath(new URL('./my-v5.js', import.meta.url));
const outDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'smpstop-quickstart-'));

const preset = getPreset('default')!.scenario;
const scenario = parseScenario({ ...preset, kernel: { ...preset.kernel, variant: 'my-v5', pseudoNmi: true } });

try {
  for (const engine of ['sim', 'threads'] as const) {
    const run = await runScenarioDetailed(scenario, { engine, seed: 1, modules: [MY_V5] });
    const r = run.result;
    console.log(formatSummary(r));
    const c1 = r.cpus[1]!;
    console.log(`${engine}: outcome ${r.outcome}; CPU 1 stopped by ${c1.stoppedBy}, note ${c1.crashNote?.symbol ?? 'none'}; violations ${r.violations.length}`);
    if (engine === 'sim') {
      const trace = await writeTrace(run, join(outDir, 'my-v5.trace.json'));
      const core = await writeVmcore(run, join(outDir, 'my-v5.vmcore'));
      console.log(`trace ${trace.bytes} bytes; vmcore notes for CPUs ${core.notes.map((n) => n.cpu).join(',')}`);
    }
  }
} finally {
  await shutdownThreadsEngine();
}

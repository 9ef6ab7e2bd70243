/**
 * Finding a re-introduced bug with a stress campaign, through the API:
 * examples/null-regs.ts is sdei-v4 with the v3 NULL-regs crash save back. A
 * 50-run campaign finds null-deref-in-stop-path; the same 50 runs on sdei-v4
 * (one kernel drawn from, so run i is the same scenario) do not. The failure
 * then replays deterministically and shrinks to two CPUs.
 */
import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runCampaign, reproduce, checkFlaky, shrink, runScenario } from 'smpstop';

const NULL_REGS = fileURLToPath(new URL('../dist/examples/null-regs.js', import.meta.url));
const campaign = { seed: 7, iterations: 50, modules: [NULL_REGS] };

describe('v4-null-regs: the v3 self-stop bug, re-introduced', () => {
  it('a stress campaign finds it, replays it and shrinks it; sdei-v4 is clean on the same runs', async () => {
    const bad = await runCampaign({ ...campaign, kernels: ['v4-null-regs'] });
    expect(bad.runs).toBe(50);
    const found = bad.failures.find((f) => f.id === 'null-deref-in-stop-path');
    expect(found, JSON.stringify(bad.failures.map((f) => f.id))).toBeDefined();
    expect(found!.example.violations[0]!.message).toMatch(/dereferenced 0x0 at crash_save_cpu\+0x10 while stopping/);
    expect(found!.example.stoppedBy).toContain('self+ipi'); // the self-stopping panic loser

    const again = await reproduce(found!.replayFile);
    expect(again.reproduced).toBe(true);
    const flaky = await checkFlaky(found!.replayFile, 10);
    expect(flaky.recurred).toBe(10); // a schedule-independent bug: every scheduler seed finds it

    const min = await shrink(found!.replayFile, { budget: 100 });
    expect(min).not.toBeNull();
    expect(min!.scenario.cpus).toBe(2);
    expect(min!.result.violations.map((v) => v.id)).toContain('null-deref-in-stop-path');
    // The smallest reproducer, on the fixed kernel: clean.
    const fixed = await runScenario({ ...min!.scenario, kernel: { ...min!.scenario.kernel, variant: 'sdei-v4' } }, { seed: min!.seed });
    expect(fixed.violations).toEqual([]);

    const good = await runCampaign({ ...campaign, kernels: ['sdei-v4'] });
    expect(good.failures.map((f) => f.id)).not.toContain('null-deref-in-stop-path');
  });
});

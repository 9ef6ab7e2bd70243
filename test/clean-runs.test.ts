/**
 * Runs without faults report no violation (issue 4), in both engines, and the
 * result has the shape `smpstop run --json` documents.
 */
import { afterAll, describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { runScenario } from '../dist/src/scenarios/run.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';
import { distFile } from '../dist/src/paths.js';

afterAll(async () => {
  await shutdownThreadsEngine();
});

const panic = (cpu = 0, atUs = 100) => ({ kind: 'panic' as const, cpu, atUs });
const CLEAN: [string, object, string][] = [
  ['panic with kdump', { cpus: 4, kernel: { kdump: true }, triggers: [panic()] }, 'kexec'],
  ['panic with kdump and pseudo-NMI', { cpus: 4, kernel: { kdump: true, pseudoNmi: true }, triggers: [panic()] }, 'kexec'],
  ['panic without kdump', { cpus: 4, triggers: [panic()] }, 'reset'],
  ['panic with post notifiers', { cpus: 4, kernel: { kdump: true, crashKexecPostNotifiers: true }, triggers: [panic()] }, 'kexec'],
  ['panic on the last CPU', { cpus: 6, kernel: { kdump: true }, triggers: [panic(5)] }, 'kexec'],
  ['panic without CONFIG_HOTPLUG_CPU', { cpus: 4, kernel: { kdump: true, hotplugCpu: false }, triggers: [panic()] }, 'kexec'],
  ['panic, no SDEI', { cpus: 4, kernel: { kdump: true, sdeiDriver: false }, firmware: { sdei: false }, triggers: [panic()] }, 'kexec'],
  ['panic under workloads', { cpus: 4, kernel: { kdump: true }, workload: [1, 2, 3], triggers: [panic(0, 3000)] }, 'kexec'],
  ['reboot', { cpus: 4, triggers: [{ kind: 'reboot', cpu: 0, atUs: 100 }] }, 'reset'],
  ['reboot from CPU 2 under workloads', { cpus: 4, workload: [1, 3], triggers: [{ kind: 'reboot', cpu: 2, atUs: 2000 }] }, 'reset'],
  ['power-off', { cpus: 4, triggers: [{ kind: 'poweroff', cpu: 1, atUs: 100 }] }, 'poweroff'],
  // CPU 0 idles until its own (later) trigger with IRQs masked by PMR: its idle must still wake for the
  // power-off's on_each_cpu IPI (cpu_do_idle opens PMR). A bare WFI slept through it, and the panic
  // at 5 ms turned the power-off into a reset.
  ['power-off with pseudo-NMI while CPU 0 idles until its own trigger', { cpus: 2, kernel: { pseudoNmi: true }, triggers: [{ kind: 'poweroff', cpu: 1, atUs: 100 }, panic(0, 5000)] }, 'poweroff'],
  ['panic on 1 CPU', { cpus: 1, kernel: { kdump: true }, triggers: [panic()] }, 'kexec'],
  ['panic on 32 CPUs', { cpus: 32, kernel: { kdump: true }, triggers: [panic(7)] }, 'kexec'],
  ['every base variant', { cpus: 4, kernel: { variant: 'base', kdump: true }, triggers: [panic()] }, 'kexec'],
  ['sdei-v3 single panic', { cpus: 4, kernel: { variant: 'sdei-v3', kdump: true }, triggers: [panic()] }, 'kexec'],
];

describe.each(['sim', 'threads'] as const)('runs without faults have no violation (%s)', (engine) => {
  it.each(CLEAN)('%s', async (_n, scenario, outcome) => {
    const seeds = engine === 'sim' ? [1, 2, 3, 4, 5] : [1];
    for (const seed of seeds) {
      const r = await runScenario(scenario, { engine, seed });
      expect(r.violations, r.replay).toEqual([]);
      expect(r.outcome, r.replay).toBe(outcome);
      expect(r.failedToStop).toEqual([]);
      for (const c of r.cpus) if (c.state !== 'ended-run') expect(['ipi', 'none'], r.replay).toContain(c.stoppedBy);
    }
  });
});

describe('the result of smpstop run --json', () => {
  it('has every documented field', () => {
    const out = spawnSync(process.execPath, [distFile('src/cli/main.ts'), 'run', '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(out.status).toBe(0);
    const r = JSON.parse(out.stdout);
    expect(Object.keys(r).sort()).toEqual(['cpus', 'engine', 'failedToStop', 'guestTimeUs', 'hostMs', 'log', 'outcome', 'replay', 'scenario', 'seed', 'violations'].sort());
    expect(r.log.map((l: { text: string }) => l.text)).toEqual(expect.arrayContaining(['SMP: stopping secondary CPUs', 'SMP: retry stop with SDEI NMI for CPUs 1', 'Bye!']));
    expect(Object.keys(r.cpus[1]).sort()).toEqual(['cpu', 'crashNote', 'online', 'pc', 'state', 'stoppedBy', 'stops', 'symbol', 'traceOverwritten'].sort());
    expect(r.cpus[1].stoppedBy).toBe('sdei');
    expect(Object.keys(r.cpus[1].crashNote).sort()).toEqual(['pc', 'pid', 'pstate', 'sp', 'symbol'].sort());
    expect(r.replay).toMatch(/^smpstop run --engine sim --seed 1 --scenario '/);
  });

  it('replaying the printed command gives the same result', () => {
    const first = spawnSync(process.execPath, [distFile('src/cli/main.ts'), 'run', '--scenario', 'parallel-panic', '--json'], { encoding: 'utf8', timeout: 60_000 });
    const r1 = JSON.parse(first.stdout);
    expect(first.status).toBe(1); // violations found
    const args = r1.replay.replace(/^smpstop /, '').match(/'[^']*'|\S+/g).map((a: string) => a.replace(/^'|'$/g, ''));
    const second = spawnSync(process.execPath, [distFile('src/cli/main.ts'), ...args, '--json'], { encoding: 'utf8', timeout: 60_000 });
    const r2 = JSON.parse(second.stdout);
    expect(r2.violations).toEqual(r1.violations);
    expect(r2.cpus).toEqual(r1.cpus);
  });
});

/**
 * Runs without faults report no violation (issue 4), in both engines, and the
 * result has the shape `smpstop run --json` documents.
 */
import { afterAll, describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { runScenario, runScenarioDetailed } from '../dist/src/scenarios/run.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';
import { distFile } from '../dist/src/paths.js';
import { analyse, traceTable } from '../dist/src/check/analysis.js';
import { runCheckers } from '../dist/src/check/checkers.js';
import { TraceWriter, REC } from '../dist/src/trace/ring.js';
import { TRACE_RECORD_F64 } from '../dist/src/trace/layout.js';
import { T } from '../dist/src/trace/events.js';

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

/**
 * ran-after-reset in the threads engine: a CPU stops at its next instruction
 * boundary, so the instruction in flight when another CPU ended the run may
 * still trace. One SGI register write to a target list is one instruction
 * with a record per target PE: a stress campaign's reboot against a panic on
 * 10 CPUs flagged the stop IPI's write as "8 trace events after reset" in 3
 * of 5 threads runs. The write's records now carry its one time, and the
 * checker counts instants, not records.
 */
describe('ran-after-reset and the instruction in flight', () => {
  const scenario = { cpus: 10, kernel: { kdump: false }, triggers: [{ kind: 'reboot' as const, cpu: 4, atUs: 100 }] };

  it.each(['sim', 'threads'] as const)('the SGI_SEND records of one SGI write carry one time (%s)', async (engine) => {
    const d = await runScenarioDetailed(scenario, { engine, seed: 3 });
    const t = traceTable(d.machine);
    // CPU 4's stop IPI: one write to the target list of CPUs 0-3 and 5-9 (one cluster).
    const sends: { seq: number; time: number; pe: number }[] = [];
    for (let x = 8; x < 10; x++) {
      for (let o = t.start[x]!; o < t.end[x]!; o += TRACE_RECORD_F64) {
        if (t.rows[o + REC.KIND] === T.SGI_SEND && t.rows[o + REC.A] === 2) sends.push({ seq: t.rows[o + REC.SEQ]!, time: t.rows[o + REC.TIME]!, pe: t.rows[o + REC.B]! });
      }
    }
    sends.sort((a, b) => a.seq - b.seq);
    expect(sends.map((r) => r.pe)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    expect(sends.every((r, i) => i === 0 || r.seq === sends[i - 1]!.seq + 1)).toBe(true);
    expect(new Set(sends.map((r) => r.time)).size).toBe(1);
  });

  /** A finished sim run of `scenario` with `times` records appended to CPU 2's ring, judged as `engine` would. */
  async function judged(records: { time: number; kind: number }[], engine: 'sim' | 'threads') {
    const d = await runScenarioDetailed(scenario, { engine: 'sim', seed: 3 });
    expect(d.result.violations).toEqual([]);
    let now = 0;
    const w = new TraceWriter(d.machine.shared, 2, { now: () => now, advanceTo: () => {}, hostMsUntil: () => 0 });
    const end = d.machine.guestTimeNs;
    for (const r of records) {
      now = end + r.time;
      w.emit(r.kind, 2, 0);
    }
    const machine = Object.create(d.machine) as typeof d.machine; // a new key for the analysis's caches
    const facts = analyse(machine, d.program);
    return runCheckers({ facts, machine, program: d.program, engine, symbolize: (pc: number) => machine.image.symbolize(pc) }, ['ran-after-reset']);
  }

  it('an SGI write in flight (eight records at one time) is not flagged in the threads engine, and is in the sim engine', async () => {
    const burst = Array.from({ length: 8 }, () => ({ time: 50, kind: T.SGI_SEND }));
    expect(await judged(burst, 'threads')).toEqual([]);
    const sim = await judged(burst, 'sim');
    expect(sim.map((v) => [v.id, v.cpu])).toEqual([['ran-after-reset', 2]]);
    expect(sim[0]!.message).toMatch(/CPU 2 kept executing after reset \(8 trace events after /);
  });

  it('five records at five times (more than one instruction) are flagged in the threads engine too', async () => {
    const five = Array.from({ length: 5 }, (_, i) => ({ time: 50 + 40 * i, kind: T.SGI_SEND }));
    expect((await judged(five, 'threads')).map((v) => v.id)).toEqual(['ran-after-reset']);
    expect(await judged(five.slice(0, 4), 'threads')).toEqual([]);
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

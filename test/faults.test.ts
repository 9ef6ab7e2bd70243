/**
 * Budgets and model faults (issue 8): a run that exceeds a budget ends with
 * `hung` or `guest-time-limit` and each CPU's PC; a CPU whose model or user
 * guest code throws ends the run with `fault` (the stack, the CPU, the
 * scenario, the seed); and in both cases the same engine serves the next run.
 */
import { afterAll, describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runScenario } from '../dist/src/scenarios/run.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';
import { distFile } from '../dist/src/paths.js';

afterAll(async () => {
  await shutdownThreadsEngine();
});

const url = (rel: string): string => pathToFileURL(distFile(rel)).href;

/** A user module defining variants whose panic path throws, or loops without ever yielding. */
const dir = mkdtempSync(join(tmpdir(), 'smpstop-faults-'));
const MODULE = join(dir, 'bad-variants.mjs');
writeFileSync(MODULE, `
import { guestFn } from '${url('cpus/isa.ts')}';
import { defineVariant } from '${url('src/kernel/variants/index.ts')}';
defineVariant({ name: 'throws-in-panic', base: 'final', description: 'test: vpanic throws',
  functions: [guestFn('vpanic', function* (k) { yield k.c.nop(); throw new TypeError('user bug in vpanic'); })] });
defineVariant({ name: 'spins-in-panic', base: 'final', description: 'test: vpanic never yields',
  functions: [guestFn('vpanic', function* (k) { yield k.c.nop(); for (;;) { /* no yield: the CPU never reaches a boundary */ } })] });
`);

/**
 * A user fault that leaves x0 = -3 (an SMC error code, say) and spins with interrupts on, after
 * setting a flag in its CPU's user area; and one that waits for that flag on CPU `arg`, then panics.
 * So the crash stop finds x0 = -3 under every interleaving (timed at 20 us against a panic at 100 us,
 * a threads run once took the stop IPI before the fault had run).
 */
const NEG_MODULE = join(dir, 'neg-x0.mjs');
writeFileSync(NEG_MODULE, `
import { guestFn } from '${url('cpus/isa.ts')}';
import { defineFault } from '${url('src/kernel/faults.ts')}';
import { PCPU } from '${url('src/kernel/layout.ts')}';
defineFault({ name: 'x0-minus-3', description: 'test: x0 = -3, flag set, then cpu_relax() forever with IRQs on',
  fn: guestFn('fault_x0_minus_3', function* (k) {
    yield k.c.mov(0, -3);
    yield k.c.str(k.L.pcpu(k.cpu, PCPU.user), 1);
    for (;;) yield k.c.yield_();
  }) });
defineFault({ name: 'panic-after-flag', description: 'test: panic once CPU arg has set its user-area flag',
  fn: guestFn('fault_panic_after_flag', function* (k, cpu) {
    while ((yield k.c.ldr(k.L.pcpu(cpu, PCPU.user))) !== 1) yield k.c.waitUntil((yield k.c.now()) + 1000);
    yield k.call('panic', 0);
    return 0;
  }) });
`);

/** A kernel whose cpu_die never reaches PSCI CPU_OFF: the unplugged CPU waits forever, still ON for AFFINITY_INFO. */
const STUCK_MODULE = join(dir, 'stuck-die.mjs');
writeFileSync(STUCK_MODULE, `
import { guestFn } from '${url('cpus/isa.ts')}';
import { defineVariant } from '${url('src/kernel/variants/index.ts')}';
defineVariant({ name: 'die-stuck', base: 'final', description: 'test: __cpu_try_die waits forever before CPU_OFF',
  functions: [guestFn('__cpu_try_die', function* (k) { for (;;) yield k.c.waitUntil(Infinity); })] });
`);

const panic = { kind: 'panic' as const, cpu: 0, atUs: 100 };
const ENGINES = ['sim', 'threads'] as const;

/**
 * A CPU unplugged at the start that does not power off. Before, the plan's
 * origin waited for AFFINITY_INFO to say OFF with no limit, and the unplugged
 * CPU parked: a stress campaign ended 108 of 6,811 threads runs (offline
 * wedge plus the cpu-off-denied quirk) at the instruction budget.
 */
describe.each(ENGINES)('CPU hot-unplug that does not complete, %s engine', (engine) => {
  it('CPU_OFF denied: the dying CPU panics "CPU1: cpu didn\'t die", as arm64 cpu_die() does', async () => {
    const r = await runScenario(
      { cpus: 4, kernel: { kdump: true }, firmware: { quirks: ['cpu-off-denied'] }, faults: [{ cpu: 1, wedge: 'offline' }], triggers: [panic] },
      { engine, seed: 3 },
    );
    expect(r.outcome).toBe('kexec');
    expect(r.log.filter((l) => l.text.startsWith('Kernel panic')).map((l) => [l.cpu, l.text])).toEqual([[1, "Kernel panic - not syncing: CPU1: cpu didn't die"]]);
    expect(r.cpus[1]!.stoppedBy).toBe('none'); // the panicking CPU: the trigger on CPU 0 never came
  });

  it('a dying CPU that never calls CPU_OFF: __cpu_die gives up after 100 ms of AFFINITY_INFO, warns, and the plan runs', async () => {
    const r = await runScenario(
      { cpus: 4, kernel: { variant: 'die-stuck', kdump: true }, faults: [{ cpu: 1, wedge: 'offline' }], triggers: [panic] },
      { engine, seed: 3, modules: [STUCK_MODULE] },
    );
    expect(r.outcome).toBe('kexec');
    const warn = r.log.find((l) => l.text === 'psci: CPU1 may not have shut down cleanly (AFFINITY_INFO reports 0)')!;
    expect(warn).toBeDefined();
    expect(r.log.map((l) => l.text)).toContain('CPU1 may not have shut down cleanly: -110');
    const trigger = r.log.find((l) => l.text.startsWith('Kernel panic'))!;
    expect(trigger.text).toBe('Kernel panic - not syncing: smpstop: panic trigger on CPU 0');
    expect(warn.timeUs).toBeGreaterThanOrEqual(100_000);
    expect(trigger.timeUs - warn.timeUs).toBeGreaterThanOrEqual(100);
    expect(r.violations).toEqual([]);
  });
});

describe.each(ENGINES)('budgets, %s engine', (engine) => {
  it('a machine where every CPU idles forever ends hung, with each CPU at its WFI', async () => {
    const r = await runScenario({ cpus: 3 }, { engine });
    expect(r.outcome).toBe('hung');
    expect(r.reason).toMatch(/every CPU waits/);
    for (const c of r.cpus) expect(c.symbol).toMatch(/^(cpu_do_idle|default_idle_call)\+/);
  });

  it('panic_timeout 0 spins forever: the run ends at its guest-time limit', async () => {
    const r = await runScenario({ cpus: 2, kernel: { panicTimeout: 0 }, triggers: [panic], limits: { guestTimeMs: 800 } }, { engine });
    expect(r.outcome).toBe('guest-time-limit');
    expect(r.guestTimeUs).toBeGreaterThanOrEqual(800_000);
    expect(r.log.map((l) => l.text)).toContain('---[ end Kernel panic - not syncing: smpstop: panic trigger on CPU 0 ]---');
    expect(r.cpus[0]!.symbol).toMatch(/^vpanic\+/);
  });

  it('the instruction budget ends a busy run as hung, naming the budget', async () => {
    const r = await runScenario({ cpus: 4, workload: [1, 2, 3], limits: { maxInstructions: 200_000 } }, { engine });
    expect(r.outcome).toBe('hung');
    expect(r.reason).toMatch(/instruction budget/);
  });

  it('the same engine serves the next run', async () => {
    const r = await runScenario({ cpus: 4, kernel: { kdump: true }, triggers: [panic] }, { engine });
    expect(r.outcome).toBe('kexec');
    expect(r.violations).toEqual([]);
  });
});

describe.each(ENGINES)('model faults, %s engine', (engine) => {
  it('user guest code that throws ends the run with outcome fault, the stack, the CPU, scenario and seed', async () => {
    const r = await runScenario({ cpus: 3, kernel: { variant: 'throws-in-panic' }, triggers: [panic] }, { engine, seed: 17, modules: [MODULE] });
    expect(r.outcome).toBe('fault');
    expect(r.fault!.cpu).toBe(0);
    expect(r.fault!.message).toContain('user bug in vpanic');
    expect(r.fault!.stack).toMatch(/bad-variants\.mjs/);
    expect(r.seed).toBe(17);
    expect(r.scenario.kernel.variant).toBe('throws-in-panic');
    expect(r.replay).toContain('--kernel-module');
  });

  it('a negative register in the crash-stopped frame is saved as its two\'s complement, not a model fault', async () => {
    // Regression: crash_save_cpu faulted on x0 = -3 (a threads run of the outcome table, once).
    const { runScenarioDetailed } = await import('../dist/src/scenarios/run.js');
    const d = await runScenarioDetailed(
      { cpus: 3, kernel: { kdump: true }, faults: [{ cpu: 2, fault: 'x0-minus-3', atUs: 20 }, { cpu: 0, fault: 'panic-after-flag', arg: 2 }] },
      { engine, seed: 5, modules: [NEG_MODULE] },
    );
    expect(d.result.fault).toBeUndefined();
    expect(d.result.outcome).toBe('kexec');
    expect(d.result.cpus[2]!.stoppedBy).toBe('ipi');
    const { crashNoteRegOffset } = await import('../dist/src/vmcore/prstatus.js');
    const x0 = d.program.layout.crashNotes(2) + crashNoteRegOffset(0);
    // pr_reg[0] of the NT_PRSTATUS note: 0xffff_ffff_ffff_fffd, which peek64 reads back as -3.
    expect(d.machine.peek32(x0 + 4) >>> 0).toBe(0xffff_ffff);
    expect(d.machine.peek64(x0)).toBe(-3);
    expect(d.result.cpus[2]!.crashNote).not.toBeNull();
  });

  it('the next run after a fault is served normally', async () => {
    const r = await runScenario({ cpus: 3, kernel: { kdump: true }, triggers: [panic] }, { engine });
    expect(r.outcome).toBe('kexec');
  });
});

describe('a CPU stuck inside host code (threads engine)', () => {
  it('the host watchdog ends the run hung, the worker is replaced, and the pool serves the next run', async () => {
    const r = await runScenario(
      { cpus: 3, kernel: { variant: 'spins-in-panic' }, triggers: [panic], limits: { hostTimeoutMs: 1500 } },
      { engine: 'threads', modules: [MODULE] },
    );
    expect(['hung', 'fault']).toContain(r.outcome);
    expect(r.reason ?? r.fault?.message).toMatch(/watchdog|abort/i);
    const next = await runScenario({ cpus: 3, kernel: { kdump: true }, triggers: [panic] }, { engine: 'threads' });
    expect(next.outcome).toBe('kexec');
  }, 30_000);
});

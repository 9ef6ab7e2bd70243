/**
 * The public API (src/index.ts, issue 9), imported as a user would: from
 * 'smpstop'. The README's "Library API" examples run here nearly verbatim;
 * user modules (examples/, compiled to dist/examples/) are loaded in the
 * main thread, in CPU workers (threads engine) and in campaign workers; and
 * the CLI lists and runs user definitions.
 */
import { afterAll, describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseScenario, getPreset, listPresets, runScenario, runScenarioDetailed, formatSummary, shutdownThreadsEngine,
  runCampaign, reproduce, checkFlaky, loadReplayFile, writeReplayFile, writeTrace, timeline, writeVmcore,
  defineVariant, variantFunctions, listVariants, listCheckers, listFaults, loadModules, guestFn, kernel, InputError,
  type K, type ScenarioInput,
} from 'smpstop';
import { distFile, packageRoot } from '../dist/src/paths.js';

const MY_V5 = distFile('examples/my-v5.ts');
const LOG_FAULT = distFile('examples/log-fault.ts');
const STOPPED_TWICE = distFile('examples/stopped-twice.ts');
const dir = mkdtempSync(join(tmpdir(), 'smpstop-api-'));

afterAll(async () => {
  await shutdownThreadsEngine();
});

describe('scenarios', () => {
  it('parseScenario fills the defaults and names a bad field', () => {
    const s = parseScenario({ cpus: 4, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [{ kind: 'panic', cpu: 0 }] });
    expect(s.kernel.variant).toBe('final');
    expect(s.triggers[0]!.atUs).toBe(100); // the default trigger time
    let err: unknown;
    try {
      parseScenario({ cpus: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('bad-input');
    expect((err as InputError).field).toBe('cpus');
  });

  it('presets', () => {
    expect(listPresets().map((p) => p.name)).toContain('parallel-panic');
    expect(getPreset('parallel-panic')!.scenario.cpus).toBe(4);
    expect(getPreset('nope')).toBeUndefined();
  });
});

describe('the README examples', () => {
  it('parseScenario, listPresets, runScenario with a user variant in the threads engine', async () => {
    expect(parseScenario({ cpus: 4, faults: [{ cpu: 1, wedge: 'irqs-off' }] }).kernel.variant).toBe('final');
    expect(listPresets().map((p) => p.name).slice(0, 2)).toEqual(['default', 'panic']);
    const r = await runScenario({ cpus: 3, kernel: { variant: 'my-v5', pseudoNmi: true, kdump: true }, faults: [{ cpu: 1, wedge: 'irqs-off' }], triggers: [{ kind: 'panic', cpu: 0 }] }, { engine: 'threads', modules: [MY_V5] });
    expect(r.cpus[1]!.stoppedBy).toBe('sdei');
  });
});

describe('a user variant and a user fault in both engines', () => {
  // my-v5 tries SDEI before the pseudo-NMI; the log fault prints a line on CPU 2. In the threads engine each
  // CPU worker imports both modules (which import 'smpstop' themselves) before it runs guest code. The fault
  // is at time 0, so it runs before the trigger under any interleaving (a later one could meet the stop IPI
  // first when the host delays CPU 2's thread).
  it.each(['sim', 'threads'] as const)('%s engine', async (engine) => {
    const s: ScenarioInput = {
      cpus: 3, kernel: { variant: 'my-v5', pseudoNmi: true, kdump: true },
      faults: [{ cpu: 1, wedge: 'irqs-off' }, { cpu: 2, fault: 'log', atUs: 0, arg: 7 }], triggers: [{ kind: 'panic', cpu: 0, atUs: 1000 }],
    };
    const r = await runScenario(s, { engine, modules: [MY_V5, LOG_FAULT] });
    expect(r.outcome, r.replay).toBe('kexec');
    expect(r.cpus[1]!.stoppedBy, r.replay).toBe('sdei');
    expect(r.log.find((l) => l.text === 'fault: log 7')?.cpu, r.replay).toBe(2);
    expect(r.replay).toContain(`--kernel-module ${MY_V5}`);
  });

  it('an unknown variant or a missing module is bad input', async () => {
    await expect(runScenario({ cpus: 2, kernel: { variant: 'my-v6' } })).rejects.toThrow(/unknown kernel variant 'my-v6'/);
    await expect(loadModules([join(dir, 'missing.js')])).rejects.toMatchObject({ code: 'bad-input' });
  });
});

describe('run details and artifacts', () => {
  it('summary, timeline, Perfetto trace and vmcore of a run', async () => {
    const run = await runScenarioDetailed(getPreset('default')!.scenario);
    expect(run.result.cpus[1]!.stoppedBy).toBe('sdei');
    expect(run.facts.cpus[1]!.stops.map((x) => x.how)).toEqual(['sdei']);
    expect(formatSummary(run.result)).toMatch(/violations: none/);
    expect(timeline(run, { last: 12 })).toMatch(/cpu1 /);
    const t = await writeTrace(run, join(dir, 'run.json'));
    expect(t.bytes).toBe(statSync(join(dir, 'run.json')).size);
    expect((JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { traceEvents: unknown[] }).traceEvents.length).toBeGreaterThan(10);
    const v = await writeVmcore(run, join(dir, 'vmcore'));
    expect(v.notes.map((n) => n.cpu)).toEqual([0, 1, 2, 3]);
    expect(v.missing).toEqual([]);
    expect(existsSync(v.symbols!)).toBe(true);
    expect(readFileSync(join(dir, 'vmcore')).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  });
});

describe('defining variants', () => {
  it('variantFunctions: a variant that wraps the base crash_save_cpu', async () => {
    const save = variantFunctions('final').find((f) => f.name === 'crash_save_cpu')!;
    defineVariant({
      name: 'final-logged-saves', base: 'final', description: 'final, logging each crash save',
      functions: [guestFn<K>('crash_save_cpu', function* (k, regs, cpu) {
        yield* kernel.pr_info(k, `saving CPU ${cpu}`);
        return yield* save.body(k, regs, cpu, 0, 0);
      }, { size: save.size + 16 })],
    });
    const r = await runScenario({ ...getPreset('default')!.scenario, kernel: { variant: 'final-logged-saves', kdump: true } });
    expect(r.log.filter((l) => l.text.startsWith('saving CPU')).map((l) => l.text).sort()).toEqual(['saving CPU 0', 'saving CPU 1', 'saving CPU 2', 'saving CPU 3']);
    expect(r.cpus.every((c) => c.crashNote !== null)).toBe(true);
    expect(listVariants().map((v) => v.name)).toContain('final-logged-saves');
  });

  it('the same definition evaluated twice keeps the first; a different one under a taken name is an error', () => {
    const fns = [guestFn<K>('nmi_cpu_backtrace', function* (k) {
      yield k.c.nop();
      return 0;
    })];
    const a = defineVariant({ name: 'twice', base: 'final', description: 'd', functions: fns });
    const again = defineVariant({ name: 'twice', base: 'final', description: 'd', functions: [...fns] });
    expect(again).toBe(a);
    expect(() => defineVariant({ name: 'twice', base: 'sdei-v4', description: 'd', functions: fns })).toThrow(/already defined/);
    expect(() => defineVariant({ name: 'final', base: 'base', description: 'mine', functions: [] })).toThrow(/already defined/);
  });
});

describe('campaigns and replay', () => {
  it('runCampaign stops on its AbortSignal and resumes; bad options are bad input', async () => {
    await expect(runCampaign({ kernels: ['my-v6'] })).rejects.toThrow(/campaign.kernels: 'my-v6' is not a kernel variant/);
    await expect(runCampaign({ iterations: 10, durationMs: 100 })).rejects.toMatchObject({ code: 'bad-input' });
    const out = join(dir, 'campaign.jsonl');
    const first = await runCampaign({ kernels: ['my-v5'], modules: [MY_V5], seed: 3, iterations: 40, jobs: 1, out, signal: AbortSignal.timeout(400) });
    expect(first.interrupted).toBe(true);
    expect(first.recorded).toBeLessThan(40);
    await expect(runCampaign({ iterations: 40, out })).rejects.toThrow(/already exists/);
    const rest = await runCampaign({ out, resume: true, jobs: 1 });
    expect(rest.interrupted).toBe(false);
    expect(rest.recorded).toBe(40);
    expect(rest.runs).toBe(40 - first.recorded);
    expect(rest.options.kernels).toEqual(['my-v5']);
    expect(Object.values(rest.outcomes).reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('reproduce a threads-engine failure in the sim engine; checkFlaky; replay files round-trip', async () => {
    const p = getPreset('parallel-panic')!;
    const file = join(dir, 'r5.replay.json');
    writeReplayFile(file, {
      expect: 'null-deref-in-stop-path', engine: 'threads', seed: 1, scheduler: { kind: 'random' },
      scenario: parseScenario({ ...p.scenario, kernel: { ...p.scenario.kernel, variant: 'sdei-v3' } }),
    });
    const rep = await reproduce(file);
    expect(rep.reproduced).toBe(true);
    expect(rep.found).toContain('null-deref-in-stop-path');
    expect(rep.replay!.engine).toBe('sim');
    writeReplayFile(join(dir, 'r5.sim.json'), rep.replay!);
    expect(loadReplayFile(join(dir, 'r5.sim.json')).seed).toBe(rep.seed);
    const fl = await checkFlaky(join(dir, 'r5.sim.json'), 5);
    expect(fl).toMatchObject({ engine: 'sim', runs: 5, recurred: 5, rate: 1 });
  });
});

describe('the CLI with user modules', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [distFile('src/cli/main.ts'), ...args], { encoding: 'utf8', cwd: packageRoot(), timeout: 60_000 });

  it('list shows the variants, faults and checkers a --kernel-module defines', () => {
    const r = cli('list', '--kernel-module', MY_V5, '--kernel-module', LOG_FAULT, '--kernel-module', STOPPED_TWICE);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}my-v5 +final with the SDEI rung before the pseudo-NMI rung \(base -> sdei-v3 -> sdei-v4 -> final -> my-v5\)$/m);
    expect(r.stdout).toMatch(/^ {2}log +prints "fault: log <arg>"/m);
    expect(r.stdout).toMatch(/^ {2}stopped-twice +a CPU entered a stop path a second time/m);
  });

  it('run --kernel-module FILE --kernel my-v5 in the threads engine', () => {
    const r = cli('run', '--kernel-module', 'dist/examples/my-v5.js', '--kernel', 'my-v5', '--pseudo-nmi', '--cpus', '3', '--engine', 'threads', '--json');
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { cpus: { stoppedBy: string }[]; scenario: { kernel: { variant: string } } };
    expect(res.scenario.kernel.variant).toBe('my-v5');
    expect(res.cpus[1]!.stoppedBy).toBe('sdei');
  });

  it('a missing module is bad input (exit 2)', () => {
    const r = cli('run', '--kernel-module', 'nope.js', '--kernel', 'my-v5');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^smpstop: --kernel-module: .*nope\.js does not exist$/m);
  });
});

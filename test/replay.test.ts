/**
 * `smpstop replay` (issue 5 items 3 and 4): re-running a failure from its
 * replay file, searching the sim engine for a threads failure, --check-flaky,
 * --shrink, --trace and --vmcore, and rejecting bad replay files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../dist/src/paths.js';
import { getPreset } from '../dist/src/scenarios/presets.js';
import { parseScenario, type Scenario } from '../dist/src/scenarios/schema.js';
import { writeReplayFile, loadReplayFile, failureKeys } from '../dist/src/stress/replay.js';
import { removeCpu } from '../dist/src/stress/shrink.js';

const CLI = join(packageRoot(), 'dist/src/cli/main.js');
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'smpstop-replay-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The parallel-panic preset (sdei-v3: the loser self-stops after crash_stop is set and dereferences NULL regs). */
const parallelPanic = (): Scenario => parseScenario(getPreset('parallel-panic')!.scenario);

function replayFile(name: string, s: Scenario, over: { expect?: string; engine?: 'sim' | 'threads'; seed?: number } = {}): string {
  const path = join(dir, name);
  writeReplayFile(path, { expect: over.expect ?? 'null-deref-in-stop-path', engine: over.engine ?? 'sim', seed: over.seed ?? 1, scheduler: { kind: 'random' }, scenario: s });
  return path;
}

describe('replay', () => {
  it('reproduces the parallel-panic failure of sdei-v3 (exit 1)', () => {
    const f = replayFile('pp.replay.json', parallelPanic());
    expect(loadReplayFile(f).expect).toBe('null-deref-in-stop-path');
    const r = cli(['replay', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('reproduced: null-deref-in-stop-path');
    expect(r.stdout).toContain('crash_save_cpu+0x10');
  });

  it('says when it does not reproduce (exit 0): the same race on final', () => {
    const s = parallelPanic();
    const f = replayFile('pp-final.replay.json', parseScenario({ ...s, kernel: { ...s.kernel, variant: 'final' } }));
    const r = cli(['replay', f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('did not reproduce: expected null-deref-in-stop-path');
  });

  it('searches the sim engine for a failure first seen in the threads engine', () => {
    const f = replayFile('pp-threads.replay.json', parallelPanic(), { engine: 'threads', seed: 99 });
    const r = cli(['replay', f, '--budget', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/reproduced in the sim engine after \d+ tries/);
    const sim = loadReplayFile(join(dir, 'pp-threads.replay.sim.json'));
    expect(sim.engine).toBe('sim');
    expect(cli(['replay', join(dir, 'pp-threads.replay.sim.json')]).code).toBe(1);
  });

  it('--check-flaky K reports how often it recurs', () => {
    const f = join(dir, 'pp.replay.json');
    const r = cli(['replay', f, '--check-flaky', '6']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/recurred in 6 of 6 sim runs/);
  });

  it('--trace and --vmcore write the artifacts of the reproducing run', () => {
    const f = join(dir, 'pp.replay.json');
    const r = cli(['replay', f, '--trace', 'pp.trace.json', '--vmcore', 'pp.vmcore']);
    expect(r.code).toBe(1);
    const trace = JSON.parse(readFileSync(join(dir, 'pp.trace.json'), 'utf8')) as { traceEvents?: unknown[] } | unknown[];
    const events = Array.isArray(trace) ? trace : trace.traceEvents!;
    expect(events.length).toBeGreaterThan(100);
    const core = readFileSync(join(dir, 'pp.vmcore'));
    expect(core.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(existsSync(join(dir, 'pp.vmcore.vmlinux'))).toBe(true);
    expect(r.stdout).toContain('gdb-multiarch');
  });
});

describe('shrink', () => {
  it('drops a CPU and renumbers the roles of the higher ones', () => {
    const s = parseScenario({ cpus: 4, faults: [{ cpu: 3, wedge: 'irqs-off' }], triggers: [{ kind: 'panic', cpu: 1, atUs: 10 }, { kind: 'panic', cpu: 3, atUs: 20 }], workload: [2] });
    const t = removeCpu(s, 2);
    expect(t.cpus).toBe(3);
    expect(t.workload).toEqual([]);
    expect(t.faults).toEqual([{ cpu: 2, wedge: 'irqs-off', atUs: 0 }]);
    expect(t.triggers.map((x) => x.cpu)).toEqual([1, 2]);
  });

  it('reduces a padded failure to a smaller scenario that still fails', () => {
    // The preset padded with three more CPUs, an interrupt delay, untidy timings and panic_timeout.
    const s = parallelPanic();
    const padded = parseScenario({
      ...s,
      cpus: 6,
      faults: [...s.faults, { cpu: 5, ipiDelayUs: 37.25, atUs: 95.5 }],
      triggers: [{ kind: 'panic', cpu: 0, atUs: 103.217 }, { kind: 'panic', cpu: 1, atUs: 311.659 }],
      kernel: { ...s.kernel, panicTimeout: 1 },
      limits: { maxInstructions: 2_500_000 },
    });
    const f = replayFile('padded.replay.json', padded);
    const r = cli(['replay', f, '--shrink', '--budget', '150']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/shrunk in \d+ steps/);
    const min = loadReplayFile(join(dir, 'padded.replay.min.json'));
    const events = (x: Scenario): number => x.faults.length + x.triggers.length + x.workload.length;
    expect(min.scenario.cpus).toBeLessThan(padded.cpus);
    expect(events(min.scenario)).toBeLessThan(events(padded));
    expect(min.shrunk?.steps.length).toBeGreaterThan(0);
    expect(min.shrunk?.from).toBe(f);
    const again = cli(['replay', join(dir, 'padded.replay.min.json')]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('reproduced: null-deref-in-stop-path');
  });
});

describe('bad replay files exit 2 with one line', () => {
  // | file content | named in the message |
  const rows: [string, string, string][] = [
    ['empty', '', 'empty'],
    ['not-json', '{"smpstopReplay": 1,', 'not valid JSON'],
    ['garbage', '\u0000\u0001\u0002binary', 'not valid JSON'],
    ['unknown-field', JSON.stringify({ smpstopReplay: 1, expect: 'not-stopped', engine: 'sim', seed: 1, scenario: {}, colour: 'red' }), 'colour'],
    ['bad-expect', JSON.stringify({ smpstopReplay: 1, expect: 'no-such-checker', engine: 'sim', seed: 1, scenario: {} }), 'expect'],
    ['bad-seed', JSON.stringify({ smpstopReplay: 1, expect: 'not-stopped', engine: 'sim', seed: -4, scenario: {} }), 'seed'],
    ['bad-scenario', JSON.stringify({ smpstopReplay: 1, expect: 'not-stopped', engine: 'sim', seed: 1, scenario: { cpus: 2, faults: [{ cpu: 9, wedge: 'irqs-off' }] } }), 'faults[0].cpu'],
    ['version', JSON.stringify({ smpstopReplay: 2, expect: 'not-stopped', engine: 'sim', seed: 1, scenario: {} }), 'smpstopReplay'],
  ];
  it.each(rows)('%s', (name, content, needle) => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, content);
    const r = cli(['replay', f]);
    expect(r.code).toBe(2);
    const err = r.stderr.trim().split('\n');
    expect(err).toHaveLength(1);
    expect(err[0]).toContain(needle);
  });

  it('rejects bad flags and a missing file', () => {
    for (const [args, flag] of [[['replay', 'nope.json'], 'nope.json'], [['replay', 'pp.replay.json', '--budget', '0'], '--budget'], [['replay', 'pp.replay.json', '--check-flaky', 'x'], '--check-flaky']] as const) {
      const r = cli([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(flag);
    }
  });

  it('names failures by key', () => {
    expect(failureKeys({ outcome: 'hung', violations: [], hang: 'deadlock' })).toEqual([]);
    expect(failureKeys({ outcome: 'hung', violations: [], hang: 'host-watchdog' })).toEqual(['outcome:hung']);
    expect(failureKeys({ outcome: 'fault', violations: [{ id: 'not-stopped', cpu: 1, timeUs: 0, message: '' }] })).toEqual(['not-stopped', 'outcome:fault']);
  });
});

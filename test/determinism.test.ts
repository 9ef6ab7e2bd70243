/**
 * Determinism of the sim engine (issue 8): the same scenario and seed give
 * byte-identical traces and identical results (apart from host time), three
 * times in this process and once in a fresh one; model code that reads the
 * host clock or Math.random under the sim engine is reported as a fault.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runScenarioDetailed, runScenario } from '../dist/src/scenarios/run.js';
import { writeArtifacts } from '../dist/src/cli/run.js';
import { getPreset, PRESETS } from '../dist/src/scenarios/presets.js';
import { MachineShared } from '../dist/src/machine/shared.js';
import { distFile } from '../dist/src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'smpstop-det-'));
const withoutHostTime = (r: object): unknown => JSON.parse(JSON.stringify(r, (k, v) => (k === 'hostMs' ? undefined : v)));

describe.each(['default', 'parallel-panic', 'workload-panic', 'reboot-vs-panic'])('sim determinism: preset %s', (name) => {
  it('three runs here and one in a fresh process give byte-identical traces and identical results', async () => {
    const scenario = getPreset(name)!.scenario;
    const traces: Buffer[] = [];
    const results: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const d = await runScenarioDetailed(scenario, { engine: 'sim', seed: 99 });
      const path = join(dir, `${name}-${i}.json`);
      await writeArtifacts(d, path, undefined, true);
      traces.push(readFileSync(path));
      results.push(withoutHostTime(d.result));
    }
    const fresh = join(dir, `${name}-fresh.json`);
    const out = spawnSync(process.execPath, [distFile('src/cli/main.ts'), 'run', '--scenario', JSON.stringify(scenario), '--seed', '99', '--json', '--trace', fresh], { encoding: 'utf8', timeout: 60_000 });
    expect(out.stderr).toBe('');
    traces.push(readFileSync(fresh));
    results.push(withoutHostTime(JSON.parse(out.stdout)));
    for (let i = 1; i < traces.length; i++) {
      expect(traces[i]!.equals(traces[0]!), `trace ${i} differs`).toBe(true);
      expect(results[i]).toEqual(results[0]);
    }
  });
});

describe('uncontrolled nondeterminism', () => {
  const module = join(dir, 'nondet.mjs');
  writeFileSync(module, `
import { guestFn } from '${pathToFileURL(distFile('cpus/isa.ts')).href}';
import { defineVariant } from '${pathToFileURL(distFile('src/kernel/variants/index.ts')).href}';
defineVariant({ name: 'reads-host-clock', base: 'final', description: 'test: reads Date.now in guest code',
  functions: [guestFn('vpanic', function* (k) { yield k.c.nop(); if (Date.now() % 2 === 0) yield k.c.nop(); yield k.c.nop(); })] });
defineVariant({ name: 'uses-math-random', base: 'final', description: 'test: Math.random in guest code',
  functions: [guestFn('vpanic', function* (k) { yield k.c.nop(); if (Math.random() < 0.5) yield k.c.nop(); yield k.c.nop(); })] });
`);
  it.each(['reads-host-clock', 'uses-math-random'])('%s is reported as a fault naming the call', async (variant) => {
    const r = await runScenario({ cpus: 2, kernel: { variant }, triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }] }, { engine: 'sim', modules: [module] });
    expect(r.outcome).toBe('fault');
    expect(r.fault!.message).toMatch(/uncontrolled nondeterminism: model code called (Date\.now|Math\.random)/);
    expect(r.fault!.cpu).toBe(0);
  });

  it('Math.random and the host clock work again after the run', () => {
    expect(typeof Math.random()).toBe('number');
    expect(Date.now()).toBeGreaterThan(0);
  });
});

describe('recycled machine buffers', () => {
  // MachineShared.recycle zeroes only the RAM pages the dirty map names: a
  // writer that forgets to mark its page would leak one run's memory into the
  // next. After each preset, the recycled set must read as fresh.
  it.each(PRESETS.map((p) => p.name))('after preset %s every byte a run reads is zero again', async (name) => {
    const d = await runScenarioDetailed(getPreset(name)!.scenario, { engine: 'sim', seed: 5 });
    const used = d.machine.shared;
    expect(used.ramU8.some((b) => b !== 0)).toBe(true);
    used.recycle();
    const m = MachineShared.allocate(used.geometry);
    expect(m.buffers).toBe(used.buffers);
    for (const key of ['control', 'cpus', 'gic', 'firmware', 'ram', 'ramDirty'] as const) {
      const bytes = new Uint8Array(m.buffers[key]);
      const at = bytes.findIndex((b) => b !== 0);
      expect(at, `${key} byte ${at} not zeroed`).toBe(-1);
    }
    const again = await runScenarioDetailed(getPreset(name)!.scenario, { engine: 'sim', seed: 5 });
    expect(withoutHostTime(again.result)).toEqual(withoutHostTime(d.result));
  });

  it('a set recycled after smaller geometries displaces the oldest of them, not itself', () => {
    // The pool holds 256 MB. Two 80 MB sets of one geometry, then a 180 MB set of another: the
    // large set is the one the next run of its size wants (the bench's 256-CPU row after its
    // smaller rows), so the older sets go.
    const small = { ncpus: 2, ramBytes: 80 << 20, traceRecords: 16 };
    const large = { ncpus: 2, ramBytes: 180 << 20, traceRecords: 16 };
    const s1 = MachineShared.allocate(small);
    const s2 = MachineShared.allocate(small);
    s1.recycle();
    s2.recycle();
    const l1 = MachineShared.allocate(large);
    l1.recycle();
    expect(MachineShared.allocate(large).buffers).toBe(l1.buffers);
    const s3 = MachineShared.allocate(small);
    expect(s3.buffers).not.toBe(s1.buffers);
    expect(s3.buffers).not.toBe(s2.buffers);
    // A set larger than the whole pool is not kept, and displaces nothing.
    s3.recycle();
    const huge = MachineShared.allocate({ ncpus: 2, ramBytes: 260 << 20, traceRecords: 16 });
    huge.recycle();
    expect(MachineShared.allocate({ ncpus: 2, ramBytes: 260 << 20, traceRecords: 16 }).buffers).not.toBe(huge.buffers);
    expect(MachineShared.allocate(small).buffers).toBe(s3.buffers);
  });
});

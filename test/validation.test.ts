/**
 * Bad input (issue 8): every scenario document is either accepted and runs to
 * a verdict, or rejected with one line naming the field, the value and what
 * is accepted (exit code 2 from the CLI), never a stack trace.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario } from '../dist/src/scenarios/schema.js';
import { runScenario } from '../dist/src/scenarios/run.js';
import { PRESETS } from '../dist/src/scenarios/presets.js';
import { distFile } from '../dist/src/paths.js';
import { parseFlags, RunFlagsSchema, StressFlagsSchema, ReplayFlagsSchema, BenchFlagsSchema } from '../dist/src/cli/flags.js';

const CLI = distFile('src/cli/main.ts');
const OUTCOMES = ['reset', 'poweroff', 'kexec', 'hung', 'guest-time-limit', 'fault'];

/** A one-line rejection: `field: value: what is accepted` (several problems joined by '; '). */
function expectCleanRejection(e: unknown): void {
  expect(e).toBeInstanceOf(Error);
  const err = e as Error & { code?: string };
  expect(err.code).toBe('bad-input');
  expect(err.message.includes('\n')).toBe(false);
  expect(err.message).toMatch(/^(scenario|inline scenario|[^:]+): /);
  expect(err.message).not.toMatch(/at .*\.js:\d+/);
}

const KEYS = ['name', 'cpus', 'kernel', 'firmware', 'gic', 'workload', 'faults', 'triggers', 'limits', 'bogus'];
const jsonValue = fc.oneof(
  fc.integer({ min: -5, max: 600 }), fc.double(), fc.constant(NaN), fc.constant(Infinity), fc.constant(-1e9),
  fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.constant(null).map(() => []), fc.constant(null).map(() => ({})),
  fc.constantFrom('irqs-off', 'daif-masked', 'panic', 'reboot', 'final', 'sdei-v3', 'base', 'nope'),
);

/** Mutates a valid document: replace, delete or add one field at some depth. */
const mutatedPreset = fc.tuple(
  fc.constantFrom(...PRESETS.map((p) => p.scenario)),
  fc.array(fc.tuple(fc.nat(20), fc.nat(20), fc.constantFrom('set', 'delete', 'add'), jsonValue), { minLength: 1, maxLength: 3 }),
).map(([base, muts]) => {
  const doc = structuredClone(base) as Record<string, unknown>;
  for (const [a, b, op, v] of muts) {
    const objs: Record<string, unknown>[] = [doc];
    const walk = (o: unknown): void => {
      if (o && typeof o === 'object') {
        objs.push(o as Record<string, unknown>);
        for (const x of Object.values(o as object)) walk(x);
      }
    };
    walk(doc);
    const target = objs[a % objs.length]!;
    const keys = Object.keys(target);
    const key = op === 'add' || keys.length === 0 ? KEYS[b % KEYS.length]! : keys[b % keys.length]!;
    if (op === 'delete') delete target[key];
    else target[key] = v;
  }
  return doc;
});

const randomDoc = fc.dictionary(fc.constantFrom(...KEYS), jsonValue, { maxKeys: 5 });

describe('scenario validation, property-based', () => {
  it('every random or mutated document is accepted or rejected with one clean line', () => {
    fc.assert(fc.property(fc.oneof(mutatedPreset, randomDoc, jsonValue), (doc) => {
      try {
        parseScenario(doc);
      } catch (e) {
        expectCleanRejection(e);
      }
    }), { numRuns: 3000, seed: 1 });
  });

  it('accepted documents run to a verdict', async () => {
    await fc.assert(fc.asyncProperty(mutatedPreset, async (doc) => {
      let s;
      try {
        s = parseScenario(doc);
      } catch (e) {
        expectCleanRejection(e);
        return;
      }
      const bounded = { ...s, cpus: Math.min(s.cpus, 16), limits: { guestTimeMs: 2500, maxInstructions: 3_000_000, hostTimeoutMs: 10_000 } };
      const clamp = (cpu: number): boolean => cpu < bounded.cpus;
      bounded.faults = s.faults.filter((f) => clamp(f.cpu));
      bounded.triggers = s.triggers.filter((t) => clamp(t.cpu));
      bounded.workload = s.workload.filter(clamp);
      try {
        const r = await runScenario(bounded, { engine: 'sim', seed: 3 });
        expect(OUTCOMES).toContain(r.outcome);
      } catch (e) {
        expectCleanRejection(e); // e.g. an unknown kernel variant is only known once variants load
      }
    }), { numRuns: 150, seed: 2 });
  });
});

describe('scenario validation, one row per kind of bad input', () => {
  const rows: [string, unknown, RegExp][] = [
    ['a wedge on CPU 9 of 8', { cpus: 8, faults: [{ cpu: 9, wedge: 'irqs-off' }] }, /^faults\[0\]\.cpu: 9: CPU 9 does not exist: the scenario has 8 CPUs \(0-7\)/],
    ['more than 512 CPUs', { cpus: 513 }, /^cpus: 513: .*<=512/],
    ['zero CPUs', { cpus: 0 }, /^cpus: 0: .*>=1/],
    ['NaN time', { triggers: [{ kind: 'panic', cpu: 0, atUs: NaN }] }, /^triggers\[0\]\.atUs: NaN: /],
    ['negative time', { triggers: [{ kind: 'panic', cpu: 0, atUs: -5 }] }, /^triggers\[0\]\.atUs: -5: .*>=0/],
    ['unknown field', { cpus: 4, cpu: 4 }, /unknown field "cpu"/],
    ['unknown wedge', { faults: [{ cpu: 1, wedge: 'stuck' }] }, /^faults\[0\]: .*wedge fault/],
    ['unknown quirk', { firmware: { quirks: ['fast'] } }, /^firmware\.quirks\[0\]: "fast": expected one of "cpu-off-in-sdei-wedges"/],
    ['wrong type', { cpus: '4' }, /^cpus: "4": .*expected number/],
    ['pseudo-NMI with 3 priority bits', { kernel: { pseudoNmi: true }, gic: { priorityBits: 3 } }, /^kernel\.pseudoNmi: true: pseudo-NMI needs a GIC with at least 4 priority bits/],
    ['two wedges on one CPU', { faults: [{ cpu: 1, wedge: 'irqs-off' }, { cpu: 1, wedge: 'daif-masked' }] }, /^faults\[1\]\.cpu: 1: CPU 1 is already wedged/],
    ['offline wedge without CPU hotplug', { kernel: { hotplugCpu: false }, faults: [{ cpu: 1, wedge: 'offline' }] }, /^faults\[0\]\.wedge: "offline": wedge 'offline' needs kernel\.hotplugCpu: true/],
    ['not an object', [1, 2], /^\(scenario\): \[1,2\]: /],
  ];
  it.each(rows)('%s', (_n, doc, re) => {
    let err: unknown;
    try {
      parseScenario(doc);
    } catch (e) {
      err = e;
    }
    expectCleanRejection(err);
    expect((err as Error).message.replace(/^scenario: /, '')).toMatch(re);
  });

  it('an unknown kernel variant is rejected naming the field and the known variants', async () => {
    await expect(runScenario({ kernel: { variant: 'v5' } })).rejects.toThrow(/^kernel\.variant: unknown kernel variant 'v5'; known: base, sdei-v3, sdei-v4, final/);
  });
});

describe('the CLI rejects bad input with exit code 2 and one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smpstop-val-'));
  const file = (name: string, content: string | Buffer): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const rows: [string, string[], RegExp][] = [
    ['empty file', ['run', '--scenario', file('empty.json', '')], /--scenario: .*is empty/],
    ['invalid JSON', ['run', '--scenario', file('bad.json', '{"cpus": 4,')], /--scenario: .*is not valid JSON/],
    ['binary garbage', ['run', '--scenario', file('bin.json', Buffer.from([0, 159, 146, 150, 255, 1, 2]))], /--scenario: .*is not valid JSON/],
    ['a wedge on CPU 9 of 8 in a file', ['run', '--scenario', file('w.json', JSON.stringify({ cpus: 8, faults: [{ cpu: 9, wedge: 'irqs-off' }] }))], /faults\[0\]\.cpu: 9: CPU 9 does not exist/],
    ['--cpus out of range', ['run', '--cpus', '600'], /--cpus: "600" is not accepted: expected an integer from 1 to 512/],
    ['--cpus not a number', ['run', '--cpus', 'many'], /--cpus: "many" is not accepted/],
    ['--wedge malformed', ['run', '--wedge', '1-irqs-off'], /--wedge: '1-irqs-off' is not accepted: expected CPU:MODE/],
    ['--trigger unknown kind', ['run', '--trigger', 'crash:0'], /--trigger: 'crash:0' is not accepted/],
    ['--engine unknown', ['run', '--engine', 'gpu'], /engine/],
    ['unknown flag', ['run', '--frobnicate'], /Unknown argument: frobnicate/],
    ['unknown preset', ['run', '--scenario', 'no-such-preset'], /--scenario: 'no-such-preset' is neither a file, inline JSON, nor a preset/],
    ['--seed negative', ['run', '--seed', '-3'], /--seed: "-3" is not accepted/],
    ['unknown kernel variant', ['run', '--kernel', 'v5'], /kernel\.variant: unknown kernel variant 'v5'/],
    ['--quirk unknown', ['run', '--quirk', 'turbo'], /--quirk: 'turbo' is not accepted: expected one of/],
    ['--entry unknown', ['run', '--entry', 'fast'], /--entry: 'fast' is not an entry variant: expected one of generic-preempt/],
    ['--workload not a CPU', ['run', '--workload', 'x'], /--workload: "x" is not accepted: expected an integer from 0 to 511/],
    ['stress --shard K > N', ['stress', '--shard', '3/2'], /--shard: '3\/2' is not accepted: expected K\/N/],
    ['stress --cpus MIN > MAX', ['stress', '--cpus', '9..4'], /--cpus: '9\.\.4' is not accepted: MIN must not exceed MAX/],
    ['stress --duration garbage', ['stress', '--duration', 'soon'], /--duration: 'soon' is not accepted/],
    ['replay --budget 0', ['replay', 'x.json', '--budget', '0'], /--budget: "0" is not accepted: expected an integer from 1 to 1000000/],
    ['bench --soak garbage', ['bench', '--soak', 'lots'], /--soak: "lots" is not accepted: expected SIM_RUNS,THREADS_RUNS/],
  ];
  it.each(rows)('%s', (_n, args, re) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^smpstop: /);
    expect(lines[0]).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('every flag value is judged by its command\'s schema', () => {
  // What yargs can hand over for a flag: strings, numbers, booleans, arrays of them.
  const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }));
  const schemas = [['run', RunFlagsSchema], ['stress', StressFlagsSchema], ['replay', ReplayFlagsSchema], ['bench', BenchFlagsSchema]] as const;
  it.each(schemas)('%s: any value is accepted or rejected in one line naming the flag', (_n, schema) => {
    const names = Object.keys(schema.shape);
    fc.assert(fc.property(fc.constantFrom(...names), value, (name, v) => {
      const args: Record<string, unknown> = { file: 'x.json', [name]: v };
      try {
        parseFlags(schema, args);
      } catch (e) {
        const err = e as Error & { code?: string };
        expect(err.code).toBe('bad-input');
        expect(err.message.startsWith(`--${name}: `)).toBe(true);
        expect(err.message.includes('\n')).toBe(false);
      }
    }), { numRuns: 1500 });
  });
});

describe('parsed scenarios do not share state', () => {
  it('defaults are fresh per parse, and a cached document is copied', () => {
    const a = parseScenario({ cpus: 23 });
    (a.firmware.quirks as string[]).push('cpu-off-denied');
    (a.faults as unknown[]).push({ cpu: 1, wedge: 'daif-masked' });
    // Another document (not served from the parse cache) takes the same defaults.
    const b = parseScenario({ cpus: 29 });
    expect(b.firmware.quirks).toEqual([]);
    expect(b.faults).toEqual([]);
    expect(parseScenario({ cpus: 23 }).firmware.quirks).toEqual([]);
    const c = parseScenario({ cpus: 3, firmware: { quirks: [] } });
    (c.firmware.quirks as string[]).push('cpu-off-denied');
    expect(parseScenario({ cpus: 3, firmware: { quirks: [] } }).firmware.quirks).toEqual([]);
  });
});

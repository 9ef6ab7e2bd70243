/**
 * The benchmark suite (issue 7) runs end to end in a reduced form and reports
 * every figure: each key is a finite number, the scaling rows are complete,
 * the table prints, the result files are written. Nothing here checks that a
 * figure meets its target: a benchmark never fails because the host is slow.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench, parseBenchArgs } from '../dist/bench/main.js';
import { renderTable, writeResults, numericKeys } from '../dist/bench/report.js';
import { growthExponent, stepExponents, interleavedRows, type ScalingRow } from '../dist/bench/scenarios.js';
import { runSoak, renderSoak } from '../dist/bench/soak.js';
import { compareBuilds, renderCompare, parseCompareArgs } from '../dist/bench/compare.js';
import { packageRoot } from '../dist/src/paths.js';
import type { BenchConfig } from '../dist/bench/config.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';
import { runBenchProgram, peek64 } from '../dist/bench/harness.js';
import { BUSY_OPS, BPC, type BusyOp } from '../dist/bench/programs/bench-programs.js';
import { makeStepFunctions, stepNs } from '../dist/bench/cold-generators.js';

afterAll(async () => {
  await shutdownThreadsEngine();
});

const TINY: BenchConfig = {
  name: 'custom',
  instructions: 20_000,
  instructionReps: 1,
  opIterations: 2_000,
  cold: { functions: 6, steps: 3, rounds: 2, warmRounds: 1 },
  sgiSamples: 20,
  sgiBatches: 2,
  sgiWarmupRun: 10,
  sgiBusyWarmupRun: 10,
  sgiBusyWarmupSeconds: 1,
  sgiWarmup: 2,
  sgiGapNs: 20_000,
  wakeCpus: 4,
  wakeRounds: 2,
  idleWindowMs: 50,
  scenarioCpus: 2,
  scenarioSeconds: { sim: 0.05, threads: 0.05 },
  scenarioMinRuns: 1,
  scenarioWindows: 1,
  scenarioWarmRuns: { sim: 1, threads: 1 },
  scenarioWarmSeconds: { sim: 0, threads: 0 },
  scaling: { sim: [2, 4], threads: [2] },
  scalingRuns: 1,
  scalingSeconds: { sim: 0, threads: 0 },
  scalingMaxRuns: 1,
};

const REQUIRED = [
  'instructions.simPerSec', 'instructions.threadsPerSec', 'instructions.bareGeneratorPerSec', 'instructions.ratioSim', 'instructions.ratioThreads',
  'sgi.sleepingMedianUs', 'sgi.sleepingP99Us', 'sgi.busyMedianUs', 'sgi.busyP99Us', 'sgi.bareFutexOneWayUs', 'sgi.ratioSleeping', 'sgi.bareSpinOneWayUs', 'sgi.ratioBusy',
  'wake.allHandlersUs', 'wake.bareFanoutUs', 'wake.ratio',
  'idle.hostCpuPercent',
  'instructions.cold.coldNs', 'instructions.cold.hotNs',
  'scenarios.simPerSec', 'scenarios.threadsPerSec', 'scenarios.simPoolPerSec', 'scenarios.simPoolWorkers', 'scenarios.simColdLimitPerSec', 'scenarios.ratioSimCold',
  'scalingSummary.simExponent', 'scalingSummary.threadsMaxCpusCompleted',
];

describe('instruction-cost loops', () => {
  // Each row's figure is host time over retired instructions: the loop must retire exactly the
  // instructions its label names, and do what they do (the memory ops on the scratch word).
  const PER_ITERATION: Record<BusyOp, number> = {
    nop: 1, ldr: 1, str: 1, str64: 1, ldadd: 1, call: 2, 'inline-helper': 1, mrs: 1, 'msr-mask': 1, smc: 1, 'pt-regs': 2,
  };
  it.each(BUSY_OPS)('%s retires its instructions per iteration, and only them', async (op) => {
    const base = await runBenchProgram('sim', 1, { bench: 'busy', iterations: 0, op });
    const { r, L } = await runBenchProgram('sim', 1, { bench: 'busy', iterations: 1000, op });
    expect(r.outcome).toBe('poweroff');
    expect(r.cpus[0]!.retired - base.r.cpus[0]!.retired).toBe(1000 * PER_ITERATION[op]);
    const scratch = L.cpu(0, BPC.SCRATCH);
    const want = op === 'str' || op === 'str64' ? 999 : op === 'ldadd' ? 1000 : 0;
    expect(peek64(r.shared, scratch)).toBe(want);
  });
});

describe('cold-code limit (bench/cold-generators.ts)', () => {
  it('makes distinct generator functions that each yield exactly their steps and fold what is sent back', () => {
    const fns = makeStepFunctions(3, 4);
    expect(new Set(fns).size).toBe(3);
    fns.forEach((f, i) => {
      const s = { a: 10, v: 0 };
      const g = f(s);
      const yielded: number[] = [];
      let sent = 0;
      for (let r = g.next(0); !r.done; r = g.next(++sent)) yielded.push(r.value);
      // Each function yields its own constants, one per step, and returns s.a plus everything sent.
      expect(yielded).toEqual([0, 1, 2, 3].map((j) => i * 4 + j));
      expect(s.v).toBe(10 + 1 + 2 + 3 + 4);
    });
  });

  it('times a step of a loop over the functions as host ns over the steps taken', () => {
    const ns = stepNs(makeStepFunctions(5, 2), 3);
    expect(Number.isFinite(ns) && ns > 0).toBe(true);
  });
});

describe('benchmark suite', () => {
  it('reports every figure as a finite number, prints one table and writes its result files', async () => {
    const r = await runBench({ config: TINY, progress: () => undefined });
    const json = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
    const keys = numericKeys(json);
    for (const k of REQUIRED) {
      expect(keys.has(k), k).toBe(true);
      expect(Number.isFinite(keys.get(k)), `${k} = ${String(keys.get(k))}`).toBe(true);
    }
    const rows = json.scaling as Record<string, unknown>[];
    expect(rows.map((x) => `${String(x.engine)}:${String(x.cpus)}`)).toEqual(['sim:2', 'sim:4', 'threads:2']);
    for (const row of rows) {
      for (const k of ['wallMs', 'hostCpuMs', 'rssMb', 'cpus']) expect(Number.isFinite(row[k]), k).toBe(true);
    }
    for (const op of BUSY_OPS) expect(Number.isFinite(keys.get(`instructions.opNs.${op}`)) && (keys.get(`instructions.opNs.${op}`) as number) > 0, op).toBe(true);
    expect(r.scenarios.simPoolWorkers).toBeGreaterThanOrEqual(1);
    expect(r.scenarios.simPoolRuns).toBeGreaterThanOrEqual(r.scenarios.simPoolWorkers);
    expect(r.targets.length).toBeGreaterThan(0);
    const table = renderTable(r);
    expect(table).toContain('instructions/s, sim');
    expect(table).toContain('SGI to a CPU asleep');
    expect(table).toContain('bare generator step over 6 distinct functions of 3 yields (cold code)');
    expect(r.scenarios.simColdLimitPerSec).toBeCloseTo(1e9 / (r.scenarios.simInstructionsPerRun * r.instructions.cold.coldNs), 6);
    expect(table).toContain('scaling threads 2 CPUs');
    const dir = mkdtempSync(join(tmpdir(), 'smpstop-bench-'));
    try {
      const base = writeResults(r, dir);
      expect(JSON.parse(readFileSync(`${base}.json`, 'utf8')).instructions.simPerSec).toBe(r.instructions.simPerSec);
      expect(readFileSync(`${base}.txt`, 'utf8')).toContain('figure');
      // A second run of the same commit on the same day keeps the first's files.
      const second = writeResults({ ...r, instructions: { ...r.instructions, simPerSec: 1 } }, dir);
      expect(second).toBe(`${base}-2`);
      expect(JSON.parse(readFileSync(`${base}.json`, 'utf8')).instructions.simPerSec).toBe(r.instructions.simPerSec);
      expect(JSON.parse(readFileSync(`${second}.json`, 'utf8')).instructions.simPerSec).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('fits the growth exponent over the rows and gives the slope between consecutive rows', () => {
    // wall = cpus^1 up to 128, then a knee: 256 CPUs take 4 times as long as 128.
    const rows: ScalingRow[] = [32, 64, 128, 256].map((cpus) => ({ engine: 'sim', cpus, wallMs: cpus === 256 ? 512 : cpus, hostCpuMs: 0, rssMb: 0, outcome: 'kexec', runs: 1 }));
    rows.push({ engine: 'threads', cpus: 64, wallMs: 1e6, hostCpuMs: 0, rssMb: 0, outcome: 'kexec', runs: 1 });
    const steps = stepExponents(rows, 'sim', 32);
    expect(steps.map((x) => [x.from, x.to])).toEqual([[32, 64], [64, 128], [128, 256]]);
    expect(steps.map((x) => Number(x.exponent.toFixed(6)))).toEqual([1, 1, 2]);
    expect(growthExponent(rows.slice(0, 3), 'sim', 32)).toBeCloseTo(1, 9);
    expect(growthExponent(rows, 'sim', 32)).toBeGreaterThan(1.2);
    expect(growthExponent(rows, 'sim', 256)).toBeNaN();
  });

  it('measures sim rows in interleaved sweeps: every row gets its runs, no row more than the cap', async () => {
    const rows = await interleavedRows('sim', [2, 3], 3, 0, 5);
    expect(rows.map((r) => r.cpus)).toEqual([2, 3]);
    for (const r of rows) {
      expect(r.outcome).toBe('kexec');
      expect(r.runs).toBeGreaterThanOrEqual(3);
      expect(r.runs).toBeLessThanOrEqual(5);
      expect(r.wallMs).toBeGreaterThan(0);
    }
    const capped = await interleavedRows('sim', [2], 1, 60, 3);
    expect(capped[0]!.runs).toBe(3);
  }, 60_000);

  it.each([
    [['--quick', '--json'], { quick: true, json: true, help: false }],
    [['--out', 'x'], { quick: false, json: false, out: 'x', help: false }],
    [['--no-write'], { quick: false, json: false, out: null, help: false }],
    [['--soak'], { quick: false, json: false, soak: { simRuns: 100_000, threadsRuns: 5_000 }, help: false }],
    [['--soak', '200,10', '--json'], { quick: false, json: true, soak: { simRuns: 200, threadsRuns: 10 }, help: false }],
  ])('parses %j', (argv, want) => {
    expect(parseBenchArgs(argv)).toEqual(want);
  });

  it('rejects an unknown flag with one line naming it', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown argument '--fast'/);
    expect(() => parseBenchArgs(['--soak', 'lots'])).toThrow(/--soak: 'lots' is not accepted: expected SIM_RUNS,THREADS_RUNS/);
    expect(() => parseBenchArgs(['--soak', '--quick'])).toThrow(/either --quick or --soak/);
  });

  it('the soak samples memory at warm-up, middle and end of each engine and judges growth', async () => {
    const r = await runSoak({ simRuns: 200, threadsRuns: 6, progress: () => {} });
    expect(r.sim!.runs).toBe(200);
    const labels = r.sim!.samples.map((x) => x.label);
    expect(labels[0]).toBe('warm');
    expect(labels.at(-1)).toBe('end');
    expect(labels.filter((l) => l === 'middle')).toHaveLength(1);
    expect(labels.filter((l) => l === 'step').length).toBeGreaterThanOrEqual(1);
    for (const x of r.sim!.samples) expect(x.heapMb).toBeGreaterThan(0);
    expect(Object.values(r.sim!.outcomes).reduce((a, b) => a + b, 0)).toBe(200);
    expect(r.sim!.outcomes.threw).toBeUndefined();
    expect(r.sim!.leak).toBe(r.sim!.heapGrowth > 0.1 || r.sim!.rssGrowth > 0.1);
    expect(r.threads!.runs).toBe(6);
    expect(renderSoak(r)).toMatch(/growth from warm-up to end: heap [+-]\d/);
  }, 120_000);
});

describe('paired comparison of two builds (bench/compare.ts)', () => {
  it('runs both sides in turn and reports the paired ratios, their quartiles and a bootstrap interval', async () => {
    const root = packageRoot();
    const r = await compareBuilds({ a: root, b: root, engine: 'sim', cpus: 2, batch: 2, pairs: 4, warm: 2 });
    expect([r.aRunsPerSec, r.bRunsPerSec, r.ratio.median, r.cpuRatio.median, ...r.ratio.ci95].every((x) => Number.isFinite(x) && x > 0)).toBe(true);
    expect(r.ratio.q25).toBeLessThanOrEqual(r.ratio.q75);
    expect(r.ratio.ci95[0]).toBeLessThanOrEqual(r.ratio.ci95[1]);
    expect(renderCompare(r)).toMatch(/^smpstop bench compare: sim, 2 CPUs, 4 pairs of 2-run batches/);
  });

  it('validates its arguments, naming the one refused and what it accepts', () => {
    expect(parseCompareArgs(['a', 'b'])).toMatchObject({ a: 'a', b: 'b', engine: 'sim', cpus: 8, batch: 60, pairs: 200, warm: 400, json: false });
    expect(() => parseCompareArgs(['a'])).toThrow(/two package directories/);
    expect(() => parseCompareArgs(['a', 'b', '--pairs', '0'])).toThrow(/--pairs: '0' is not accepted: an integer from 1 to 100000/);
    expect(() => parseCompareArgs(['a', 'b', '--cpus', '300'])).toThrow(/--cpus: '300' is not accepted: an integer from 1 to 256/);
    expect(() => parseCompareArgs(['a', 'b', '--engine', 'qemu'])).toThrow(/engine/);
    expect(() => parseCompareArgs(['a', 'b', '--bogus'])).toThrow(/bogus/);
  });

  it('refuses a directory that holds no built smpstop', async () => {
    await expect(compareBuilds({ a: packageRoot(), b: '/nonexistent', engine: 'sim', cpus: 2, batch: 1, pairs: 1, warm: 0 })).rejects.toThrow(/DIR_B: '\/nonexistent' is not a built smpstop package directory/);
  });
});

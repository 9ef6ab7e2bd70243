/**
 * Whole-scenario throughput and scaling: a full panic + stop + kdump capture
 * (kernel `final`, kdump and SDEI on, CPU 1 wedged `daif-masked`, panic on CPU
 * 0; the guest waits out the 1 s first rung, so the figure also shows how well
 * guest time skips idle waits), through the library API every user calls
 * (runScenario: validation, machine, analysis, checkers, result).
 *
 * Throughput's limit, measured in the same run: the instructions one scenario
 * retires, at the busy-CPU instruction rate of the same engine (instructions
 * family). The ratio says how much of a run is retiring instructions and how
 * much is everything else (set-up, waking, analysis).
 */
import type { BenchConfig } from './config.js';
import { runScenario, runScenarioDetailed } from '../src/scenarios/run.js';
import type { ScenarioInput } from '../src/scenarios/schema.js';
import type { EngineName } from '../src/machine/config.js';
import { hostMs, median, processCpuMs, peakRssMb, resetPeakRss } from './host.js';
import { SimPool } from '../src/stress/pool.js';
import type { RunJob } from '../src/stress/record.js';
import { parseScenario } from '../src/scenarios/schema.js';
import { DEFAULT_SCHEDULER } from '../src/machine/scheduler.js';

export function kernelScenario(cpus: number): ScenarioInput {
  return {
    cpus,
    kernel: { variant: 'final', kdump: true },
    firmware: { sdei: true },
    faults: [{ cpu: 1, wedge: 'daif-masked' }],
    triggers: [{ kind: 'panic', cpu: 0, atUs: 100 }],
  };
}

export interface ScenarioFigures {
  readonly cpus: number;
  /** Runs per wall second in the best counting window (BenchConfig.scenarioWindows). */
  readonly simPerSec: number;
  readonly threadsPerSec: number;
  /** Runs per wall second over all the counting windows. */
  readonly simPerSecMean: number;
  readonly threadsPerSecMean: number;
  readonly windows: number;
  /**
   * The sim scenario through the stress campaign's pool (src/stress/pool.ts: one worker per host
   * core, one whole run per task), best window and mean: the rate `smpstop stress --engine sim`
   * gets from this host. Information only: the target is for one engine thread (simPerSec).
   */
  readonly simPoolPerSec: number;
  readonly simPoolPerSecMean: number;
  readonly simPoolWorkers: number;
  readonly simPoolRuns: number;
  /** Runs per second of host CPU time (all threads) in the best window: less sensitive to other load than runs per wall second. */
  readonly simPerCpuSec: number;
  readonly threadsPerCpuSec: number;
  /** Instructions one run retires (all CPUs), per engine. */
  readonly simInstructionsPerRun: number;
  readonly threadsInstructionsPerRun: number;
  /** Runs per second if a run cost only its instructions at the busy-CPU rate. */
  readonly simLimitPerSec: number;
  readonly threadsLimitPerSec: number;
  readonly ratioSim: number;
  readonly ratioThreads: number;
  /**
   * Runs per second if a sim run cost only its instructions as cold generator steps (the
   * instructions family's cold figure: the bare loop over many distinct generator functions),
   * and simPerSec over it: the floor of a generator-per-function guest on this host.
   */
  readonly simColdLimitPerSec: number;
  readonly ratioSimCold: number;
  /** Guest time one run covers (the 1 s rung is in it), ms. */
  readonly guestMsPerRun: number;
  readonly simRuns: number;
  readonly threadsRuns: number;
  /** Checked run: 1 if both engines ended with kexec and no checker violation. */
  readonly verdictOk: number;
}

export interface EngineScenarioFigures {
  readonly perSec: number;
  readonly perSecMean: number;
  readonly perCpuSec: number;
  readonly runs: number;
  readonly instructionsPerRun: number;
  readonly limitPerSec: number;
  readonly guestMs: number;
  readonly outcome: string;
  readonly violations: number;
}

export interface ScalingRow {
  readonly engine: EngineName;
  readonly cpus: number;
  readonly wallMs: number;
  readonly hostCpuMs: number;
  readonly rssMb: number;
  readonly outcome: string;
  /** Measured runs the medians are taken over. */
  readonly runs: number;
}

async function checkedRun(engine: EngineName, cpus: number): Promise<{ instructions: number; guestMs: number; outcome: string; violations: number }> {
  const d = await runScenarioDetailed(kernelScenario(cpus), { engine, seed: 1 });
  return {
    instructions: d.machine.cpus.reduce((a, c) => a + c.retired, 0),
    guestMs: d.machine.guestTimeNs / 1e6,
    outcome: d.result.outcome,
    violations: d.result.violations.length,
  };
}

/**
 * Scenario runs per wall and per CPU second of `engine` over about `seconds` (at least `minRuns`
 * runs), counted in `windows` equal windows: the best window's rates, and the mean rate over all.
 */
export async function scenarioRunsPerSec(
  engine: EngineName, cpus: number, seconds: number, minRuns: number, warm: { runs: number; seconds: number }, windows = 1,
): Promise<{ perSec: number; perCpuSec: number; perSecMean: number; runs: number }> {
  const s = kernelScenario(cpus);
  // Warm-up (JIT): `warm.runs` runs, or as many as fit in `warm.seconds`.
  const w0 = hostMs();
  for (let i = 0; i < Math.max(1, warm.runs) && (i === 0 || hostMs() - w0 < warm.seconds * 1000); i++) {
    await runScenario(s, { engine, seed: i + 1 });
  }
  const n = Math.max(1, Math.floor(windows));
  const start = hostMs();
  let runs = 0;
  let best = { perSec: 0, perCpuSec: 0 };
  for (let w = 0; w < n; w++) {
    const t0 = hostMs();
    const c0 = processCpuMs();
    let k = 0;
    while (k < Math.ceil(minRuns / n) || hostMs() - t0 < (seconds / n) * 1000) {
      await runScenario(s, { engine, seed: runs + 1 });
      runs++;
      k++;
    }
    const perSec = k / ((hostMs() - t0) / 1000);
    if (perSec > best.perSec) best = { perSec, perCpuSec: k / ((processCpuMs() - c0) / 1000) };
  }
  return { ...best, perSecMean: runs / ((hostMs() - start) / 1000), runs };
}

/** Throughput of one engine, and its limit from that engine's busy-CPU instruction rate. */
export async function measureScenarioEngine(cfg: BenchConfig, engine: EngineName, busyRate: number): Promise<EngineScenarioFigures> {
  const check = await checkedRun(engine, cfg.scenarioCpus);
  const t = await scenarioRunsPerSec(engine, cfg.scenarioCpus, cfg.scenarioSeconds[engine], cfg.scenarioMinRuns,
    { runs: cfg.scenarioWarmRuns[engine], seconds: cfg.scenarioWarmSeconds[engine] }, cfg.scenarioWindows);
  return {
    perSec: t.perSec,
    perSecMean: t.perSecMean,
    perCpuSec: t.perCpuSec,
    runs: t.runs,
    instructionsPerRun: check.instructions,
    limitPerSec: busyRate / check.instructions,
    guestMs: check.guestMs,
    outcome: check.outcome,
    violations: check.violations,
  };
}

export interface PoolFigures {
  readonly perSec: number;
  readonly perSecMean: number;
  readonly workers: number;
  readonly runs: number;
}

/**
 * Sim scenario runs per wall second through a stress pool of `workers` threads, each kept busy
 * with one run after another, counted in `windows` equal windows of about `seconds` in all
 * (best window and mean), after `warm.seconds` of warm-up (JIT in every worker).
 */
export async function poolRunsPerSec(
  cpus: number, workers: number, seconds: number, warm: { seconds: number }, windows = 1,
): Promise<PoolFigures> {
  const scenario = parseScenario(kernelScenario(cpus));
  const pool = new SimPool(workers);
  const never = new AbortController().signal;
  let next = 0;
  const job = (): RunJob => {
    const index = next++;
    return { index, seed: index + 1, shape: 'panic', engine: 'sim', scheduler: DEFAULT_SCHEDULER, scenario, modules: [] };
  };
  // Every worker runs back to back until `end`; returns the runs finished.
  const fill = async (end: number): Promise<number> => {
    const lanes = Array.from({ length: workers }, async () => {
      let k = 0;
      do {
        const r = await pool.run(job(), never);
        if (r.outcome !== 'kexec') throw new Error(`bench scenario through the stress pool ended ${r.outcome}${r.fault ? `: ${r.fault.message}` : ''}`);
        k++;
      } while (hostMs() < end);
      return k;
    });
    // allSettled: a failed lane must not leave the other one's run rejected by pool.close() unheard.
    const done = await Promise.allSettled(lanes);
    const failed = done.find((d) => d.status === 'rejected');
    if (failed) throw failed.reason;
    return done.reduce((a, d) => a + (d.status === 'fulfilled' ? d.value : 0), 0);
  };
  try {
    await fill(hostMs() + warm.seconds * 1000);
    const n = Math.max(1, Math.floor(windows));
    const start = hostMs();
    let runs = 0;
    let best = 0;
    for (let w = 0; w < n; w++) {
      const t0 = hostMs();
      const k = await fill(t0 + (seconds / n) * 1000);
      runs += k;
      best = Math.max(best, k / ((hostMs() - t0) / 1000));
    }
    return { perSec: best, perSecMean: runs / ((hostMs() - start) / 1000), workers, runs };
  } finally {
    await pool.close();
  }
}

/** `coldStepNs`: the instructions family's cold generator step (ns), the price of simColdLimitPerSec. */
export function combineScenarios(cfg: BenchConfig, sim: EngineScenarioFigures, thr: EngineScenarioFigures, pool: PoolFigures, coldStepNs: number): ScenarioFigures {
  const coldLimit = 1e9 / (sim.instructionsPerRun * coldStepNs);
  return {
    cpus: cfg.scenarioCpus,
    simPerSec: sim.perSec,
    threadsPerSec: thr.perSec,
    simPerSecMean: sim.perSecMean,
    threadsPerSecMean: thr.perSecMean,
    simPoolPerSec: pool.perSec,
    simPoolPerSecMean: pool.perSecMean,
    simPoolWorkers: pool.workers,
    simPoolRuns: pool.runs,
    windows: cfg.scenarioWindows,
    simPerCpuSec: sim.perCpuSec,
    threadsPerCpuSec: thr.perCpuSec,
    simInstructionsPerRun: sim.instructionsPerRun,
    threadsInstructionsPerRun: thr.instructionsPerRun,
    simLimitPerSec: sim.limitPerSec,
    threadsLimitPerSec: thr.limitPerSec,
    ratioSim: sim.perSec / sim.limitPerSec,
    ratioThreads: thr.perSec / thr.limitPerSec,
    simColdLimitPerSec: coldLimit,
    ratioSimCold: sim.perSec / coldLimit,
    guestMsPerRun: sim.guestMs,
    simRuns: sim.runs,
    threadsRuns: thr.runs,
    verdictOk: [sim, thr].every((c) => c.outcome === 'kexec' && c.violations === 0) ? 1 : 0,
  };
}

/** A scaling row's measured runs: wall time, host CPU and peak RSS of each. */
interface RowSamples {
  readonly wall: number[];
  readonly cpu: number[];
  readonly rss: number[];
}

const newSamples = (): RowSamples => ({ wall: [], cpu: [], rss: [] });

/** Runs `s` once and records it in `into`. */
async function measuredRun(into: RowSamples, s: ReturnType<typeof kernelScenario>, engine: EngineName, seed: number): Promise<void> {
  resetPeakRss();
  const c0 = processCpuMs();
  const t0 = hostMs();
  await runScenario(s, { engine, seed });
  into.wall.push(hostMs() - t0);
  into.cpu.push(processCpuMs() - c0);
  into.rss.push(peakRssMb());
}

const rowOf = (engine: EngineName, cpus: number, r: RowSamples, outcome: string): ScalingRow =>
  ({ engine, cpus, wallMs: median(r.wall), hostCpuMs: median(r.cpu), rssMb: median(r.rss), outcome, runs: r.wall.length });

/**
 * One scaling row: the median over `runs` runs after a warm-up at that size, or over more (up to
 * `maxRuns`) while less than `seconds` of host time have gone into measured runs.
 */
export async function scalingRow(engine: EngineName, cpus: number, runs: number, seconds = 0, maxRuns = runs): Promise<ScalingRow> {
  const s = kernelScenario(cpus);
  const first = await runScenario(s, { engine, seed: 1 }); // warm-up: JIT, program build, worker pool growth
  const r = newSamples();
  const t1 = hostMs();
  for (let i = 0; i < runs || (i < maxRuns && hostMs() - t1 < seconds * 1000); i++) await measuredRun(r, s, engine, i + 2);
  return rowOf(engine, cpus, r, first.outcome);
}

export async function measureScaling(cfg: BenchConfig, engine: EngineName): Promise<ScalingRow[]> {
  // Sim rows are measured in interleaved sweeps; threads rows one after another, so that the
  // worker pool only grows (each row's RSS holds the workers its size needs, no more).
  if (engine === 'sim') return interleavedRows(engine, cfg.scaling.sim, cfg.scalingRuns, cfg.scalingSeconds.sim * cfg.scaling.sim.length, cfg.scalingMaxRuns);
  const rows: ScalingRow[] = [];
  for (const n of cfg.scaling[engine]) rows.push(await scalingRow(engine, n, cfg.scalingRuns, cfg.scalingSeconds[engine], cfg.scalingMaxRuns));
  return rows;
}

/** Measured runs of one size per sweep of interleavedRows (after its unmeasured settling run). */
const SWEEP_BLOCK = 2;

/**
 * Scaling rows measured in sweeps over every size (2, 8, ... 256, then again), each sweep running
 * one unmeasured run of a size and then SWEEP_BLOCK measured ones, until every row has `runs`
 * and then while less than `seconds` have passed (up to `maxRuns` a row); each row reports the
 * median. Measured one row after another, a neighbour's burst on this shared host landed on
 * whichever rows ran during it: the 128-CPU row of one commit read 25.9 and 39.9 ms in two runs,
 * which moved the growth exponent from 0.94 to 1.17. Interleaved, a burst is shared among the
 * rows. The unmeasured run takes the size's buffer set back from the recycling pool (which a
 * larger size may have displaced) so that measured runs never allocate one.
 */
export async function interleavedRows(engine: EngineName, sizes: readonly number[], runs: number, seconds: number, maxRuns: number): Promise<ScalingRow[]> {
  const first = new Map<number, string>();
  for (const n of sizes) first.set(n, (await runScenario(kernelScenario(n), { engine, seed: 1 })).outcome); // JIT, program build
  const samples = new Map(sizes.map((n) => [n, newSamples()]));
  const block = Math.max(1, Math.min(SWEEP_BLOCK, maxRuns));
  const t1 = hostMs();
  let seed = 2;
  for (let sweep = 0; ; sweep++) {
    const taken = sweep * block;
    if (taken >= maxRuns || (taken >= runs && hostMs() - t1 >= seconds * 1000)) break;
    for (const n of sizes) {
      const s = kernelScenario(n);
      await runScenario(s, { engine, seed: seed++ }); // settles the pool: measured runs reuse this set
      const row = samples.get(n)!;
      for (let i = 0; i < block && row.wall.length < maxRuns; i++) await measuredRun(row, s, engine, seed++);
    }
  }
  return sizes.map((n) => rowOf(engine, n, samples.get(n)!, first.get(n)!));
}

/**
 * Growth exponent of sim wall time with CPU count: the least-squares slope of
 * log(wall) against log(cpus) over the rows with at least `from` CPUs
 * (1 = linear; the target is "no worse than linear up to 256").
 */
export function growthExponent(rows: readonly ScalingRow[], engine: EngineName, from: number): number {
  const pts = rows.filter((r) => r.engine === engine && r.cpus >= from && r.wallMs > 0).map((r) => [Math.log(r.cpus), Math.log(r.wallMs)] as const);
  if (pts.length < 2) return NaN;
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return num / den;
}

/** The exponent between each pair of consecutive rows of `engine` (where growth bends). */
export function stepExponents(rows: readonly ScalingRow[], engine: EngineName, from: number): { from: number; to: number; exponent: number }[] {
  const rs = rows.filter((r) => r.engine === engine && r.cpus >= from && r.wallMs > 0);
  return rs.slice(1).map((r, i) => ({ from: rs[i]!.cpus, to: r.cpus, exponent: Math.log(r.wallMs / rs[i]!.wallMs) / Math.log(r.cpus / rs[i]!.cpus) }));
}

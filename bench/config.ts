/**
 * Sizes of the benchmark suite: the full run, `--quick` (under 30 s on the
 * 2-core host), and whatever a test passes (tiny sizes, same code paths).
 */
export interface BenchConfig {
  readonly name: 'full' | 'quick' | 'custom';
  /** NOPs retired by the busy CPU per measurement (the bare loop does as many yields). */
  readonly instructions: number;
  /** Interleaved measurements of each instruction figure (the best is reported). */
  readonly instructionReps: number;
  /** Loop iterations per instruction-cost measurement (one kind of instruction per loop, sim). */
  readonly opIterations: number;
  /**
   * The cold-code limit (cold-generators.ts): distinct generator functions, yields per function,
   * measured rounds over all of them per repetition (instructionReps), and unmeasured rounds first
   * (every function optimised: 400 functions of 10 yields settle within 200 rounds here).
   */
  readonly cold: { readonly functions: number; readonly steps: number; readonly rounds: number; readonly warmRounds: number };
  /** SGI latency samples per target state, and bare futex one-way samples per direction. */
  readonly sgiSamples: number;
  /** The SGI and bare series run in this many alternating batches (host load changes hit both alike). */
  readonly sgiBatches: number;
  /** Samples of the unmeasured warm-up run of each series (JIT: the wake path is optimised only after ~1000 wake-ups). */
  readonly sgiWarmupRun: number;
  /**
   * Unmeasured SGIs to a busy CPU first, sent in machines of up to 2,000 samples until this many
   * are done or `sgiBusyWarmupSeconds` have passed (a loaded host can hold a busy target's thread
   * for a scheduler slice per sample). The busy path (exception entry, GIC checks, trace record)
   * keeps getting faster for tens of thousands of SGIs: in one process on this host the median
   * went 5.2-5.5 us after 100, 2.9-3.4 us after 20,000 and 2.9-3.1 us after 40,000.
   */
  readonly sgiBusyWarmupRun: number;
  readonly sgiBusyWarmupSeconds: number;
  /** Samples dropped at the start of each batch (machine start-up). */
  readonly sgiWarmup: number;
  /** Guest (= host) ns the sender waits between samples, so the target is back asleep; the bare ping-pong uses the same gap. */
  readonly sgiGapNs: number;
  /** CPUs of the wake-all / idle machine (issue 2: 64). */
  readonly wakeCpus: number;
  /**
   * Wake-ups of the wake-all machine, each after a bare fan-out round to as many sleeping workers;
   * the first (cold: each worker runs the IRQ path for the first time) is reported apart.
   */
  readonly wakeRounds: number;
  /** Host ms the idle figure is measured over, with every CPU asleep. */
  readonly idleWindowMs: number;
  /** CPUs of the throughput scenario (issue 7: 8). */
  readonly scenarioCpus: number;
  /** Host seconds spent counting scenario runs per engine (at least `scenarioMinRuns` runs). */
  readonly scenarioSeconds: { readonly sim: number; readonly threads: number };
  readonly scenarioMinRuns: number;
  /**
   * The counting time is cut into this many equal windows and the best window is the figure (the
   * mean over all of them is reported too), as the instruction rates that make its limit are the
   * best of their repetitions: a neighbour's burst on this shared host slows a window, never
   * speeds one up. Back-to-back 5 s means of the same code read 346, 428 and 739 sim runs/s.
   */
  readonly scenarioWindows: number;
  /**
   * Unmeasured runs first, per engine, capped in time: the JIT needs many runs before a run costs
   * what it will from then on (sim: ~45 ms of CPU for each of the first 20 runs, ~5 ms after 200;
   * threads: every CPU worker is its own isolate and JITs the model separately, and each runs only
   * an eighth of a run's instructions: host CPU per 8-CPU run, measured per 200 runs, went 45, 23,
   * 17, 15 and 14 ms and stayed there from ~1,000 runs on). A campaign of thousands of runs spends
   * nearly all of its time in that steady state, which is what the figure reports.
   */
  readonly scenarioWarmRuns: { readonly sim: number; readonly threads: number };
  readonly scenarioWarmSeconds: { readonly sim: number; readonly threads: number };
  /** CPU counts of the scaling rows. */
  readonly scaling: { readonly sim: readonly number[]; readonly threads: readonly number[] };
  /** Measured runs per scaling row, at least (median reported). */
  readonly scalingRuns: number;
  /**
   * Per scaling row, host seconds to keep measuring after `scalingRuns` runs, up to
   * `scalingMaxRuns`: three runs of a row gave sim growth exponents of 0.94 to 1.14 on the same
   * code (one slow run at 128 or 256 CPUs moves the slope); more runs give a steadier median.
   */
  readonly scalingSeconds: { readonly sim: number; readonly threads: number };
  readonly scalingMaxRuns: number;
}

export const FULL: BenchConfig = {
  name: 'full',
  instructions: 5_000_000,
  instructionReps: 5,
  opIterations: 200_000,
  cold: { functions: 400, steps: 10, rounds: 100, warmRounds: 300 },
  sgiSamples: 2000,
  sgiBatches: 10,
  sgiWarmupRun: 3000,
  sgiBusyWarmupRun: 30_000,
  sgiBusyWarmupSeconds: 8,
  sgiWarmup: 10,
  sgiGapNs: 100_000,
  wakeCpus: 64,
  wakeRounds: 6,
  idleWindowMs: 1000,
  scenarioCpus: 8,
  scenarioSeconds: { sim: 5, threads: 5 },
  scenarioMinRuns: 5,
  scenarioWindows: 5,
  scenarioWarmRuns: { sim: 300, threads: 1000 },
  scenarioWarmSeconds: { sim: 10, threads: 25 },
  scaling: { sim: [2, 8, 32, 64, 128, 256], threads: [2, 8, 32, 64] },
  scalingRuns: 3,
  scalingSeconds: { sim: 0.8, threads: 0.8 },
  scalingMaxRuns: 25,
};

export const QUICK: BenchConfig = {
  name: 'quick',
  instructions: 1_000_000,
  instructionReps: 3,
  opIterations: 30_000,
  cold: { functions: 400, steps: 10, rounds: 30, warmRounds: 200 },
  sgiSamples: 300,
  sgiBatches: 3,
  sgiWarmupRun: 1000,
  sgiBusyWarmupRun: 2000,
  sgiBusyWarmupSeconds: 1.5,
  sgiWarmup: 10,
  sgiGapNs: 100_000,
  wakeCpus: 64,
  wakeRounds: 3,
  idleWindowMs: 300,
  scenarioCpus: 8,
  scenarioSeconds: { sim: 1, threads: 1 },
  scenarioMinRuns: 3,
  scenarioWindows: 2,
  scenarioWarmRuns: { sim: 200, threads: 20 },
  scenarioWarmSeconds: { sim: 3, threads: 1.5 },
  scaling: { sim: [2, 8, 32, 64, 128, 256], threads: [2, 8, 64] },
  scalingRuns: 1,
  scalingSeconds: { sim: 0, threads: 0 },
  scalingMaxRuns: 1,
};

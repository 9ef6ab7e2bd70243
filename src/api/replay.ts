/**
 * The library's replay functions: `smpstop replay` without the CLI. Each
 * takes a replay file (a path, or the object `loadReplayFile` returns) and
 * works in the sim engine, where a failure is deterministic: `reproduce`
 * re-runs it (searching scheduler seeds for a failure first seen in the
 * threads engine), `checkFlaky` measures how often it recurs, `shrink`
 * reduces its scenario while the same failure persists.
 */
import { attempt, searchSim, checkFlaky as checkFlakyFile, loadReplayFile, writeReplayFile, failureKeys, hangKind, type Attempt, type ReplayFile } from '../stress/replay.js';
import { shrink as shrinkFile } from '../stress/shrink.js';
import type { RunDetails } from '../scenarios/run.js';
import type { RunResult } from '../check/result.js';
import type { Scenario } from '../scenarios/schema.js';
import type { SchedulerSpec } from '../machine/scheduler.js';
import type { EngineName } from '../machine/config.js';
import { loadModules } from './modules.js';

export type { ReplayFile };

/** A replay file: its path, or the object `loadReplayFile` returns. */
export type ReplaySource = string | ReplayFile;

/** What `reproduce` found. */
export interface Reproduction {
  /** The failure the file expects (a violation id, `outcome:fault` or `outcome:hung`). */
  readonly expect: string;
  readonly reproduced: boolean;
  /** Failure keys the reproducing run (or, if none, the file's own run) showed. */
  readonly found: readonly string[];
  /** Sim runs tried (1 for a sim failure; up to `budget` when searching for a threads failure). */
  readonly tries: number;
  /** Scheduler seed and scheduler of that run: with the file's scenario, a deterministic recipe. */
  readonly seed: number;
  readonly scheduler: SchedulerSpec;
  readonly result: RunResult;
  /** The run's machine state, for `writeTrace`, `writeVmcore`, `timeline`. */
  readonly details: RunDetails;
  /** The sim replay recipe of the reproducing run (write it with `writeReplayFile`); null if it did not reproduce. */
  readonly replay: ReplayFile | null;
}

async function open(src: ReplaySource): Promise<ReplayFile> {
  const rf = typeof src === 'string' ? loadReplayFile(src) : src;
  if (rf.modules?.length) await loadModules(rf.modules, 'replay.modules');
  return rf;
}

const keysOf = (a: Attempt): string[] => failureKeys({ ...a.details.result, hang: hangKind(a.details.machine.outcome) });

function simRecipe(rf: ReplayFile, a: Attempt, scenario: Scenario = rf.scenario): ReplayFile {
  return {
    ...rf, engine: 'sim', seed: a.seed, scheduler: a.scheduler, scenario,
    message: a.details.result.violations.find((v) => v.id === rf.expect)?.message ?? rf.message ?? '',
  };
}

/**
 * Re-runs the failure of a replay file in the sim engine. A sim failure is
 * re-run under its own seed and scheduler (the same interleaving); a threads
 * failure (its interleaving was the host's) is searched for under up to
 * `budget` scheduler seeds (default 100).
 */
export async function reproduce(src: ReplaySource, o: { readonly budget?: number } = {}): Promise<Reproduction> {
  const rf = await open(src);
  let a: Attempt;
  let tries = 1;
  let reproduced: boolean;
  if (rf.engine === 'sim') {
    a = await attempt(rf, rf.scenario);
    reproduced = a.reproduced;
  } else {
    const budget = o.budget ?? 100;
    const found = await searchSim(rf, budget);
    reproduced = found !== null;
    tries = found ? found.tries : budget;
    a = found ? found.attempt : await attempt(rf, rf.scenario);
  }
  return {
    expect: rf.expect, reproduced, found: keysOf(a), tries, seed: a.seed, scheduler: a.scheduler,
    result: a.details.result, details: a.details, replay: reproduced ? simRecipe(rf, a) : null,
  };
}

/** What `checkFlaky` measured. */
export interface Flakiness {
  readonly expect: string;
  readonly engine: EngineName;
  readonly runs: number;
  /** Runs that showed the expected failure. */
  readonly recurred: number;
  /** recurred / runs. */
  readonly rate: number;
  /** Runs by the failure keys they showed (`clean`: none), e.g. { 'null-deref-in-stop-path': 48, clean: 2 }. */
  readonly outcomes: Readonly<Record<string, number>>;
}

/**
 * Re-runs the failure `runs` times and counts how often it recurs: in the sim
 * engine under `runs` different (seed, scheduler) pairs, the file's own
 * first; in the threads engine as `runs` real-concurrency runs. The engine is
 * the file's unless `engine` is given.
 */
export async function checkFlaky(src: ReplaySource, runs: number, o: { readonly engine?: EngineName } = {}): Promise<Flakiness> {
  const rf = await open(src);
  const engine = o.engine ?? rf.engine;
  const r = await checkFlakyFile(rf, runs, engine);
  return { expect: rf.expect, engine, runs: r.runs, recurred: r.recurred, rate: r.runs ? r.recurred / r.runs : 0, outcomes: Object.fromEntries(r.outcomes) };
}

/** Options of `shrink`. */
export interface ShrinkOptions {
  /** Sim runs allowed in all, including the search for a threads failure (default 400). */
  readonly budget?: number;
  /** Scheduler seeds tried per candidate (default 2). */
  readonly seedsPerCandidate?: number;
  /** Also write the minimal replay file here (the CLI writes FILE.min.json). */
  readonly out?: string;
  /** Called after each accepted reduction. */
  readonly onStep?: (step: { readonly n: number; readonly what: string; readonly cpus: number; readonly seed: number }) => void;
}

/** What `shrink` produced. */
export interface Shrunk {
  /** The smallest scenario found that still fails the same way. */
  readonly scenario: Scenario;
  readonly seed: number;
  readonly scheduler: SchedulerSpec;
  /** The reductions accepted, in order ("remove CPU 3", "triggers[0].atUs 200 -> 0", ...). */
  readonly steps: readonly string[];
  /** Sim runs used. */
  readonly runs: number;
  readonly budgetExhausted: boolean;
  /** The smallest failing run. */
  readonly result: RunResult;
  readonly details: RunDetails;
  /** Its replay recipe (written to `out` if given). */
  readonly replay: ReplayFile;
}

/**
 * Reduces the scenario of a failure while the same failure persists (fewer
 * CPUs, faults, triggers and workload CPUs, simpler configuration, rounder
 * times, tight budgets), in the sim engine. Resolves to null if the failure
 * does not reproduce there.
 */
export async function shrink(src: ReplaySource, o: ShrinkOptions = {}): Promise<Shrunk | null> {
  const rf = await open(src);
  const budget = o.budget ?? 400;
  const start = await reproduce(rf, { budget: Math.min(100, budget) });
  if (!start.reproduced) return null;
  const r = await shrinkFile(rf, { seed: start.seed, scheduler: start.scheduler, last: { seed: start.seed, scheduler: start.scheduler, details: start.details, reproduced: true } }, {
    budget: Math.max(1, budget - start.tries), seedsPerCandidate: o.seedsPerCandidate ?? 2,
    ...(o.onStep ? { onStep: (s: { n: number; what: string; cpus: number; seed: number }) => o.onStep!({ n: s.n, what: s.what, cpus: s.cpus, seed: s.seed }) } : {}),
  });
  const recipe: ReplayFile = {
    ...simRecipe(rf, r.last, r.scenario),
    shrunk: { from: typeof src === 'string' ? src : rf.command, steps: r.steps.map((s) => s.what) },
  };
  const replay = o.out ? writeReplayFile(o.out, recipe) : recipe;
  return {
    scenario: r.scenario, seed: r.seed, scheduler: r.scheduler, steps: r.steps.map((s) => s.what), runs: r.runs + start.tries,
    budgetExhausted: r.budgetExhausted, result: r.last.details.result, details: r.last.details, replay,
  };
}

export { loadReplayFile, writeReplayFile };

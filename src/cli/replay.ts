/**
 * `smpstop replay FILE`: re-runs a failure from its replay file.
 *
 *  - a sim failure is re-run with its seed and scheduler: the same schedule;
 *  - a threads failure (its interleaving was the host's) is searched for in
 *    the sim engine: the same scenario under up to --budget (seed, scheduler)
 *    pairs; the first that fails is written to FILE.sim.json;
 *  - --check-flaky K re-runs it K times (sim: K schedules; threads: K real
 *    runs) and reports how often it recurs;
 *  - --shrink reduces it while the same failure persists and writes
 *    FILE.min.json;
 *  - --trace / --vmcore write the artifacts of the reproducing run (of the
 *    smallest one with --shrink).
 *
 * Exit codes: 1 the failure reproduced (with --check-flaky: recurred at least
 * once), 0 it did not, 2 bad input, 3 a model fault that was not the failure
 * expected. So `smpstop replay F` in CI passes once the bug is fixed.
 */
import { formatSummary } from './summary.js';
import { writeArtifacts } from './run.js';
import { flagGiven } from './args.js';
import { parseFlags, ReplayFlagsSchema } from './flags.js';
import { InputError } from '../errors.js';
import {
  loadReplayFile, attempt, searchSim, checkFlaky, writeReplayFile, minPath, simPath, failureKeys, hangKind, type Attempt, type ReplayFile,
} from '../stress/replay.js';
import { shrink } from '../stress/shrink.js';
import type { SchedulerSpec } from '../machine/scheduler.js';

export interface ReplayArgs {
  file: string;
  shrink?: boolean;
  budget?: unknown;
  'check-flaky'?: unknown;
  trace?: string;
  vmcore?: string;
  'unique-pids'?: boolean;
  json?: boolean;
  seed?: unknown;
  engine?: 'sim' | 'threads';
}

export const DEFAULT_SEARCH_BUDGET = 100;
export const DEFAULT_SHRINK_BUDGET = 400;

const sched = (s: SchedulerSpec): string => (s.kind === 'pct' ? `pct:${s.depth ?? 3}` : 'random');

export async function replayCommandLine(a: ReplayArgs, print: (s: string) => void): Promise<number> {
  const f = parseFlags(ReplayFlagsSchema, a);
  const budgetArg = f.budget;
  const flaky = f['check-flaky'];
  if (a.seed !== undefined) throw new InputError('--seed', 'replay takes its seed from the replay file; edit the file or use smpstop run --seed');
  const rf = loadReplayFile(a.file);
  const out: string[] = [];
  const say = (s: string): void => {
    if (!a.json) print(s);
    else out.push(s);
  };
  const report: Record<string, unknown> = { file: a.file, expect: rf.expect, engine: rf.engine };

  // 1. Reproduce in the sim engine.
  let repro: Attempt | null = null;
  let first: Attempt;
  if (rf.engine === 'sim') {
    first = await attempt(rf, rf.scenario);
    if (first.reproduced) repro = first;
    report.reproduced = first.reproduced;
    report.seed = first.seed;
  } else {
    const budget = budgetArg ?? DEFAULT_SEARCH_BUDGET;
    say(`${a.file}: first seen in the threads engine; searching the sim engine for ${rf.expect} (same scenario, up to ${budget} scheduler seeds)`);
    const found = await searchSim(rf, budget);
    if (found) {
      repro = found.attempt;
      first = found.attempt;
      const sp = simPath(a.file);
      writeReplayFile(sp, {
        expect: rf.expect, engine: 'sim', seed: found.attempt.seed, scheduler: found.attempt.scheduler, scenario: rf.scenario,
        ...(rf.modules?.length ? { modules: rf.modules } : {}),
        ...(rf.found ? { found: rf.found } : {}),
        message: found.attempt.details.result.violations.find((v) => v.id === rf.expect)?.message ?? rf.message ?? '',
      });
      say(`reproduced in the sim engine after ${found.tries} tries: seed ${found.attempt.seed}, scheduler ${sched(found.attempt.scheduler)}; written to ${sp}`);
      report.sim = { tries: found.tries, seed: found.attempt.seed, scheduler: found.attempt.scheduler, file: sp };
    } else {
      first = await attempt(rf, rf.scenario);
      say(`not reproduced in the sim engine within ${budget} scheduler seeds`);
      report.sim = { tries: budget, found: false };
    }
    report.reproduced = repro !== null;
  }
  if (!a.json) {
    print(formatSummary(first.details.result));
    print('');
  }
  const got = failureKeys({ ...first.details.result, hang: hangKind(first.details.machine.outcome) });
  say(repro
    ? `reproduced: ${rf.expect} (${repro.details.result.violations.find((v) => v.id === rf.expect)?.message ?? repro.details.result.outcome})`
    : `did not reproduce: expected ${rf.expect}, the run showed ${got.length ? got.join(', ') : 'no failure'}`);

  // 2. How often does it recur?
  let recurred = 0;
  if (flaky !== undefined) {
    // --engine given explicitly: check under that engine (e.g. does a sim-found failure recur under real concurrency?).
    const engine = flagGiven('engine') && a.engine ? a.engine : rf.engine;
    const r = await checkFlaky(rf, flaky, engine);
    recurred = r.recurred;
    const pct = ((100 * r.recurred) / r.runs).toFixed(1);
    say(`check-flaky: ${rf.expect} recurred in ${r.recurred} of ${r.runs} ${engine === 'sim' ? 'sim runs under different scheduler seeds' : 'threads-engine runs'} (${pct}%); outcomes: ${[...r.outcomes.entries()].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    report.flaky = { engine, runs: r.runs, recurred: r.recurred, outcomes: Object.fromEntries(r.outcomes) };
  }

  // 3. Shrink.
  let artifactRun: Attempt | null = repro ?? first;
  if (a.shrink) {
    if (!repro) {
      say('shrink: nothing to shrink, the failure did not reproduce in the sim engine');
    } else {
      const budget = budgetArg ?? DEFAULT_SHRINK_BUDGET;
      say(`shrinking (budget ${budget} sim runs): ${rf.scenario.cpus} CPUs, ${rf.scenario.faults.length} faults, ${rf.scenario.triggers.length} triggers, ${rf.scenario.workload.length} workload CPUs`);
      const r = await shrink(rf, { seed: repro.seed, scheduler: repro.scheduler, last: repro }, {
        budget, seedsPerCandidate: 2, onStep: (s) => say(`  ${String(s.n).padStart(2)}. ${s.what}  [still ${rf.expect}, seed ${s.seed}]`),
      });
      const mp = minPath(a.file);
      const s = r.scenario;
      writeReplayFile(mp, {
        expect: rf.expect, engine: 'sim', seed: r.seed, scheduler: r.scheduler, scenario: s,
        ...(rf.modules?.length ? { modules: rf.modules } : {}),
        message: r.last.details.result.violations.find((v) => v.id === rf.expect)?.message ?? '',
        ...(rf.found ? { found: rf.found } : {}),
        shrunk: { from: a.file, steps: r.steps.map((x) => x.what) },
      });
      say(`shrunk in ${r.steps.length} steps and ${r.runs} sim runs${r.budgetExhausted ? ' (budget exhausted: --budget N for more)' : ''}: ${s.cpus} CPUs, ${s.faults.length} faults, ${s.triggers.length} triggers, ${s.workload.length} workload CPUs; written to ${mp}`);
      say(`  replay it: smpstop replay ${mp}`);
      report.shrink = { file: mp, steps: r.steps, runs: r.runs, scenario: s, seed: r.seed };
      artifactRun = r.last;
      if (!a.json) {
        print('');
        print(formatSummary(r.last.details.result));
      }
    }
  }

  // 4. Artifacts.
  if (artifactRun && (a.trace || a.vmcore)) {
    for (const l of await writeArtifacts(artifactRun.details, a.trace, a.vmcore, a['unique-pids'] ?? true)) say(l);
  }
  if (a.json) {
    report.messages = out;
    report.result = (artifactRun ?? first).details.result;
    print(JSON.stringify(report, null, 2));
  }
  const reproduced = repro !== null || recurred > 0;
  if (!reproduced && first.details.result.outcome === 'fault' && rf.expect !== 'outcome:fault') return 3;
  return reproduced ? 1 : 0;
}

export type { ReplayFile };

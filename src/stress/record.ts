/**
 * The record of one campaign run: what a JSONL result line holds, built the
 * same way in the sim workers and in the main thread (threads engine).
 */
import { runScenarioDetailed, replayCommand, type RunOptions } from '../scenarios/run.js';
import { hangKind, type HangKind } from './replay.js';
import type { Scenario } from '../scenarios/schema.js';
import type { RunOutcome, ViolationResult } from '../check/result.js';
import type { EngineName } from '../machine/config.js';
import type { SchedulerSpec } from '../machine/scheduler.js';
import type { RunShape } from './campaign.js';

/** What a worker is asked to run. */
export interface RunJob {
  readonly index: number;
  readonly seed: number;
  readonly shape: RunShape;
  readonly engine: EngineName;
  readonly scheduler: SchedulerSpec;
  readonly scenario: Scenario;
  readonly modules: readonly string[];
}

/** One JSONL result line. */
export interface RunRecord {
  readonly type: 'run';
  readonly run: number;
  readonly seed: number;
  readonly shape: RunShape;
  readonly engine: EngineName;
  readonly scheduler: SchedulerSpec;
  readonly scenario: Scenario;
  readonly outcome: RunOutcome;
  readonly reason?: string;
  /** For outcome `hung`: a guest deadlock (every CPU waits forever), or a budget that ran out. */
  readonly hang?: HangKind;
  readonly violations: readonly ViolationResult[];
  /** How each CPU was stopped (index = CPU): ipi, nmi, sdei, self, none. */
  readonly stoppedBy: readonly string[];
  readonly failedToStop: readonly number[];
  readonly guestTimeUs: number;
  /** Instructions retired by all CPUs. */
  readonly instructions: number;
  readonly hostMs: number;
  /** The `smpstop run` command that replays this run. */
  readonly replay: string;
  readonly fault?: { readonly cpu: number; readonly message: string; readonly stack: string };
}

export function runOptionsOf(job: RunJob): RunOptions {
  return {
    engine: job.engine,
    seed: job.seed,
    ...(job.scheduler.kind !== 'random' ? { scheduler: job.scheduler } : {}),
    ...(job.modules.length ? { modules: job.modules } : {}),
  };
}

/**
 * Runs a job to a record. An exception escaping the model (a bug in smpstop
 * or in a user module) becomes a record with outcome `fault`, so the campaign
 * counts it and goes on.
 */
export async function runJob(job: RunJob): Promise<RunRecord> {
  const base = { type: 'run' as const, run: job.index, seed: job.seed, shape: job.shape, engine: job.engine, scheduler: job.scheduler, scenario: job.scenario };
  const opts = runOptionsOf(job);
  try {
    const d = await runScenarioDetailed(job.scenario, opts);
    const r = d.result;
    const hang = hangKind(d.machine.outcome);
    const instructions = d.machine.cpus.reduce((t, c) => t + c.retired, 0);
    if (!d.machine.fault) d.machine.shared.recycle(); // the record below is plain data
    return {
      ...base,
      outcome: r.outcome,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(hang ? { hang } : {}),
      violations: r.violations,
      stoppedBy: r.cpus.map((c) => (c.stops.length > 1 ? c.stops.map((s) => s.how).join('+') : c.stoppedBy)),
      failedToStop: r.failedToStop,
      guestTimeUs: r.guestTimeUs,
      instructions,
      hostMs: r.hostMs,
      replay: r.replay,
      ...(r.fault ? { fault: r.fault } : {}),
    };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return {
      ...base, outcome: 'fault', reason: 'the run threw', violations: [], stoppedBy: [], failedToStop: [], guestTimeUs: 0, instructions: 0, hostMs: 0,
      replay: replayCommand(job.scenario, opts),
      fault: { cpu: -1, message: err.message, stack: err.stack ?? '' },
    };
  }
}

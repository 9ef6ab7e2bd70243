/**
 * Replay files: a failure as a versioned, self-contained recipe (STYLE.md
 * rule 9; shuttle's schedule files): the scenario, the engine, the scheduler
 * and its seed, the failure expected, and the commands that replay it. A
 * campaign writes one per failure group; `smpstop replay` re-runs it,
 * searches for a threads-engine failure in the sim engine, measures how
 * flaky it is, and shrinks it (shrink.ts).
 *
 * A failure is named by a key: a violation id (`null-deref-in-stop-path`), or
 * `outcome:fault` (the model threw) or `outcome:hung` (a budget ran out).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { formatIssues, parseScenario, type Scenario } from '../scenarios/schema.js';
import { runScenarioDetailed, replayCommand, type RunDetails, type RunOptions } from '../scenarios/run.js';
import { listCheckers } from '../check/checkers.js';
import { runSeed } from './campaign.js';
import type { RunResult } from '../check/result.js';
import type { EngineName } from '../machine/config.js';
import type { SchedulerSpec } from '../machine/scheduler.js';

export const REPLAY_VERSION = 1;

/** A replay file: a failure as a self-contained recipe (scenario, engine, seed, scheduler, expected failure). */
export interface ReplayFile {
  /** Format version. */
  readonly smpstopReplay: number;
  /** The failure key expected (a violation id, `outcome:fault` or `outcome:hung`). */
  readonly expect: string;
  /** The engine the failure was seen in. */
  readonly engine: EngineName;
  /** Sim scheduler seed (a threads failure keeps its run seed; its interleaving is not recorded). */
  readonly seed: number;
  readonly scheduler: SchedulerSpec;
  readonly modules?: readonly string[];
  readonly scenario: Scenario;
  /** The violation message of the failing run (for reading, not checked). */
  readonly message?: string;
  /** `smpstop replay <this file>`. */
  readonly command: string;
  /** The `smpstop run` command of the failing run. */
  readonly run: string;
  /** Where it was found: campaign file, run index, master seed, how many runs of the campaign failed this way. */
  readonly found?: { readonly campaign?: string; readonly run?: number; readonly masterSeed?: number; readonly count?: number };
  /** For a shrunk file: the file it came from and the reduction steps. */
  readonly shrunk?: { readonly from: string; readonly steps: readonly string[] };
}

const SchedulerSchema = z.object({
  kind: z.enum(['random', 'pct']),
  depth: z.number().int().min(1).max(64).optional(),
  quantum: z.number().int().min(1).max(1_000_000).optional(),
}).strict();

const ReplaySchema = z.object({
  smpstopReplay: z.literal(REPLAY_VERSION),
  expect: z.string().min(1).max(80).regex(/^(outcome:(fault|hung)|[a-z0-9][a-z0-9-]*)$/, 'expected a violation id or outcome:fault / outcome:hung'),
  engine: z.enum(['sim', 'threads']),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
  scheduler: SchedulerSchema.default({ kind: 'random' }),
  modules: z.array(z.string().min(1)).max(16).optional(),
  scenario: z.unknown(),
  message: z.string().max(2000).optional(),
  command: z.string().max(4000).optional(),
  run: z.string().max(100_000).optional(),
  found: z.object({
    campaign: z.string().optional(), run: z.number().int().min(0).optional(), masterSeed: z.number().int().min(0).optional(), count: z.number().int().min(0).optional(),
  }).strict().optional(),
  shrunk: z.object({ from: z.string(), steps: z.array(z.string()) }).strict().optional(),
}).strict();

/**
 * Why a run ended `hung`: `deadlock` (every CPU waits for something that can
 * never happen: a guest behaviour, e.g. a reboot whose SDEI notifier waits on
 * a hard-locked CPU, as the real kernel would), or a budget that ran out
 * (`instruction-budget`, `host-watchdog`: a livelock, or a run the model
 * cannot finish in time). Only the budget cases are failures.
 */
export type HangKind = 'deadlock' | 'instruction-budget' | 'host-watchdog';

export function hangKind(machineOutcome: string): HangKind | undefined {
  if (machineOutcome === 'hung') return 'deadlock';
  if (machineOutcome === 'step-limit') return 'instruction-budget';
  if (machineOutcome === 'host-watchdog') return 'host-watchdog';
  return undefined;
}

type Judged = Pick<RunResult, 'outcome' | 'violations'> & { readonly hang?: HangKind | undefined };

/** The failure keys of a result: its violation ids, plus outcome:fault, and outcome:hung when a budget ran out. */
export function failureKeys(r: Judged): string[] {
  const keys = new Set(r.violations.map((v) => v.id));
  if (r.outcome === 'fault') keys.add('outcome:fault');
  if (r.outcome === 'hung' && r.hang !== 'deadlock') keys.add('outcome:hung');
  return [...keys];
}

export function reproduces(r: Judged, expect: string): boolean {
  return failureKeys(r).includes(expect);
}

/** Loads and validates a replay file (exit code 2 naming the JSON path on anything wrong). */
export function loadReplayFile(path: string, flag = 'FILE'): ReplayFile {
  if (!existsSync(path)) throw new InputError(flag, `${path} does not exist`);
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') throw new InputError(flag, `${path} is empty: expected a replay file (written by smpstop stress)`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InputError(flag, `${path} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = ReplaySchema.safeParse(doc);
  if (!r.success) {
    throw new InputError(flag, `${path}: ${formatIssues(r.error, doc).join('; ')}`, true);
  }
  const scenario = parseScenario(r.data.scenario, `${path}: scenario`);
  const known = r.data.expect.startsWith('outcome:') || listCheckers().some((c) => c.id === r.data.expect) || (r.data.modules?.length ?? 0) > 0;
  if (!known) throw new InputError(flag, `${path}: expect: ${JSON.stringify(r.data.expect)}: not a checker id (smpstop list checkers) nor outcome:fault / outcome:hung`, true);
  return { ...r.data, scenario, command: r.data.command ?? `smpstop replay ${path}`, run: r.data.run ?? '' } as ReplayFile;
}

/** Writes a replay file atomically (a reader never sees half of it). */
export function writeReplayFile(path: string, rf: Omit<ReplayFile, 'command' | 'run' | 'smpstopReplay'>): ReplayFile {
  const full: ReplayFile = {
    smpstopReplay: REPLAY_VERSION,
    ...rf,
    command: `smpstop replay ${path}`,
    run: replayCommand(rf.scenario, optionsOf(rf)),
  };
  const ordered = {
    smpstopReplay: full.smpstopReplay, expect: full.expect, message: full.message, engine: full.engine, seed: full.seed, scheduler: full.scheduler,
    ...(full.modules?.length ? { modules: full.modules } : {}), command: full.command, run: full.run, found: full.found, shrunk: full.shrunk, scenario: full.scenario,
  };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(ordered, null, 2)}\n`);
  renameSync(tmp, path);
  return full;
}

/** Run options replaying `rf` (optionally with another seed, scheduler or engine). */
export function optionsOf(rf: Pick<ReplayFile, 'engine' | 'seed' | 'scheduler' | 'modules'>, over: { seed?: number; scheduler?: SchedulerSpec; engine?: EngineName } = {}): RunOptions {
  const scheduler = over.scheduler ?? rf.scheduler;
  return {
    engine: over.engine ?? rf.engine,
    seed: over.seed ?? rf.seed,
    ...(scheduler.kind !== 'random' || scheduler.quantum !== undefined ? { scheduler } : {}),
    ...(rf.modules?.length ? { modules: rf.modules } : {}),
  };
}

export interface Attempt {
  readonly seed: number;
  readonly scheduler: SchedulerSpec;
  readonly details: RunDetails;
  readonly reproduced: boolean;
}

/** Runs the scenario of `rf` once in the sim engine (or the engine given). */
export async function attempt(rf: ReplayFile, scenario: Scenario, over: { seed?: number; scheduler?: SchedulerSpec; engine?: EngineName } = {}): Promise<Attempt> {
  const opts = optionsOf(rf, { engine: 'sim', ...over });
  const details = await runScenarioDetailed(scenario, opts);
  const judged = { ...details.result, hang: hangKind(details.machine.outcome) };
  return { seed: opts.seed!, scheduler: opts.scheduler ?? { kind: 'random' }, details, reproduced: reproduces(judged, rf.expect) };
}

/**
 * The j-th (seed, scheduler) pair tried when searching: j = 0 is the file's
 * own; then derived seeds, alternating the random scheduler and PCT(3).
 */
export function searchPoint(rf: Pick<ReplayFile, 'seed' | 'scheduler'>, j: number): { seed: number; scheduler: SchedulerSpec } {
  if (j === 0) return { seed: rf.seed, scheduler: rf.scheduler };
  return { seed: runSeed(rf.seed, j), scheduler: j % 2 === 1 ? { kind: 'random' } : { kind: 'pct', depth: 3 } };
}

/**
 * Searches the sim engine for the failure of `rf` (a threads failure, or a sim
 * failure after the model changed): the same scenario under up to `budget`
 * (seed, scheduler) pairs. Returns the first that reproduces, or null.
 */
export async function searchSim(rf: ReplayFile, budget: number, onTry?: (j: number, a: Attempt) => void): Promise<{ attempt: Attempt; tries: number } | null> {
  for (let j = 0; j < budget; j++) {
    const p = searchPoint(rf, j);
    const a = await attempt(rf, rf.scenario, { ...p, engine: 'sim' });
    onTry?.(j, a);
    if (a.reproduced) return { attempt: a, tries: j + 1 };
  }
  return null;
}

/**
 * Re-runs the failure k times: in the sim engine under k different (seed,
 * scheduler) pairs (the first is the file's own), in the threads engine as k
 * real reruns. Returns how many reproduced.
 */
export async function checkFlaky(rf: ReplayFile, k: number, engine: EngineName, onRun?: (i: number, a: Attempt) => void): Promise<{ runs: number; recurred: number; outcomes: Map<string, number> }> {
  let recurred = 0;
  const outcomes = new Map<string, number>();
  for (let i = 0; i < k; i++) {
    const p = engine === 'sim' ? searchPoint(rf, i) : { seed: rf.seed, scheduler: rf.scheduler };
    const a = await attempt(rf, rf.scenario, { ...p, engine });
    if (a.reproduced) recurred++;
    const key = failureKeys({ ...a.details.result, hang: hangKind(a.details.machine.outcome) }).join('+') || 'clean';
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    onRun?.(i, a);
  }
  return { runs: k, recurred, outcomes };
}

/** FILE.json -> FILE.min.json (FILE.min.json for any other name too). */
export function minPath(path: string): string {
  return path.endsWith('.json') ? `${path.slice(0, -5)}.min.json` : `${path}.min.json`;
}

/** FILE.json -> FILE.sim.json: where a threads failure found in the sim engine is written. */
export function simPath(path: string): string {
  return path.endsWith('.json') ? `${path.slice(0, -5)}.sim.json` : `${path}.sim.json`;
}

export const fileLabel = (p: string): string => basename(p);

/**
 * Running a campaign: hands the campaign's run indices (this shard's, not yet
 * recorded) to a runner (pool.ts), appends each result to the JSONL file the
 * moment it finishes, groups failures by key and keeps one replay file per
 * group beside the JSONL, and stops cleanly when asked.
 *
 * Bounds (STYLE.md rule 8): `iterations` (run indices 0..N-1 of the whole
 * campaign) or `durationMs` (host time of this process, checked before every
 * launch); each run has the guest-time, instruction and host-time budgets of
 * its scenario (campaign.ts). On stop (SIGINT/SIGTERM) nothing new starts; runs
 * in flight get STOP_GRACE_MS to finish and are then abandoned (a sim worker
 * is terminated; a threads run is left to the process exit), so the process
 * ends within 2 s with only complete lines written.
 */
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { drawRun, type CampaignOptions } from './campaign.js';
import { JsonlWriter, repairTail, JSONL_VERSION, type CampaignFile, type CampaignHeader, type EndLine } from './jsonl.js';
import { DRAW_VERSION } from './campaign.js';
import { inShard, shardSize, type Shard } from './shard.js';
import { makeRunner, type Runner } from './pool.js';
import { failureKeys, writeReplayFile } from './replay.js';
import { Progress } from './progress.js';
import { runOptionsOf, type RunRecord, type RunJob } from './record.js';
import { replayCommand } from '../scenarios/run.js';

/** How long runs in flight may take to finish after a stop request before they are abandoned. */
export const STOP_GRACE_MS = 1500;

export interface StressConfig {
  readonly options: CampaignOptions;
  readonly shard: Shard;
  readonly iterations?: number;
  readonly durationMs?: number;
  readonly jobs: number;
  /** The JSONL file. */
  readonly out: string;
  /** A campaign file to continue (its header's options are used). */
  readonly resume?: CampaignFile;
  readonly progress: boolean;
  readonly tool: string;
}

export interface FailureGroup {
  readonly key: string;
  count: number;
  /** The representative run: fewest CPUs, then fewest faults, triggers and workload CPUs, then lowest index. */
  best: RunRecord;
  replayFile: string;
}

export interface StressSummary {
  readonly out: string;
  readonly header: CampaignHeader;
  /** Runs this process finished. */
  readonly runs: number;
  /** Runs recorded in the file (including earlier processes'). */
  readonly recorded: number;
  /** Runs of the campaign (this shard) still to do (undefined: a --duration campaign). */
  readonly remaining: number | undefined;
  readonly elapsedMs: number;
  readonly interrupted: boolean;
  /** Runs in flight that were abandoned at the stop. */
  readonly abandoned: number;
  readonly outcomes: ReadonlyMap<string, number>;
  readonly shapes: ReadonlyMap<string, { runs: number; failed: number }>;
  readonly groups: readonly FailureGroup[];
  /** A run that ended in a guest deadlock (not a failure), the smallest. */
  readonly deadlockExample: RunRecord | null;
}

const size = (r: RunRecord): number[] => [r.scenario.cpus, r.scenario.faults.length + r.scenario.triggers.length + r.scenario.workload.length, r.run];
function smaller(a: RunRecord, b: RunRecord): boolean {
  const x = size(a);
  const y = size(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
  return false;
}

/** `stress-42.jsonl` + `null-deref-in-stop-path` -> `stress-42.null-deref-in-stop-path.replay.json` beside it. */
export function replayFileFor(out: string, key: string): string {
  const base = basename(out).replace(/\.jsonl$/, '');
  return join(dirname(out), `${base}.${key.replace(/[^a-z0-9-]/g, '-')}.replay.json`);
}

export function headerFor(c: Pick<StressConfig, 'options' | 'shard' | 'iterations' | 'durationMs' | 'tool'>): CampaignHeader {
  return {
    type: 'campaign', version: JSONL_VERSION, drawVersion: DRAW_VERSION, tool: c.tool, options: c.options, shard: c.shard,
    ...(c.iterations !== undefined ? { iterations: c.iterations } : {}),
    ...(c.durationMs !== undefined ? { durationMs: c.durationMs } : {}),
    started: new Date().toISOString(),
  };
}

export async function runCampaign(c: StressConfig, stop: AbortSignal): Promise<StressSummary> {
  const t0 = performance.now();
  const header = c.resume ? c.resume.header : headerFor(c);
  const o = header.options;
  const recorded = new Map<number, RunRecord>(c.resume?.runs ?? []);
  if (c.resume) repairTail(c.resume);
  const writer = new JsonlWriter(c.out, c.resume ? 'append' : 'create');
  if (!c.resume) writer.write(header);

  const outcomes = new Map<string, number>();
  const shapes = new Map<string, { runs: number; failed: number }>();
  const groups = new Map<string, FailureGroup>();
  const failures = new Map<string, number>();
  const deadlock: { example: RunRecord | null } = { example: null };
  const account = (r: RunRecord, fresh: boolean): void => {
    const label = r.outcome === 'hung' && r.hang ? `hung (${r.hang})` : r.outcome;
    outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    if (r.hang === 'deadlock' && (!deadlock.example || smaller(r, deadlock.example))) deadlock.example = r;
    const keys = failureKeys(r);
    const sh = shapes.get(r.shape) ?? { runs: 0, failed: 0 };
    sh.runs++;
    if (keys.length) sh.failed++;
    shapes.set(r.shape, sh);
    for (const key of keys) {
      failures.set(key, (failures.get(key) ?? 0) + 1);
      const g = groups.get(key);
      if (!g) {
        const ng: FailureGroup = { key, count: 1, best: r, replayFile: replayFileFor(c.out, key) };
        groups.set(key, ng);
        if (fresh) writeGroup(ng, header, c.out); // a first sighting is on disk at once
      } else {
        g.count++;
        if (smaller(r, g.best)) g.best = r;
      }
    }
  };
  for (const r of recorded.values()) account(r, false);

  const iterations = c.iterations ?? header.iterations;
  const duration = c.durationMs ?? header.durationMs;
  const shard = header.shard;
  const todo = function* (): Generator<number> {
    for (let i = 0; iterations === undefined || i < iterations; i++) if (inShard(i, shard) && !recorded.has(i)) yield i;
  };
  let remainingCount = iterations === undefined ? undefined
    : shardSize(iterations, shard) - [...recorded.keys()].filter((i) => i < iterations && inShard(i, shard)).length;
  const total = iterations === undefined ? undefined : shardSize(iterations, shard);

  const progress = new Progress(c.progress);
  let done = 0;
  const state = () => ({ done: total === undefined ? recorded.size : total - remainingCount!, total, durationMs: duration, elapsedMs: performance.now() - t0, failures });
  progress.start(state());

  const runner: Runner = makeRunner(o.engine, c.jobs);
  const abortRuns = new AbortController();
  let closed = false;
  const inflight = new Set<Promise<void>>();
  const stopped = new Promise<void>((res) => {
    if (stop.aborted) res();
    else stop.addEventListener('abort', () => res(), { once: true });
  });

  const finish = (rec: RunRecord): void => {
    if (closed || recorded.has(rec.run)) return;
    recorded.set(rec.run, rec);
    writer.write(rec);
    done++;
    if (remainingCount !== undefined) remainingCount--;
    account(rec, true);
    progress.update(state());
  };

  const it = todo();
  for (;;) {
    if (stop.aborted) break;
    if (duration !== undefined && performance.now() - t0 >= duration) break;
    while (inflight.size >= runner.slots && !stop.aborted) await Promise.race([...inflight, stopped]);
    if (stop.aborted) break;
    if (duration !== undefined && performance.now() - t0 >= duration) break;
    const n = it.next();
    if (n.done) break;
    const d = drawRun(o, n.value);
    const job: RunJob = { index: d.index, seed: d.seed, shape: d.shape, engine: o.engine, scheduler: d.scheduler, scenario: d.scenario, modules: o.modules };
    const p: Promise<void> = runner.run(job, abortRuns.signal).then(finish, (e: unknown) => {
      if (abortRuns.signal.aborted) return; // abandoned at the stop: recorded by a later --resume
      const err = e instanceof Error ? e : new Error(String(e));
      finish({
        type: 'run', run: job.index, seed: job.seed, shape: job.shape, engine: job.engine, scheduler: job.scheduler, scenario: job.scenario,
        outcome: 'fault', reason: 'the sim worker died', violations: [], stoppedBy: [], failedToStop: [], guestTimeUs: 0, instructions: 0, hostMs: 0,
        replay: replayCommand(job.scenario, runOptionsOf(job)), fault: { cpu: -1, message: err.message, stack: err.stack ?? '' },
      });
    }).finally(() => inflight.delete(p));
    inflight.add(p);
  }

  let abandoned = 0;
  if (inflight.size > 0) {
    if (stop.aborted) {
      const grace = new Promise<void>((res) => setTimeout(res, STOP_GRACE_MS).unref());
      await Promise.race([Promise.all([...inflight]), grace]);
      abandoned = inflight.size;
      abortRuns.abort();
    } else {
      await Promise.all([...inflight]);
    }
  }
  closed = true;
  progress.update(state());
  progress.stop();
  const elapsedMs = performance.now() - t0;
  const interrupted = stop.aborted;
  const end: EndLine = { type: 'end', runs: done, interrupted, elapsedMs: Math.round(elapsedMs), at: new Date().toISOString() };
  writer.write(end);
  writer.close();
  for (const g of groups.values()) writeGroup(g, header, c.out);
  if (abandoned === 0) await runner.close();
  else void runner.close().catch(() => undefined);

  return {
    out: c.out, header, runs: done, recorded: recorded.size, remaining: remainingCount, elapsedMs, interrupted, abandoned,
    outcomes, shapes, deadlockExample: deadlock.example, groups: [...groups.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key)),
  };
}

function writeGroup(g: FailureGroup, header: CampaignHeader, out: string): void {
  const r = g.best;
  const v = r.violations.find((x) => x.id === g.key);
  writeReplayFile(g.replayFile, {
    expect: g.key,
    ...(v ? { message: v.message } : r.fault ? { message: r.fault.message } : r.reason ? { message: r.reason } : {}),
    engine: r.engine,
    seed: r.seed,
    scheduler: r.scheduler,
    ...(header.options.modules.length ? { modules: header.options.modules } : {}),
    scenario: r.scenario,
    found: { campaign: basename(out), run: r.run, masterSeed: header.options.seed, count: g.count },
  });
}

/**
 * The library's campaign function: `smpstop stress` without the CLI. Takes
 * one plain options object (defaults as the CLI's), validates it, loads the
 * user modules, runs the campaign (src/stress/runner.ts) into a JSONL file,
 * and returns the summary as plain objects. An AbortSignal stops it the way
 * Ctrl-C stops the CLI: nothing new starts, runs in flight get 1.5 s.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { ENTRY_VARIANT_NAMES } from '../kernel/config.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { MAX_CPUS } from '../machine/shared.js';
import { getVariant, variantNames } from '../kernel/variants/index.js';
import { packageRoot } from '../paths.js';
import { readCampaignFile } from '../stress/jsonl.js';
import { WHOLE, MAX_SHARDS, type Shard } from '../stress/shard.js';
import { runCampaign as runCampaignFile } from '../stress/runner.js';
import { defaultJobs } from '../stress/pool.js';
import type { CampaignOptions as DrawOptions, SchedulerChoice, RunShape } from '../stress/campaign.js';
import type { RunRecord } from '../stress/record.js';
import type { EngineName } from '../machine/config.js';
import { loadModules } from './modules.js';

export type { RunRecord, RunShape, SchedulerChoice };

/** What `runCampaign` runs. Every field is optional; the defaults are `smpstop stress`'s. */
export interface CampaignOptions {
  /** Master seed (default 1). Run i of a campaign is a pure function of (seed, i, kernels, cpus, quirks, scheduler). */
  readonly seed?: number;
  /** Runs 0..iterations-1 (default 2000, unless `durationMs` is given). */
  readonly iterations?: number;
  /** Run for this much host time instead of a fixed number of runs. */
  readonly durationMs?: number;
  /** CPU count of each run: a number, or a range drawn per run (default 2..8). */
  readonly cpus?: number | { readonly min: number; readonly max: number };
  /** Kernel variants drawn from, built-in or defined by `modules` (default ['final']). */
  readonly kernels?: readonly string[];
  /** Draw firmware quirks too (default false). */
  readonly quirks?: boolean;
  /** arm64 exception-exit code versions to draw from (`kernel.entry`; default: the kernel's, split-exit). */
  readonly entry?: readonly string[];
  /** Every run with the Dovetail interrupt pipeline (default false; pseudo-NMI is then never drawn). */
  readonly irqPipeline?: boolean;
  /** Engine of every run (default 'sim'). */
  readonly engine?: EngineName;
  /** Sim scheduler: 'random' (default), 'pct' (depth 2-4 drawn per run), 'mixed' (one third PCT). */
  readonly scheduler?: SchedulerChoice;
  /** Sim machines run in parallel in worker threads (default: host cores; 0: in this thread). */
  readonly jobs?: number;
  /** Modules defining variants, checkers or faults, loaded here and in every worker (paths or file URLs). */
  readonly modules?: readonly string[];
  /** The JSONL result file (default: stress-SEED.jsonl in a new temporary directory). Replay files are written beside it. */
  readonly out?: string;
  /** Replace an existing non-empty `out` (default false: that is an error, unless `resume`). */
  readonly overwrite?: boolean;
  /** Continue the campaign recorded in `out`: only the runs it lacks are run (its options are used). */
  readonly resume?: boolean;
  /** Run only the runs i with i mod n = k-1 (1 <= k <= n). */
  readonly shard?: { readonly k: number; readonly n: number };
  /** Stops the campaign: nothing new starts; runs in flight get 1.5 s, then are abandoned. */
  readonly signal?: AbortSignal;
  /** Show the CLI's progress bar on stderr (default false). */
  readonly progress?: boolean;
}

/** One kind of failure of a campaign, with its smallest example and the replay file written for it. */
export interface CampaignFailure {
  /** A violation id, or `outcome:fault` / `outcome:hung`. */
  readonly id: string;
  /** Runs that failed this way. */
  readonly runs: number;
  /** The smallest failing run (fewest CPUs, then events, then lowest index). */
  readonly example: RunRecord;
  /** Replay file of `example` (see `reproduce`, `checkFlaky`, `shrink`). */
  readonly replayFile: string;
}

/** What `runCampaign` returns. */
export interface CampaignResult {
  /** The JSONL file: a header line, one line per run (RunRecord), an end line. */
  readonly out: string;
  /** The campaign's options as recorded in the file. */
  readonly options: DrawOptions;
  readonly shard: Shard;
  /** Runs this call finished. */
  readonly runs: number;
  /** Runs recorded in the file (a resumed campaign's earlier runs included). */
  readonly recorded: number;
  readonly elapsedMs: number;
  /** The signal stopped it before the end. */
  readonly interrupted: boolean;
  /** Runs in flight abandoned at the stop (a later `resume` runs them). */
  readonly abandoned: number;
  /** Runs by outcome (`hung (deadlock)`, `hung (instruction-budget)` apart). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Runs and failed runs by the race shape drawn. */
  readonly shapes: Readonly<Record<string, { readonly runs: number; readonly failed: number }>>;
  /** Failure groups, most frequent first (empty: the campaign found nothing). */
  readonly failures: readonly CampaignFailure[];
}

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InputError(`campaign.${field}`, `${JSON.stringify(v)}: expected an integer from ${min} to ${max}`);
  }
  return v;
}

const TOOL = ((): string => {
  try {
    return `smpstop ${(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0'} (library)`;
  } catch {
    return 'smpstop (library)';
  }
})();

/**
 * Runs a stress campaign: run i's scenario (and, in the sim engine, its
 * schedule) is drawn from the master seed and i; each result is appended to
 * the JSONL file as it finishes; the first failure of each kind gets a replay
 * file. Throws InputError (code `bad-input`) on invalid options.
 */
export async function runCampaign(o: CampaignOptions = {}): Promise<CampaignResult> {
  const modules = await loadModules(o.modules ?? [], 'campaign.modules');
  const seed = o.seed === undefined ? 1 : int('seed', o.seed, 0, 2 ** 32 - 1);
  const cpus = o.cpus === undefined ? { min: 2, max: 8 }
    : typeof o.cpus === 'number' ? { min: int('cpus', o.cpus, 1, MAX_CPUS), max: o.cpus }
      : { min: int('cpus.min', o.cpus.min, 1, MAX_CPUS), max: int('cpus.max', o.cpus.max, 1, MAX_CPUS) };
  if (cpus.min > cpus.max) throw new InputError('campaign.cpus', `min ${cpus.min} is above max ${cpus.max}`);
  const kernels = [...new Set(o.kernels ?? ['final'])];
  if (kernels.length === 0) throw new InputError('campaign.kernels', 'expected at least one kernel variant');
  for (const k of kernels) {
    if (!getVariant(k)) throw new InputError('campaign.kernels', `'${k}' is not a kernel variant; known: ${variantNames().join(', ')} (a user variant needs its module in \`modules\`)`);
  }
  const scheduler = o.scheduler ?? 'random';
  if (!['random', 'pct', 'mixed'].includes(scheduler)) throw new InputError('campaign.scheduler', `'${scheduler}': expected random, pct or mixed`);
  const engine = o.engine ?? 'sim';
  if (engine !== 'sim' && engine !== 'threads') throw new InputError('campaign.engine', `'${String(engine)}': expected sim or threads`);
  if (o.iterations !== undefined && o.durationMs !== undefined) throw new InputError('campaign.durationMs', 'give either iterations or durationMs, not both');
  const iterations = o.iterations !== undefined ? int('iterations', o.iterations, 1, 100_000_000) : undefined;
  const durationMs = o.durationMs !== undefined ? int('durationMs', o.durationMs, 1, 30 * 86_400_000) : undefined;
  const jobs = o.jobs === undefined ? defaultJobs() : int('jobs', o.jobs, 0, 256);
  const shard = o.shard === undefined ? WHOLE : { n: int('shard.n', o.shard.n, 1, MAX_SHARDS), k: int('shard.k', o.shard.k, 1, o.shard.n) };
  const entry = o.entry === undefined ? undefined : [...new Set(o.entry)];
  if (entry) {
    const bad = entry.length === 0 ? '' : entry.find((e) => !(ENTRY_VARIANT_NAMES as readonly string[]).includes(e));
    if (bad !== undefined) throw new InputError('campaign.entry', `'${bad}' is not accepted: expected one or more of ${ENTRY_VARIANT_NAMES.join(', ')}`);
  }
  const options: DrawOptions = {
    seed, cpus, kernels, quirks: o.quirks ?? false, engine, scheduler, modules,
    ...(entry ? { entry } : {}), ...(o.irqPipeline ? { irqPipeline: true } : {}),
  };

  let out: string;
  let resume: ReturnType<typeof readCampaignFile> | undefined;
  if (o.resume) {
    if (o.out === undefined) throw new InputError('campaign.resume', 'resume needs `out`, the campaign file to continue');
    out = resolve(o.out);
    resume = readCampaignFile(out, 'campaign.out');
  } else {
    out = o.out !== undefined ? resolve(o.out) : join(mkdtempSync(join(tmpdir(), 'smpstop-campaign-')), `stress-${seed}.jsonl`);
    if (existsSync(out) && statSync(out).size > 0 && !o.overwrite) {
      throw new InputError('campaign.out', `${out} already exists: continue it with resume: true, or replace it with overwrite: true`);
    }
  }

  const s = await runCampaignFile({
    options: resume ? resume.header.options : options,
    shard: resume ? resume.header.shard : shard,
    jobs, out, progress: o.progress ?? false, tool: TOOL,
    ...(iterations !== undefined ? { iterations } : durationMs === undefined && !resume ? { iterations: 2000 } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(resume ? { resume } : {}),
  }, o.signal ?? new AbortController().signal);

  return {
    out: s.out, options: s.header.options, shard: s.header.shard, runs: s.runs, recorded: s.recorded, elapsedMs: s.elapsedMs,
    interrupted: s.interrupted, abandoned: s.abandoned,
    outcomes: Object.fromEntries(s.outcomes),
    shapes: Object.fromEntries([...s.shapes].map(([k, v]) => [k, { ...v }])),
    failures: s.groups.map((g) => ({ id: g.key, runs: g.count, example: g.best, replayFile: g.replayFile })),
  };
}

/**
 * `smpstop stress`: a campaign of drawn scenarios (src/stress/). Validates
 * every flag before anything runs, handles SIGINT/SIGTERM, prints the summary.
 *
 * Exit codes: 0 no failure; 1 violations found; 3 a run ended with a model
 * fault; 2 bad input; 130 / 143 stopped by SIGINT / SIGTERM (after the
 * summary; the JSONL file holds every finished run and --resume continues).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { flagGiven, DEFAULT_ITERATIONS } from './args.js';
import { parseFlags, StressFlagsSchema } from './flags.js';
import { loadModules } from '../api/modules.js';
import { readCampaignFile, type CampaignFile } from '../stress/jsonl.js';
import { shardLabel, WHOLE, type Shard } from '../stress/shard.js';
import { runCampaign, type StressSummary, type StressConfig } from '../stress/runner.js';
import { defaultJobs } from '../stress/pool.js';
import { failureText } from '../stress/progress.js';
import type { CampaignOptions } from '../stress/campaign.js';
import type { EngineName } from '../machine/config.js';

export interface StressArgs {
  engine: EngineName;
  seed?: unknown;
  json?: boolean;
  cpus?: unknown;
  kernel?: string;
  quirks?: boolean;
  iterations?: unknown;
  duration?: unknown;
  jobs?: unknown;
  scheduler?: string;
  out?: string;
  resume?: string;
  shard?: unknown;
  force?: boolean;
  progress?: boolean;
  'kernel-module'?: string[];
  entry?: string;
  'irq-pipeline'?: boolean;
}


/** The campaign the flags describe: the runner's configuration less what the command adds itself. */
export type ResolvedStress = Omit<StressConfig, 'progress' | 'tool'>;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Validates every flag (and the resumed file) before anything runs. */
export async function resolveStressArgs(a: StressArgs): Promise<ResolvedStress> {
  // Modules first: they may define the variants --kernel names.
  const modules = await loadModules(a['kernel-module'] ?? [], '--kernel-module');
  const f = parseFlags(StressFlagsSchema, a);
  const seed = f.seed ?? 1;
  const cpus = f.cpus ?? { min: 2, max: 8 };
  const kernels = f.kernel ?? ['final'];
  const scheduler = f.scheduler ?? 'random';
  if (f.iterations !== undefined && f.duration !== undefined) throw new InputError('--duration', 'give either --iterations or --duration, not both');
  const iterations = f.iterations;
  const durationMs = f.duration;
  const jobs = f.jobs ?? defaultJobs();
  const shard = f.shard ?? WHOLE;
  const options: CampaignOptions = {
    seed, cpus, kernels, quirks: a.quirks ?? false, engine: a.engine, scheduler, modules,
    ...(f.entry ? { entry: f.entry } : {}), ...(f['irq-pipeline'] ? { irqPipeline: true } : {}),
  };

  if (a.resume !== undefined) {
    const file = readCampaignFile(a.resume);
    if (a.out !== undefined && resolve(a.out) !== resolve(a.resume)) throw new InputError('--out', `--resume appends to ${a.resume}; drop --out`);
    const h = file.header;
    // A flag given with --resume must agree with the campaign: run i must stay the same run.
    const checks: [string, boolean, unknown][] = [
      ['--seed', a.seed !== undefined && !same(seed, h.options.seed), h.options.seed],
      ['--cpus', a.cpus !== undefined && !same(cpus, h.options.cpus), `${h.options.cpus.min}..${h.options.cpus.max}`],
      ['--kernel', a.kernel !== undefined && !same(kernels, h.options.kernels), h.options.kernels.join(',')],
      ['--quirks', a.quirks !== undefined && a.quirks !== h.options.quirks, h.options.quirks],
      ['--entry', f.entry !== undefined && !same(f.entry, h.options.entry), h.options.entry?.join(',') ?? 'the default'],
      ['--irq-pipeline', f['irq-pipeline'] !== undefined && f['irq-pipeline'] !== (h.options.irqPipeline ?? false), h.options.irqPipeline ?? false],
      ['--scheduler', a.scheduler !== undefined && scheduler !== h.options.scheduler, h.options.scheduler],
      ['--shard', a.shard !== undefined && !same(shard, h.shard), shardLabel(h.shard)],
      ['--engine', flagGiven('engine') && a.engine !== h.options.engine, h.options.engine],
    ];
    for (const [flag, differs, theirs] of checks) {
      if (differs) throw new InputError(flag, `differs from the campaign in ${a.resume} (${String(theirs)}); a resumed campaign keeps its options`);
    }
    return {
      options: h.options, shard: h.shard, jobs, out: a.resume, resume: file,
      ...(iterations !== undefined ? { iterations } : h.iterations !== undefined ? { iterations: h.iterations } : {}),
      ...(durationMs !== undefined ? { durationMs } : h.durationMs !== undefined ? { durationMs: h.durationMs } : {}),
    };
  }

  const out = a.out ?? (shard.n > 1 ? `stress-${seed}.shard-${shard.k}-of-${shard.n}.jsonl` : `stress-${seed}.jsonl`);
  if (existsSync(out) && statSync(out).size > 0 && !a.force) {
    throw new InputError('--out', `${out} already exists: continue it with --resume ${out}, or overwrite it with --force`);
  }
  return {
    options, shard, jobs, out,
    ...(durationMs !== undefined ? { durationMs } : { iterations: iterations ?? DEFAULT_ITERATIONS }),
  };
}

export function formatStressSummary(s: StressSummary, jobs: number): string {
  const o = s.header.options;
  const out: string[] = [];
  const rate = s.elapsedMs > 0 ? (s.runs * 1000) / s.elapsedMs : 0;
  out.push(`smpstop stress: master seed ${o.seed}, CPUs ${o.cpus.min}..${o.cpus.max}, kernels ${o.kernels.join(',')}${o.entry ? `, entry ${o.entry.join(',')}` : ''}${o.irqPipeline ? ', irq pipeline' : ''}${o.quirks ? ', quirks' : ''}, ${o.engine} engine${o.engine === 'sim' ? (jobs === 0 ? ' (in this thread)' : ` (${jobs} jobs)`) : ''}, scheduler ${o.scheduler}${s.header.shard.n > 1 ? `, shard ${shardLabel(s.header.shard)}` : ''}`);
  out.push(`${s.interrupted ? 'interrupted' : 'finished'}: ${s.runs} runs in ${(s.elapsedMs / 1000).toFixed(1)} s (${rate.toFixed(1)} runs/s); ${s.recorded} recorded in ${s.out}${s.remaining ? `, ${s.remaining} to go` : ''}${s.abandoned ? `; ${s.abandoned} in flight abandoned` : ''}`);
  out.push(`outcomes: ${[...s.outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  out.push(`by shape: ${[...s.shapes.entries()].sort((a, b) => b[1].runs - a[1].runs).map(([k, v]) => `${k} ${v.runs}${v.failed ? ` (${v.failed} failed)` : ''}`).join(', ')}`);
  if (s.deadlockExample) {
    const d = s.deadlockExample;
    out.push(`guest deadlocks (not failures: every CPU waits forever, as the kernel would): ${s.outcomes.get('hung (deadlock)') ?? 0} runs, e.g. run ${d.run} (${d.shape}, ${d.scenario.cpus} CPUs; its replay command: jq -r 'select(.run==${d.run}).replay' ${s.out})`);
  }
  if (s.groups.length === 0) out.push('failures: none');
  else {
    out.push(`failures by id (${failureText(new Map(s.groups.map((g) => [g.key, g.count])), false)}):`);
    const w = Math.max(...s.groups.map((g) => g.key.length));
    for (const g of s.groups) {
      const v = g.best.violations.find((x) => x.id === g.key);
      out.push(`  ${g.key.padEnd(w)}  ${String(g.count).padStart(5)} runs  e.g. run ${g.best.run} (${g.best.shape}, ${g.best.scenario.cpus} CPUs, ${g.best.scenario.kernel.variant})${v ? `: ${v.message}` : g.best.fault ? `: ${g.best.fault.message}` : ''}`);
      out.push(`  ${''.padEnd(w)}  replay: smpstop replay ${g.replayFile}`);
    }
  }
  if (s.interrupted) out.push(`continue with: smpstop stress --resume ${s.out}`);
  return out.join('\n');
}

export function exitCodeOf(s: StressSummary, signal: string | null): number {
  if (signal) return signal === 'SIGTERM' ? 143 : 130;
  if (s.groups.some((g) => g.key === 'outcome:fault')) return 3;
  return s.groups.length > 0 ? 1 : 0;
}

export async function stressCommand(a: StressArgs, print: (s: string) => void, tool: string): Promise<{ code: number; abandoned: number }> {
  const r = await resolveStressArgs(a);
  const stop = new AbortController();
  let signal: string | null = null;
  const onSignal = (sig: string): void => {
    if (signal) return;
    signal = sig;
    process.stderr.write(`\nsmpstop: ${sig}: stopping (runs in flight get ${1.5} s)\n`);
    stop.abort();
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const s = await runCampaign({
      options: r.options, shard: r.shard, jobs: r.jobs, out: r.out, progress: a.progress ?? true, tool,
      ...(r.iterations !== undefined ? { iterations: r.iterations } : {}),
      ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
      ...(r.resume ? { resume: r.resume } : {}),
    }, stop.signal);
    if (a.json) {
      print(JSON.stringify({
        out: s.out, options: s.header.options, shard: s.header.shard, runs: s.runs, recorded: s.recorded, remaining: s.remaining,
        elapsedMs: Math.round(s.elapsedMs), interrupted: s.interrupted, abandoned: s.abandoned,
        outcomes: Object.fromEntries(s.outcomes), shapes: Object.fromEntries(s.shapes),
        failures: s.groups.map((g) => ({ id: g.key, runs: g.count, run: g.best.run, replayFile: g.replayFile, replay: `smpstop replay ${g.replayFile}` })),
      }, null, 2));
    } else {
      print(formatStressSummary(s, r.jobs));
    }
    return { code: exitCodeOf(s, signal), abandoned: s.abandoned };
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

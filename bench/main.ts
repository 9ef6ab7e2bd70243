/**
 * The smpstop benchmark suite (issues 2 and 7): throughput, latency, idle
 * cost and scaling, each figure with a natural limit measured in the same run
 * and printed next to it as a ratio, because the 2-core host is shared and
 * noisy. A benchmark measures and prints; it never fails because the host is
 * slow.
 *
 *   node dist/bench/main.js [--quick | --soak [SIM,THREADS]] [--json] [--out DIR | --no-write]
 *   smpstop bench [--quick | --soak [SIM,THREADS]] [--json] [--out DIR]
 *
 * --soak runs soak.ts instead of the suite (100,000 sim and 5,000 threads
 * runs by default; exit 1 if memory grew more than 10% after warm-up).
 *
 * Families: instructions.ts (busy CPU vs bare generator loop; with
 * cold-generators.ts, the bare loop over many distinct functions), sgi.ts (SGI
 * latency vs bare futex), wake.ts (64 sleeping CPUs: wake-all and idle CPU),
 * scenarios.ts (panic + stop + kdump throughput and scaling). Results are also
 * written to bench/results/<date>-<commit>[-quick][-N].{json,txt} (-2, -3, ... for later runs of a commit that day).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FULL, QUICK, type BenchConfig } from './config.js';
import { measureInstructions, measureCold } from './instructions.js';
import { measureSgi } from './sgi.js';
import { measureWake } from './wake.js';
import { measureScenarioEngine, combineScenarios, measureScaling, growthExponent, poolRunsPerSec, stepExponents } from './scenarios.js';
import { defaultJobs } from '../src/stress/pool.js';
import { renderTable, targetChecks, writeResults, freshResultBase, type BenchReport, type BenchMeta } from './report.js';
import { hostMs, otherLoad, cpuTicks, tickShares } from './host.js';
import { packageRoot } from '../src/paths.js';
import { writeFileSync } from 'node:fs';
import { runSoak, renderSoak, SOAK_DEFAULTS } from './soak.js';
import { shutdownThreadsEngine } from '../src/machine/threads.js';

export interface BenchOptions {
  readonly quick?: boolean;
  /** Sizes (overrides `quick`); tests pass tiny ones. */
  readonly config?: BenchConfig;
  /** Progress lines (default: stderr). */
  readonly progress?: (line: string) => void;
}

function gitInfo(): { commit: string; dirty: boolean } {
  // A run from a copy of dist/ (so that rebuilds of the working tree cannot race the workers'
  // module loading) names its commit this way.
  const env = process.env.SMPSTOP_BENCH_COMMIT;
  if (env) return { commit: env.replace(/[^0-9A-Za-z._-]/g, ''), dirty: env.endsWith('-dirty') };
  try {
    const cwd = packageRoot();
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit: commit || 'nocommit', dirty };
  } catch {
    return { commit: 'nocommit', dirty: false };
  }
}

/** Runs the suite and returns the report (nothing printed but progress). */
export async function runBench(o: BenchOptions = {}): Promise<BenchReport> {
  const cfg = o.config ?? (o.quick ? QUICK : FULL);
  const progress = o.progress ?? ((l: string) => process.stderr.write(`${l}\n`));
  const t0 = hostMs();
  const hostAtStart = await otherLoad();
  const ticks0 = cpuTicks();
  const step = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const s = hostMs();
    progress(`bench: ${name} ...`);
    const v = await f();
    progress(`bench: ${name} done in ${((hostMs() - s) / 1000).toFixed(1)} s`);
    return v;
  };
  // Order: single-thread figures first; then threads-engine ones with the worker pool growing
  // (2, 8, 32, 64 workers), so each scaling row's RSS includes the warm pool its size needs, no more.
  const instructionsHot = await step('instructions', () => measureInstructions(cfg));
  const simScenarios = await step('scenario throughput, sim', () => measureScenarioEngine(cfg, 'sim', instructionsHot.simPerSec));
  const simPool = await step('scenario throughput, sim stress pool', () => poolRunsPerSec(cfg.scenarioCpus, defaultJobs(), cfg.scenarioSeconds.sim,
    { seconds: cfg.scenarioWarmSeconds.sim }, cfg.scenarioWindows));
  const simScaling = await step('scaling, sim', () => measureScaling(cfg, 'sim'));
  const cold = await step('cold generator code', async () => measureCold(cfg));
  const instructions = { ...instructionsHot, cold };
  const sgi = await step('sgi latency', () => measureSgi(cfg));
  const thrScenarios = await step('scenario throughput, threads', () => measureScenarioEngine(cfg, 'threads', instructionsHot.threadsPerSec));
  const thrScaling = await step('scaling, threads', () => measureScaling(cfg, 'threads'));
  const { wake, idle } = await step(`wake ${cfg.wakeCpus} / idle`, () => measureWake(cfg));
  const scenarios = combineScenarios(cfg, simScenarios, thrScenarios, simPool, instructions.cold.coldNs);
  const scaling = [...simScaling, ...thrScaling];
  const expFrom = cfg.scaling.sim.filter((n) => n >= 32).length >= 2 ? 32 : Math.min(...cfg.scaling.sim);
  const threadsWanted = Math.max(...cfg.scaling.threads);
  const body = {
    instructions, sgi, wake, idle, scenarios, scaling,
    scalingSummary: {
      simExponent: growthExponent(scaling, 'sim', expFrom),
      simExponentFrom: expFrom,
      simExponentSteps: stepExponents(scaling, 'sim', expFrom),
      threadsMaxCpusCompleted: Math.max(0, ...scaling.filter((s) => s.engine === 'threads' && s.outcome === 'kexec').map((s) => s.cpus)),
    },
  };
  const shares = tickShares(ticks0, cpuTicks());
  const g = gitInfo();
  const meta: BenchMeta = {
    suite: cfg.name,
    date: new Date().toISOString(),
    commit: g.commit,
    dirty: g.dirty,
    node: process.version,
    hostCores: cpus().length,
    hostNotes: `at start: ${hostAtStart}; at end: ${await otherLoad()}`,
    hostBusyPercent: shares.busyPercent,
    hostStealPercent: shares.stealPercent,
    durationS: (hostMs() - t0) / 1000,
  };
  return { meta, ...body, targets: targetChecks(body, threadsWanted) };
}

export interface BenchCommandArgs {
  readonly quick?: boolean;
  readonly json?: boolean;
  /** Run the soak instead of the suite: sim and threads run counts. */
  readonly soak?: { readonly simRuns: number; readonly threadsRuns: number };
  /** Directory for the result files; null: do not write them. Default bench/results in the package. */
  readonly out?: string | null;
}

/** What `smpstop bench` and `npm run bench` do; returns the exit code. */
export async function benchCommand(a: BenchCommandArgs, print: (s: string) => void): Promise<number> {
  if (a.soak) {
    const s = await runSoak(a.soak);
    const g = gitInfo();
    const meta = { suite: 'soak', date: new Date().toISOString(), commit: g.dirty && !g.commit.endsWith('-dirty') ? `${g.commit}-dirty` : g.commit, node: process.version, ...a.soak };
    print(a.json ? JSON.stringify({ meta, ...s }, null, 2) : `smpstop bench --soak, ${meta.date}, commit ${meta.commit}, node ${meta.node}\n${renderSoak(s)}`);
    if (a.out !== null) {
      const base = freshResultBase(a.out ?? join(packageRoot(), 'bench', 'results'), `${meta.date.slice(0, 10)}-${meta.commit}-soak`);
      writeFileSync(`${base}.json`, `${JSON.stringify({ meta, ...s }, null, 2)}\n`);
      writeFileSync(`${base}.txt`, `${renderSoak(s)}\n`);
      process.stderr.write(`bench: results written to ${base}.json and .txt\n`);
    }
    return s.sim?.leak || s.threads?.leak ? 1 : 0;
  }
  const r = await runBench({ quick: a.quick ?? false });
  print(a.json ? JSON.stringify(r, null, 2) : renderTable(r));
  if (a.out !== null) {
    const base = writeResults(r, a.out ?? join(packageRoot(), 'bench', 'results'));
    process.stderr.write(`bench: results written to ${base}.json and .txt\n`);
  }
  return 0;
}

const USAGE = 'usage: node dist/bench/main.js [--quick | --soak [SIM_RUNS,THREADS_RUNS]] [--json] [--out DIR | --no-write]';

/** Parses the script's flags; throws with a one-line message on a bad one. */
export function parseBenchArgs(argv: readonly string[]): BenchCommandArgs & { help: boolean } {
  let quick = false;
  let json = false;
  let out: string | null | undefined;
  let help = false;
  let soak: BenchCommandArgs['soak'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--soak') {
      soak = { simRuns: SOAK_DEFAULTS.simRuns, threadsRuns: SOAK_DEFAULTS.threadsRuns };
      const v = argv[i + 1];
      if (v !== undefined && !v.startsWith('--')) {
        i++;
        const m = /^(\d+),(\d+)$/.exec(v);
        if (!m || Number(m[1]) > 10_000_000 || Number(m[2]) > 1_000_000) throw new Error(`--soak: '${v}' is not accepted: expected SIM_RUNS,THREADS_RUNS (up to 10000000,1000000), e.g. 100000,5000`);
        soak = { simRuns: Number(m[1]), threadsRuns: Number(m[2]) };
      }
    }
    else if (a === '--json') json = true;
    else if (a === '--no-write') out = null;
    else if (a === '--help' || a === '-h') help = true;
    else if (a === '--out' || a.startsWith('--out=')) {
      const v = a === '--out' ? argv[++i] : a.slice('--out='.length);
      if (!v) throw new Error('--out: expected a directory');
      out = v;
    } else throw new Error(`unknown argument '${a}' (${USAGE})`);
  }
  if (soak && quick) throw new Error('--soak: give either --quick or --soak, not both');
  return { quick, json, ...(out !== undefined ? { out } : {}), ...(soak ? { soak } : {}), help };
}

async function scriptMain(): Promise<void> {
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    process.exitCode = await benchCommand(args, (s) => process.stdout.write(`${s}\n`));
  } finally {
    await shutdownThreadsEngine();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  scriptMain().catch((e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 4;
  });
}

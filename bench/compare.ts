/**
 * Paired comparison of two builds of smpstop on the bench scenario (panic +
 * stop + kdump, scenarios.ts kernelScenario), in one process: each build runs
 * in its own worker thread, and the two take turns, one batch of runs each,
 * the order swapped every pair. Each pair gives a ratio (B's runs per second
 * over A's), measured close together in time, so a neighbour's burst on this
 * shared host slows both sides of a pair rather than one commit's whole suite
 * run. The report is the median ratio, its interquartile range and a bootstrap
 * 95% interval of the median: a full suite run cannot rank two commits a few
 * per cent apart here (the sim figure of one commit read 730 to 864 runs/s in
 * four runs of one sitting), while 200 pairs of 60-run batches resolve about
 * 1.5%.
 *
 *   node dist/bench/compare.js DIR_A DIR_B [--cpus 8] [--engine sim] [--batch 60] [--pairs 200] [--warm 400] [--json]
 *
 * DIR_A and DIR_B are built smpstop package directories (each with its
 * package.json and dist/); copy dist/ away before rebuilding the tree.
 * A ratio above 1 means B is faster.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { median, quantile } from './host.js';
import { kernelScenario } from './scenarios.js';

/** What is compared, and how finely. */
export interface CompareSetup {
  /** The two built package directories. */
  readonly a: string;
  readonly b: string;
  readonly engine: 'sim' | 'threads';
  readonly cpus: number;
  /** Runs per batch (one side of a pair). */
  readonly batch: number;
  readonly pairs: number;
}

export interface CompareOptions extends CompareSetup {
  /** Unmeasured runs per side first (JIT warm-up). */
  readonly warm: number;
}

export interface CompareReport extends CompareSetup {
  /** Median runs per wall second of each side's batches. */
  readonly aRunsPerSec: number;
  readonly bRunsPerSec: number;
  /** Per pair: B's runs/s over A's (wall); median, quartiles, bootstrap 95% interval of the median. */
  readonly ratio: { readonly median: number; readonly q25: number; readonly q75: number; readonly ci95: readonly [number, number] };
  /** The same over process CPU time per batch (less sensitive to time the hypervisor takes). */
  readonly cpuRatio: { readonly median: number; readonly q25: number; readonly q75: number; readonly ci95: readonly [number, number] };
}

/** The runner each worker evaluates: loads one build, then runs batches on request. */
const RUNNER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { runScenario } = await import(workerData.runUrl);
  let seed = 1;
  parentPort.on('message', async (n) => {
    try {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const r = await runScenario(workerData.scenario, { engine: workerData.engine, seed: (seed++ % 1000) + 1 });
        if (r.outcome !== 'kexec') throw new Error('the bench scenario ended ' + r.outcome + (r.fault ? ': ' + r.fault.message : ''));
      }
      const c = process.cpuUsage(c0);
      parentPort.postMessage({ wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 });
    } catch (e) {
      parentPort.postMessage({ error: String(e && e.stack || e) });
    }
  });
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

/** The built entry point of a package directory, or an error naming what is missing. */
function runModule(dir: string, which: 'DIR_A' | 'DIR_B'): string {
  const f = join(resolve(dir), 'dist', 'src', 'scenarios', 'run.js');
  if (!existsSync(f)) throw new Error(`${which}: '${dir}' is not a built smpstop package directory (no dist/src/scenarios/run.js)`);
  return pathToFileURL(f).href;
}

/** Seeded bootstrap (the same report for the same ratios): 95% interval of the median. */
function bootstrapMedian(xs: readonly number[], resamples = 2000): [number, number] {
  let s = 0x9e3779b9;
  const rand = (): number => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
  const meds: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const sample = Array.from({ length: xs.length }, () => xs[Math.floor(rand() * xs.length)]!);
    meds.push(median(sample));
  }
  return [quantile(meds, 0.025), quantile(meds, 0.975)];
}

function summary(xs: readonly number[]): CompareReport['ratio'] {
  return { median: median(xs), q25: quantile(xs, 0.25), q75: quantile(xs, 0.75), ci95: bootstrapMedian(xs) };
}

export async function compareBuilds(o: CompareOptions, progress: (line: string) => void = () => undefined): Promise<CompareReport> {
  const urls = [runModule(o.a, 'DIR_A'), runModule(o.b, 'DIR_B')];
  const scenario = kernelScenario(o.cpus);
  const workers = urls.map((runUrl) => new Worker(RUNNER, { eval: true, workerData: { runUrl, engine: o.engine, scenario } }));
  const next = (w: Worker): Promise<{ wall: number; cpu: number; ready?: boolean }> => new Promise((res, rej) => {
    const onMsg = (m: { error?: string; wall: number; cpu: number }): void => {
      w.off('error', onErr);
      if (m.error) rej(new Error(m.error));
      else res(m);
    };
    const onErr = (e: Error): void => {
      w.off('message', onMsg);
      rej(e);
    };
    w.once('message', onMsg);
    w.once('error', onErr);
  });
  const batch = (w: Worker, n: number): Promise<{ wall: number; cpu: number }> => {
    const p = next(w);
    w.postMessage(n);
    return p;
  };
  try {
    await Promise.all(workers.map(next));
    if (o.warm > 0) for (const w of workers) await batch(w, o.warm);
    const wall: number[] = [];
    const cpu: number[] = [];
    const aRate: number[] = [];
    const bRate: number[] = [];
    for (let k = 0; k < o.pairs; k++) {
      const r: { wall: number; cpu: number }[] = [];
      for (const side of k & 1 ? [1, 0] : [0, 1]) r[side] = await batch(workers[side]!, o.batch);
      const [a, b] = r as [{ wall: number; cpu: number }, { wall: number; cpu: number }];
      wall.push(a.wall / b.wall);
      cpu.push(a.cpu / b.cpu);
      aRate.push(o.batch / (a.wall / 1000));
      bRate.push(o.batch / (b.wall / 1000));
      if ((k + 1) % 20 === 0) progress(`compare: ${k + 1}/${o.pairs} pairs, median B/A ${median(wall).toFixed(3)}`);
    }
    return {
      a: o.a, b: o.b, engine: o.engine, cpus: o.cpus, batch: o.batch, pairs: o.pairs,
      aRunsPerSec: median(aRate), bRunsPerSec: median(bRate),
      ratio: summary(wall), cpuRatio: summary(cpu),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export function renderCompare(r: CompareReport): string {
  const f = (x: CompareReport['ratio']): string =>
    `${x.median.toFixed(3)} (interquartile ${x.q25.toFixed(3)} to ${x.q75.toFixed(3)}; 95% interval of the median ${x.ci95[0].toFixed(3)} to ${x.ci95[1].toFixed(3)})`;
  return [
    `smpstop bench compare: ${r.engine}, ${r.cpus} CPUs, ${r.pairs} pairs of ${r.batch}-run batches, order swapped every pair`,
    `A ${r.a}: ${r.aRunsPerSec.toFixed(0)} runs/s (median batch)`,
    `B ${r.b}: ${r.bRunsPerSec.toFixed(0)} runs/s (median batch)`,
    `B/A, wall time: ${f(r.ratio)}`,
    `B/A, CPU time:  ${f(r.cpuRatio)}`,
    r.ratio.ci95[0] > 1 ? 'B is faster.' : r.ratio.ci95[1] < 1 ? 'B is slower.' : 'No difference resolved: the interval contains 1.',
  ].join('\n');
}

/** Parses the command line; throws with a message naming the argument and what it accepts. */
export function parseCompareArgs(argv: readonly string[]): CompareOptions & { json: boolean } {
  const int = (name: string, lo: number, hi: number) => (v: unknown): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`--${name}: '${String(v)}' is not accepted: an integer from ${lo} to ${hi}`);
    return n;
  };
  const a = yargs([...argv])
    .scriptName('compare')
    .usage('$0 DIR_A DIR_B [options]: paired runs/s of two built smpstop package directories (ratio > 1: B is faster)')
    .option('engine', { type: 'string', choices: ['sim', 'threads'], default: 'sim' })
    .option('cpus', { type: 'number', default: 8, coerce: int('cpus', 1, 256) })
    .option('batch', { type: 'number', default: 60, coerce: int('batch', 1, 100_000) })
    .option('pairs', { type: 'number', default: 200, coerce: int('pairs', 1, 100_000) })
    .option('warm', { type: 'number', default: 400, coerce: int('warm', 0, 1_000_000) })
    .option('json', { type: 'boolean', default: false })
    .strictOptions()
    .help(false)
    .version(false)
    .fail((msg, err) => { throw err ?? new Error(msg); })
    .parseSync();
  const dirs = a._.map(String);
  if (dirs.length !== 2) throw new Error(`expected two package directories, DIR_A and DIR_B, got ${dirs.length}`);
  return { a: dirs[0]!, b: dirs[1]!, engine: a.engine as 'sim' | 'threads', cpus: a.cpus, batch: a.batch, pairs: a.pairs, warm: a.warm, json: a.json };
}

async function main(): Promise<void> {
  let o: ReturnType<typeof parseCompareArgs>;
  try {
    o = parseCompareArgs(process.argv.slice(2));
    runModule(o.a, 'DIR_A');
    runModule(o.b, 'DIR_B');
  } catch (e) {
    process.stderr.write(`compare: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const r = await compareBuilds(o, (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(`${o.json ? JSON.stringify(r, null, 2) : renderCompare(r)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`compare: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 4;
  });
}

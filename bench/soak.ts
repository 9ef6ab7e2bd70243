/**
 * Soak (issue 8): many runs in one process, watching for growth. By default
 * 100,000 sim runs, then 5,000 threads runs, round-robin over the presets
 * (every wedge mode, parallel panics, reboot and power-off races, the
 * interrupt pipeline) with a new seed per run. Heap (after a full GC), RSS
 * and external memory are sampled after the warm-up, then every tenth of the
 * measured runs to the end of each engine's share; growth beyond 10% from the
 * warm-up sample to the end is a leak to fix, and the report says so, with
 * the growth over the second half (a leak keeps growing; a plateau does not).
 *
 * Presets that run for long in host time on purpose (the workload and
 * entry-test ones: millions of instructions) are left out: they would make
 * the soak hours long without touching any code the others do not.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { runScenario } from '../src/scenarios/run.js';
import { PRESETS } from '../src/scenarios/presets.js';
import type { EngineName } from '../src/machine/config.js';
import { hostMs } from './host.js';

export const SOAK_DEFAULTS = { simRuns: 100_000, threadsRuns: 5_000 } as const;
/** Growth from the warm-up sample to the end above this is reported as a leak. */
export const SOAK_GROWTH_LIMIT = 0.10;

export interface MemorySample {
  /** `step`: one of the samples taken every tenth of the measured runs (`middle` is the fifth). */
  readonly label: 'warm' | 'step' | 'middle' | 'end';
  readonly runs: number;
  readonly heapMb: number;
  readonly rssMb: number;
  readonly externalMb: number;
}

export interface SoakEngineReport {
  readonly engine: EngineName;
  readonly runs: number;
  readonly warmupRuns: number;
  readonly seconds: number;
  readonly runsPerSec: number;
  /** Outcome counts (a run that throws counts as `threw`). */
  readonly outcomes: Record<string, number>;
  /** The first few runs that ended with a model fault, threw or hung: what to look at. */
  readonly faults: readonly { readonly preset: string; readonly seed: number; readonly message: string }[];
  readonly samples: readonly MemorySample[];
  /** (end - warm) / warm, heap after GC and RSS. */
  readonly heapGrowth: number;
  readonly rssGrowth: number;
  /** (end - middle) / middle, RSS: growth over the second half of the measured runs. */
  readonly rssLateGrowth: number;
  readonly leak: boolean;
}

export interface SoakReport {
  readonly sim: SoakEngineReport | null;
  readonly threads: SoakEngineReport | null;
}

const SLOW = /^(workload-panic|preempt-da-masked|pipeline-entry-test)/;
export const SOAK_PRESETS = PRESETS.filter((p) => !SLOW.test(p.name));

let gcFn: (() => void) | null = null;
/** A full GC (exposed at run time: the bench is not started with --expose-gc). */
function fullGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

async function sample(label: MemorySample['label'], runs: number): Promise<MemorySample> {
  // ArrayBuffer backing stores (each machine's shared buffers) are freed after the GC, on V8's
  // platform threads: right after gc() up to ~40 MB of dead machines still counts in RSS. Settle first.
  fullGc();
  await new Promise((r) => setTimeout(r, 250));
  fullGc();
  const m = process.memoryUsage();
  const mb = (b: number): number => Math.round((b / (1024 * 1024)) * 10) / 10;
  return { label, runs, heapMb: mb(m.heapUsed), rssMb: mb(m.rss), externalMb: mb(m.external) };
}

async function soakEngine(engine: EngineName, runs: number, progress: (l: string) => void): Promise<SoakEngineReport> {
  // Warm-up. Sim: the JIT settles after a few hundred runs, but RSS takes longer: sampled every
  // tenth, a 100,000-run soak's RSS rose 163 -> 191 MB over the first half and was flat after
  // (191 -> 192 MB), with the heap flat throughout; so the first tenth of the runs is warm-up.
  // Threads: every CPU worker is its own isolate that JITs and grows its heap on its own, one task
  // per run: RSS rises until about 2,000 runs (190 -> 228 MB with 4 workers) and is flat after
  // (227-229 MB to 3,250 runs). So 2 runs in 5 are warm-up there.
  const warmupRuns = Math.min(runs, Math.max(SOAK_PRESETS.length * 10, Math.floor(engine === 'threads' ? (runs * 2) / 5 : runs / 10)));
  const outcomes: Record<string, number> = {};
  const faults: { preset: string; seed: number; message: string }[] = [];
  const samples: MemorySample[] = [];
  const measured = runs - warmupRuns;
  // Sample points: every tenth of the measured runs (the fifth is the middle), then the end.
  const steps = new Map<number, MemorySample['label']>();
  for (let k = 1; k < 10; k++) {
    const at = warmupRuns + Math.floor((measured * k) / 10);
    if (at > warmupRuns && at < runs) steps.set(at, k === 5 ? 'middle' : 'step');
  }
  const t0 = hostMs();
  let lastReport = t0;
  for (let i = 0; i < runs; i++) {
    if (i === warmupRuns) samples.push(await sample('warm', i));
    const label = steps.get(i);
    if (label) samples.push(await sample(label, i));
    const p = SOAK_PRESETS[i % SOAK_PRESETS.length]!;
    let outcome: string;
    try {
      const r = await runScenario(p.scenario, { engine, seed: i + 1 });
      outcome = r.outcome;
      if (r.fault && faults.length < 5) faults.push({ preset: p.name, seed: i + 1, message: `cpu ${r.fault.cpu}: ${r.fault.message}` });
      // A preset never hangs: a hang here is a lost wake-up or a stuck worker (what each CPU was doing).
      if (r.outcome === 'hung' && faults.length < 5) {
        faults.push({ preset: p.name, seed: i + 1, message: `hung (${r.reason ?? '?'}) at ${r.guestTimeUs} us: ${r.cpus.map((c) => `cpu${c.cpu} ${c.state} ${c.symbol}`).join('; ')}` });
      }
    } catch (e) {
      outcome = 'threw';
      if (faults.length < 5) faults.push({ preset: p.name, seed: i + 1, message: e instanceof Error ? e.message : String(e) });
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    const now = hostMs();
    if (now - lastReport > 10_000) {
      lastReport = now;
      progress(`bench: soak ${engine}: ${i + 1} of ${runs} runs, ${((i + 1) / ((now - t0) / 1000)).toFixed(0)} runs/s, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
    }
  }
  const seconds = (hostMs() - t0) / 1000;
  samples.push(await sample('end', runs));
  const warm = samples.find((s) => s.label === 'warm') ?? samples[0]!;
  const end = samples[samples.length - 1]!;
  const heapGrowth = (end.heapMb - warm.heapMb) / warm.heapMb;
  const rssGrowth = (end.rssMb - warm.rssMb) / warm.rssMb;
  const middle = samples.find((s) => s.label === 'middle') ?? warm;
  const rssLateGrowth = (end.rssMb - middle.rssMb) / middle.rssMb;
  return {
    engine, runs, warmupRuns, seconds, runsPerSec: runs / seconds, outcomes, faults, samples,
    heapGrowth, rssGrowth, rssLateGrowth, leak: heapGrowth > SOAK_GROWTH_LIMIT || rssGrowth > SOAK_GROWTH_LIMIT,
  };
}

/** Runs the soak: `simRuns` sim runs, then `threadsRuns` threads runs (0 skips an engine). */
export async function runSoak(o: { simRuns: number; threadsRuns: number; progress?: (l: string) => void }): Promise<SoakReport> {
  const progress = o.progress ?? ((l: string) => process.stderr.write(`${l}\n`));
  const sim = o.simRuns > 0 ? await soakEngine('sim', o.simRuns, progress) : null;
  const threads = o.threadsRuns > 0 ? await soakEngine('threads', o.threadsRuns, progress) : null;
  return { sim, threads };
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

export function renderSoak(r: SoakReport): string {
  const out: string[] = [];
  for (const e of [r.sim, r.threads]) {
    if (!e) continue;
    out.push(`soak, ${e.engine} engine: ${e.runs} runs (${e.warmupRuns} warm-up) in ${e.seconds.toFixed(0)} s, ${e.runsPerSec.toFixed(1)} runs/s; outcomes ${Object.entries(e.outcomes).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    out.push('  sample   after runs   heap (after GC)   RSS        external');
    for (const s of e.samples) out.push(`  ${s.label.padEnd(7)}  ${String(s.runs).padStart(10)}   ${`${s.heapMb} MB`.padStart(15)}   ${`${s.rssMb} MB`.padStart(8)}   ${`${s.externalMb} MB`.padStart(8)}`);
    for (const f of e.faults) out.push(`  fault: preset ${f.preset}, seed ${f.seed}: ${f.message}`);
    out.push(`  growth from warm-up to end: heap ${pct(e.heapGrowth)}, RSS ${pct(e.rssGrowth)} (limit +${SOAK_GROWTH_LIMIT * 100}%): ${e.leak ? 'LEAK' : 'holds'}; RSS over the second half ${pct(e.rssLateGrowth)}`);
  }
  return out.join('\n');
}

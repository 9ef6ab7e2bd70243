/**
 * The suite's report: one JSON object (every figure a number) and one text
 * table in which each figure with a natural limit stands next to that limit,
 * measured in the same run, as a ratio; plus the result files under
 * bench/results/ named by date and commit, so runs can be compared.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstructionFigures } from './instructions.js';
import { BUSY_OPS, BUSY_OP_LABELS } from './programs/bench-programs.js';
import type { SgiFigures } from './sgi.js';
import type { WakeFigures, IdleFigures } from './wake.js';
import type { ScenarioFigures, ScalingRow } from './scenarios.js';

export interface BenchMeta {
  readonly suite: 'full' | 'quick' | 'custom';
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly node: string;
  readonly hostCores: number;
  /** What else the host was doing (load average, busy processes) when the suite started and ended. */
  readonly hostNotes: string;
  /** Over the whole suite: host CPU busy (every process, ours included) and stolen by the hypervisor, % of all cores. */
  readonly hostBusyPercent: number;
  readonly hostStealPercent: number;
  readonly durationS: number;
}

export interface TargetCheck {
  readonly id: string;
  readonly value: number;
  readonly target: string;
  readonly holds: boolean;
}

export interface BenchReport {
  readonly meta: BenchMeta;
  readonly instructions: InstructionFigures;
  readonly sgi: SgiFigures;
  readonly wake: WakeFigures;
  readonly idle: IdleFigures;
  readonly scenarios: ScenarioFigures;
  readonly scaling: readonly ScalingRow[];
  readonly scalingSummary: {
    /** log-log slope of sim wall time over the rows from `simExponentFrom` CPUs (1 = linear). */
    readonly simExponent: number;
    readonly simExponentFrom: number;
    /** The slope between each pair of consecutive rows from `simExponentFrom` CPUs: where growth bends. */
    readonly simExponentSteps: readonly { readonly from: number; readonly to: number; readonly exponent: number }[];
    /** Largest threads-engine row that ended with the expected outcome (kexec). */
    readonly threadsMaxCpusCompleted: number;
  };
  readonly targets: readonly TargetCheck[];
}

export function targetChecks(r: Omit<BenchReport, 'targets' | 'meta'>, threadsWanted: number): TargetCheck[] {
  const t = (id: string, value: number, target: string, holds: boolean): TargetCheck => ({ id, value, target, holds });
  return [
    t('instructions.ratioSim', r.instructions.ratioSim, '>= 0.5', r.instructions.ratioSim >= 0.5),
    t('instructions.ratioThreads', r.instructions.ratioThreads, '>= 0.5', r.instructions.ratioThreads >= 0.5),
    t('sgi.ratioSleeping', r.sgi.ratioSleeping, '<= 1.5', r.sgi.ratioSleeping <= 1.5),
    t('sgi.busyMedianUs', r.sgi.busyMedianUs, '<= 2', r.sgi.busyMedianUs <= 2),
    t('scenarios.simPerSec', r.scenarios.simPerSec, '>= 1000', r.scenarios.simPerSec >= 1000),
    t('scenarios.threadsPerSec', r.scenarios.threadsPerSec, '>= 100', r.scenarios.threadsPerSec >= 100),
    t('scalingSummary.simExponent', r.scalingSummary.simExponent, '<= 1 (linear)', r.scalingSummary.simExponent <= 1),
    t('scalingSummary.threadsMaxCpusCompleted', r.scalingSummary.threadsMaxCpusCompleted, `>= ${threadsWanted}`, r.scalingSummary.threadsMaxCpusCompleted >= threadsWanted),
    t('idle.hostCpuPercent', r.idle.hostCpuPercent, '< 1', r.idle.hostCpuPercent < 1),
  ];
}

/** 3 significant digits, with k/M for large values. */
export function fmt(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const sig = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  if (a >= 1e6) return `${sig(x / 1e6)} M${unit}`;
  if (a >= 1e4) return `${sig(x / 1e3)} k${unit}`;
  return `${sig(x)}${unit ? ` ${unit}` : ''}`;
}

function verdict(r: BenchReport, id: string): string {
  const c = r.targets.find((t) => t.id === id);
  return c ? (c.holds ? 'holds' : 'MISSED') : '';
}

/** The one table. */
export function renderTable(r: BenchReport): string {
  const rows: string[][] = [];
  const row = (figure: string, value: string, limit: string, ratio: string, target: string, ok: string): void => {
    rows.push([figure, value, limit, ratio, target, ok]);
  };
  const I = r.instructions;
  row('instructions/s, sim, 1 busy CPU', fmt(I.simPerSec), `bare generator loop ${fmt(I.bareGeneratorPerSec)}`, fmt(I.ratioSim), '>= 0.5', verdict(r, 'instructions.ratioSim'));
  row('instructions/s, threads, 1 busy CPU', fmt(I.threadsPerSec), `bare generator loop ${fmt(I.bareGeneratorPerSec)}`, fmt(I.ratioThreads), '>= 0.5', verdict(r, 'instructions.ratioThreads'));
  row(`host ns per instruction, sim, in a loop of one kind (${fmt(I.opIterations)} iterations): NOP`, `${fmt(I.opNs.nop)} ns`, '-', '-', '-', '');
  for (const op of BUSY_OPS) {
    if (op !== 'nop') row(`  ${BUSY_OP_LABELS[op]}`, `${fmt(I.opNs[op])} ns`, `NOP ${fmt(I.opNs.nop)} ns`, fmt(I.opNs[op] / I.opNs.nop), '-', '');
  }
  const G0 = I.cold;
  row(`bare generator step over ${G0.functions} distinct functions of ${G0.steps} yields (cold code)`, `${fmt(G0.coldNs)} ns`,
    `over one such function ${fmt(G0.hotNs)} ns`, fmt(G0.coldNs / G0.hotNs), '-', '');
  const S = r.sgi;
  row(`SGI to a CPU asleep in WFI, median / p99 (${S.samples} samples)`, `${fmt(S.sleepingMedianUs)} / ${fmt(S.sleepingP99Us)} us`,
    `futex one-way ${fmt(S.bareFutexOneWayUs)} / ${fmt(S.bareFutexP99Us)} us`, fmt(S.ratioSleeping), '<= 1.5', verdict(r, 'sgi.ratioSleeping'));
  row('SGI to a busy CPU, median / p99', `${fmt(S.busyMedianUs)} / ${fmt(S.busyP99Us)} us`,
    `spin one-way ${fmt(S.bareSpinOneWayUs)} / ${fmt(S.bareSpinP99Us)} us`, fmt(S.ratioBusy), 'median <= 2 us', verdict(r, 'sgi.busyMedianUs'));
  const W = r.wake;
  row(`${W.cpus} sleeping CPUs woken by one IRM=1 SGI, last / median handler`, `${fmt(W.allHandlersUs)} / ${fmt(W.medianHandlerUs)} us`,
    `bare fan-out to ${W.cpus - 1} sleepers ${fmt(W.bareFanoutUs)} us`, fmt(W.ratio), '-', '');
  row('  the same, first wake-up of a fresh machine (cold code in each worker)', `${fmt(W.firstRoundUs)} us`, '-', '-', '-', '');
  row(`host CPU while ${r.idle.cpus} threads CPUs sleep (${r.idle.windowMs} ms)`, `${fmt(r.idle.hostCpuPercent)} % of a core`, '-', '-', '< 1 %', verdict(r, 'idle.hostCpuPercent'));
  const C = r.scenarios;
  const win = C.windows > 1 ? `, best of ${C.windows} windows` : '';
  row(`scenario runs/s, sim, ${C.cpus} CPUs (panic+stop+kdump, ${C.simRuns} runs${win})`, `${fmt(C.simPerSec)} (${fmt(C.simPerCpuSec)} per CPU-s)`,
    `${fmt(C.simInstructionsPerRun)} instr at busy rate: ${fmt(C.simLimitPerSec)}/s`, fmt(C.ratioSim), '>= 1000', verdict(r, 'scenarios.simPerSec'));
  row(`scenario runs/s, threads, ${C.cpus} CPUs (${C.threadsRuns} runs${win})`, `${fmt(C.threadsPerSec)} (${fmt(C.threadsPerCpuSec)} per CPU-s)`,
    `${fmt(C.threadsInstructionsPerRun)} instr at busy rate: ${fmt(C.threadsLimitPerSec)}/s`, fmt(C.ratioThreads), '>= 100', verdict(r, 'scenarios.threadsPerSec'));
  row('  sim, against its instructions as cold generator steps', fmt(C.simPerSec),
    `${fmt(C.simInstructionsPerRun)} steps at ${fmt(G0.coldNs)} ns: ${fmt(C.simColdLimitPerSec)}/s`, fmt(C.ratioSimCold), '-', '');
  if (C.windows > 1) row('  the same, mean over all windows: sim / threads', `${fmt(C.simPerSecMean)} / ${fmt(C.threadsPerSecMean)}`, '-', '-', '-', '');
  row(`  sim through the stress pool (${C.simPoolWorkers} workers, ${C.simPoolRuns} runs${win}), mean`, `${fmt(C.simPoolPerSec)}, mean ${fmt(C.simPoolPerSecMean)}`,
    `one engine thread ${fmt(C.simPerSec)}/s`, fmt(C.simPoolPerSec / C.simPerSec), '-', '');
  if (C.verdictOk !== 1) row('  WARNING: the checked scenario run did not end in kexec without violations', '', '', '', '', 'CHECK');
  for (const engine of ['sim', 'threads'] as const) {
    const rs = r.scaling.filter((x) => x.engine === engine);
    const base = rs.find((x) => x.cpus === 8) ?? rs[0];
    for (const s of rs) {
      const linear = base ? (base.wallMs * s.cpus) / base.cpus : NaN;
      row(`scaling ${engine} ${s.cpus} CPUs (${s.runs} runs${engine === 'sim' ? ', interleaved' : ''}): wall / host CPU / peak RSS`, `${fmt(s.wallMs)} ms / ${fmt(s.hostCpuMs)} ms / ${fmt(s.rssMb)} MB`,
        base && s !== base ? `linear from ${base.cpus} CPUs ${fmt(linear)} ms` : '-', base && s !== base ? fmt(s.wallMs / linear) : '-', '', s.outcome === 'kexec' ? '' : s.outcome);
    }
  }
  const G = r.scalingSummary;
  row(`sim wall-time growth exponent, ${G.simExponentFrom}+ CPUs`, fmt(G.simExponent), 'linear = 1', fmt(G.simExponent), '<= 1', verdict(r, 'scalingSummary.simExponent'));
  if (G.simExponentSteps.length > 1) {
    row('  between consecutive rows', G.simExponentSteps.map((x) => `${x.from}-${x.to}: ${fmt(x.exponent)}`).join(', '), '-', '-', '-', '');
  }
  row('threads engine: largest CPU count completed', String(G.threadsMaxCpusCompleted), '-', '-', '>= 64', verdict(r, 'scalingSummary.threadsMaxCpusCompleted'));

  const head = ['figure', 'value', 'limit (same run)', 'ratio', 'target', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const M = r.meta;
  const title = `smpstop bench (${M.suite}), ${M.date}, commit ${M.commit}${M.dirty ? ' (uncommitted changes)' : ''}, node ${M.node}, ${M.durationS.toFixed(0)} s`;
  const during = `during the run: host cores ${fmt(M.hostBusyPercent)}% busy (all processes), ${fmt(M.hostStealPercent)}% stolen by the hypervisor`;
  return [title, `host: ${M.hostNotes}`, during, '', line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Writes `<date>-<commit>[-quick].json` and `.txt` into `dir`; returns the base path. */
export function writeResults(r: BenchReport, dir: string): string {
  const base = freshResultBase(dir, `${r.meta.date.slice(0, 10)}-${r.meta.commit}${r.meta.suite === 'full' ? '' : `-${r.meta.suite}`}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(`${base}.txt`, `${renderTable(r)}\n`);
  return base;
}

/**
 * The path (without extension) for a run's result files in `dir`: `name`, or
 * `name-2`, `name-3`, ... when an earlier run of the same commit and day
 * already wrote its files there, so that a second run never overwrites the first.
 */
export function freshResultBase(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  for (let k = 1; ; k++) {
    const base = join(dir, k === 1 ? name : `${name}-${k}`);
    if (!existsSync(`${base}.json`) && !existsSync(`${base}.txt`)) return base;
  }
}

/** Every numeric key of the report, flattened (`instructions.simPerSec`, ...), for checks and tests. */
export function numericKeys(obj: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (obj === null || typeof obj !== 'object') return out;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') out.set(key, v);
    else if (v && typeof v === 'object' && !Array.isArray(v)) for (const [kk, vv] of numericKeys(v, key)) out.set(kk, vv);
  }
  return out;
}

/**
 * Shrinking a failure: greedy reduction of the scenario while the same
 * failure key persists in the sim engine (delta debugging in the spirit of
 * QuickCheck/Hypothesis shrinkers, applied to scenario documents).
 *
 * Each pass proposes simpler candidates in this order and takes the first
 * that still fails, then starts over:
 *   1. fewer CPUs (an idle CPU first; the roles of a removed CPU go with it,
 *      higher CPUs are renumbered);
 *   2. fewer triggers, faults, workload CPUs, firmware quirks;
 *   3. simpler kernel and firmware configuration (no post-notifiers, no
 *      pseudo-NMI, hotplug on, no SDEI, panic_timeout -1);
 *   4. simpler timings: wedges from time 0, every time rounded to as few
 *      digits as still fail (1000 us, 100, 10, 1, 0.1);
 * and finally, once:
 *   5. wider triggers: the gap between two triggers x10 or x2, if the failure
 *      still happens (a wider window is a sturdier reproducer);
 *   6. tight budgets: the guest-time and instruction budgets set just above
 *      what the smallest failing run used, so its replay cannot run longer
 *      (the run itself is complete: a budget that cut it short would leave a
 *      half-written trace and vmcore).
 *
 * A candidate is tried under the current seed and then `seedsPerCandidate - 1`
 * derived seeds (a smaller machine has a different interleaving); the seed
 * that fails is kept. Bounded by `budget` runs.
 */
import { parseScenario, type Scenario } from '../scenarios/schema.js';
import { runSeed } from './campaign.js';
import { attempt, type Attempt, type ReplayFile } from './replay.js';
import type { SchedulerSpec } from '../machine/scheduler.js';

export interface ShrinkOptions {
  /** Sim runs allowed in all (default 400). */
  readonly budget: number;
  /** Seeds tried per candidate (default 2). */
  readonly seedsPerCandidate: number;
  readonly onStep?: (s: ShrinkStep) => void;
}

export interface ShrinkStep {
  readonly n: number;
  readonly what: string;
  readonly cpus: number;
  readonly events: number;
  readonly seed: number;
}

export interface ShrinkResult {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly scheduler: SchedulerSpec;
  readonly steps: readonly ShrinkStep[];
  /** Sim runs used. */
  readonly runs: number;
  readonly budgetExhausted: boolean;
  /** The final failing run. */
  readonly last: Attempt;
}

interface Candidate {
  readonly what: string;
  readonly s: Scenario;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };
type Doc = Mutable<Scenario> & Record<string, unknown>;

const clone = (s: Scenario): Doc => structuredClone(s) as Doc;
const events = (s: Scenario): number => s.faults.length + s.triggers.length + s.workload.length;

function describeFault(f: Scenario['faults'][number]): string {
  if ('fault' in f) return `CPU ${f.cpu} fault ${f.fault}${f.arg !== undefined ? `(${f.arg})` : ''}@${f.atUs}`;
  if ('inject' in f) return `CPU ${f.cpu} inject ${f.inject}@${f.atUs}`;
  return 'wedge' in f ? `CPU ${f.cpu} wedge ${f.wedge}${f.durationUs !== undefined ? `:${f.durationUs}` : ''}@${f.atUs}` : `CPU ${f.cpu} ipi-delay ${f.ipiDelayUs}@${f.atUs}`;
}

function describeCpu(s: Scenario, c: number): string {
  const roles = [
    ...s.triggers.filter((t) => t.cpu === c).map((t) => `${t.kind}@${t.atUs}`),
    ...s.faults.filter((f) => f.cpu === c).map((f) => ('wedge' in f ? `wedge ${f.wedge}` : 'ipiDelayUs' in f ? 'ipi-delay' : 'inject' in f ? `inject ${f.inject}` : `fault ${f.fault}`)),
    ...(s.workload.includes(c) ? ['workload'] : []),
  ];
  return roles.length ? roles.join(', ') : 'idle';
}

/** The scenario without CPU c: its roles go, higher CPUs move down by one. */
export function removeCpu(s: Scenario, c: number): Scenario {
  const d = clone(s);
  const m = (x: number): number => (x > c ? x - 1 : x);
  d.cpus = s.cpus - 1;
  d.workload = s.workload.filter((x) => x !== c).map(m);
  d.faults = s.faults.filter((f) => f.cpu !== c).map((f) => ({ ...f, cpu: m(f.cpu) }));
  d.triggers = s.triggers.filter((t) => t.cpu !== c).map((t) => ({ ...t, cpu: m(t.cpu) }));
  return d as Scenario;
}

const digits = (v: number): number => {
  const t = String(Math.round(v * 1000) / 1000).replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return t.length;
};

/** Rounded versions of v with fewer significant digits, coarsest first. */
function roundings(v: number): number[] {
  const out: number[] = [];
  for (const g of [1000, 100, 10, 1, 0.1]) {
    const r = Math.round(Math.round(v / g) * g * 1000) / 1000;
    if (r !== v && digits(r) < digits(v) && !out.includes(r)) out.push(r);
  }
  return out;
}

function* candidates(s: Scenario): Generator<Candidate> {
  // 1. Fewer CPUs: idle ones first, then the others, highest first.
  if (s.cpus > 1) {
    const order = Array.from({ length: s.cpus }, (_, i) => s.cpus - 1 - i);
    const idle = order.filter((c) => describeCpu(s, c) === 'idle');
    for (const c of [...idle, ...order.filter((c) => !idle.includes(c))]) {
      yield { what: `drop CPU ${c} (${describeCpu(s, c)}): ${s.cpus} -> ${s.cpus - 1} CPUs`, s: removeCpu(s, c) };
    }
  }
  // 2. Fewer triggers, faults, workload CPUs, quirks.
  if (s.triggers.length > 1) {
    for (let i = s.triggers.length - 1; i >= 0; i--) {
      const d = clone(s);
      d.triggers.splice(i, 1);
      const t = s.triggers[i]!;
      yield { what: `drop trigger ${t.kind} on CPU ${t.cpu} @${t.atUs}us`, s: d as Scenario };
    }
  }
  for (let i = s.faults.length - 1; i >= 0; i--) {
    const d = clone(s);
    d.faults.splice(i, 1);
    yield { what: `drop fault ${describeFault(s.faults[i]!)}`, s: d as Scenario };
  }
  for (let i = s.workload.length - 1; i >= 0; i--) {
    const d = clone(s);
    d.workload.splice(i, 1);
    yield { what: `drop workload on CPU ${s.workload[i]}`, s: d as Scenario };
  }
  for (let i = s.firmware.quirks.length - 1; i >= 0; i--) {
    const d = clone(s);
    d.firmware = { ...s.firmware, quirks: s.firmware.quirks.filter((_, j) => j !== i) };
    yield { what: `drop quirk ${s.firmware.quirks[i]}`, s: d as Scenario };
  }
  // 3. Simpler configuration.
  const k = s.kernel;
  const kern = (what: string, patch: Partial<Scenario['kernel']>, fw?: Partial<Scenario['firmware']>): Candidate => {
    const d = clone(s);
    d.kernel = { ...k, ...patch };
    if (fw) d.firmware = { ...s.firmware, ...fw };
    return { what, s: d as Scenario };
  };
  if (k.crashKexecPostNotifiers) yield kern('crash_kexec_post_notifiers off', { crashKexecPostNotifiers: false });
  if (k.pseudoNmi) yield kern('pseudo-NMI off', { pseudoNmi: false });
  if (!k.hotplugCpu) yield kern('CONFIG_HOTPLUG_CPU on', { hotplugCpu: true });
  if (s.firmware.sdei || k.sdeiDriver) yield kern('no SDEI (firmware and driver)', { sdeiDriver: false }, { sdei: false, quirks: [] });
  if (k.panicTimeout !== -1) yield kern(`panic_timeout ${k.panicTimeout} -> -1`, { panicTimeout: -1 });
  // 4. Simpler timings.
  for (let i = 0; i < s.faults.length; i++) {
    const f = s.faults[i]!;
    if ('wedge' in f && f.atUs !== 0) {
      const d = clone(s);
      d.faults[i] = { ...f, atUs: 0 };
      yield { what: `faults[${i}] (${describeFault(f)}) from time 0`, s: d as Scenario };
    }
  }
  const times: { path: string; get: (x: Scenario) => number; set: (x: Doc, v: number) => void }[] = [];
  s.triggers.forEach((_, i) => times.push({ path: `triggers[${i}].atUs`, get: (x) => x.triggers[i]!.atUs, set: (x, v) => void (x.triggers[i] = { ...x.triggers[i]!, atUs: v }) }));
  s.faults.forEach((f, i) => {
    times.push({ path: `faults[${i}].atUs`, get: (x) => x.faults[i]!.atUs, set: (x, v) => void (x.faults[i] = { ...x.faults[i]!, atUs: v }) });
    if ('ipiDelayUs' in f) times.push({ path: `faults[${i}].ipiDelayUs`, get: (x) => (x.faults[i] as { ipiDelayUs: number }).ipiDelayUs, set: (x, v) => void (x.faults[i] = { ...x.faults[i]!, ipiDelayUs: v } as never) });
    if ('wedge' in f && f.durationUs !== undefined) times.push({ path: `faults[${i}].durationUs`, get: (x) => (x.faults[i] as { durationUs: number }).durationUs, set: (x, v) => void (x.faults[i] = { ...x.faults[i]!, durationUs: v } as never) });
  });
  for (const t of times) {
    const v = t.get(s);
    for (const r of roundings(v)) {
      const d = clone(s);
      t.set(d, r);
      yield { what: `${t.path} ${v} -> ${r}`, s: d as Scenario };
    }
  }
}

/**
 * Final pass: wider gaps between consecutive triggers (in time order). For the
 * j-th gap, the candidates of one factor each, largest first.
 */
function widenings(s: Scenario, j: number): Candidate[] {
  const order = s.triggers.map((t, i) => ({ t, i })).sort((a, b) => a.t.atUs - b.t.atUs || a.i - b.i);
  if (j < 1 || j >= order.length) return [];
  const prev = order[j - 1]!.t.atUs;
  const { t, i } = order[j]!;
  const gap = t.atUs - prev;
  if (gap <= 0) return [];
  return [10, 2].map((f) => {
    const d = clone(s);
    const at = Math.round((prev + gap * f) * 1000) / 1000;
    d.triggers[i] = { ...t, atUs: at };
    return { what: `widen the gap before trigger ${t.kind} on CPU ${t.cpu}: ${gap.toFixed(3)} -> ${(at - prev).toFixed(3)} us`, s: d as Scenario };
  });
}

export async function shrink(rf: ReplayFile, start: { seed: number; scheduler: SchedulerSpec; last: Attempt }, o: ShrinkOptions): Promise<ShrinkResult> {
  let cur: Scenario = rf.scenario;
  let seed = start.seed;
  const scheduler = start.scheduler;
  let last = start.last;
  let runs = 0;
  const steps: ShrinkStep[] = [];

  const test = async (s: Scenario, seeds: number): Promise<Attempt | null> => {
    for (let t = 0; t < seeds && runs < o.budget; t++) {
      const sd = t === 0 ? seed : runSeed(seed, 7919 * t);
      runs++;
      const a = await attempt(rf, s, { seed: sd, scheduler });
      if (a.reproduced) return a;
    }
    return null;
  };
  const accept = (c: Candidate, a: Attempt): void => {
    cur = c.s;
    seed = a.seed;
    last = a;
    const st: ShrinkStep = { n: steps.length + 1, what: c.what, cpus: cur.cpus, events: events(cur), seed };
    steps.push(st);
    o.onStep?.(st);
  };
  const valid = (s: Scenario): Scenario | null => {
    try {
      return parseScenario(s);
    } catch {
      return null;
    }
  };

  outer: for (;;) {
    for (const c of candidates(cur)) {
      if (runs >= o.budget) break outer;
      const s = valid(c.s);
      if (!s) continue;
      const a = await test(s, o.seedsPerCandidate);
      if (a) {
        accept({ what: c.what, s }, a);
        continue outer;
      }
    }
    break;
  }
  for (let j = 1; j < cur.triggers.length; j++) {
    for (const c of widenings(cur, j)) {
      if (runs >= o.budget) break;
      const s = valid(c.s);
      if (!s) continue;
      // Only the current seed: a wider window must fail under the same schedule to count.
      const a = await test(s, 1);
      if (a) {
        accept({ what: c.what, s }, a);
        break;
      }
    }
  }
  // Tight budgets: the guest-time and instruction budgets of the smallest run,
  // rounded up, so a replay can never run longer than the failing run did. The
  // run must end the same way (not cut short by them) with the same violations.
  const detail = (a: Attempt): string => `${a.details.result.outcome}|${a.details.result.violations.filter((v) => v.id === rf.expect).map((v) => `${v.cpu}:${v.message}`).join('|')}`;
  const roundUp2 = (v: number): number => {
    const p = 10 ** Math.max(0, Math.floor(Math.log10(Math.max(1, v))) - 1);
    return Math.ceil(v / p) * p;
  };
  if (runs < o.budget && last.details.result.outcome !== 'hung') {
    const guestTimeMs = Math.max(1, Math.ceil(last.details.result.guestTimeUs / 1000) + 1);
    const maxInstructions = roundUp2(last.details.machine.cpus.reduce((t, c) => t + c.retired, 0) + 1);
    const s = valid({ ...clone(cur), limits: { ...cur.limits, guestTimeMs, maxInstructions } } as Scenario);
    if (s && (s.limits.guestTimeMs !== cur.limits.guestTimeMs || s.limits.maxInstructions !== cur.limits.maxInstructions)) {
      runs++;
      const a = await attempt(rf, s, { seed, scheduler });
      if (a.reproduced && detail(a) === detail(last)) accept({ what: `tight budgets: limits.guestTimeMs ${guestTimeMs}, limits.maxInstructions ${maxInstructions}`, s }, a);
    }
  }

  return { scenario: cur, seed, scheduler, steps, runs, budgetExhausted: runs >= o.budget, last };
}

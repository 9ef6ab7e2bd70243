/**
 * Checkers for the entry-code, scheduler and interrupt-pipeline models
 * (issue 6; reference linux-stop-paths.md 6.4, 6.9):
 *
 *   preempt-with-da-masked       P1/P2 of 6.9: preempt_schedule_irq entered, or a task
 *                                running in process context, with PSTATE.D or PSTATE.A set
 *   lost-debug-exception         a breakpoint or watchpoint match ignored because PSTATE.D was
 *                                wrongly set (in a kernel thread's process context); how long
 *                                until one was taken again, or lost to the end of the run
 *   lost-serror                  an SError left pending because PSTATE.A was wrongly set; its delay
 *   entry-order                  the seed-004 ordering rules (ENTRY_ORDER_RULES, read from a table)
 *   instrumentation-without-rcu  instrumentable entry code while RCU was not watching
 *   nmi-preempted                a preemption inside an NMI (a pseudo-NMI never preempts)
 *   pipeline-epilogue            the interrupt epilogue ran over out-of-band code, or after an
 *                                IRQ over a stalled in-band stage
 *
 * The ordering checkers are pure functions of the trace records
 * (checkEntryTrace), so they can be tested on synthetic orderings; the rare
 * events come from the model's observation area (src/kernel/observe.ts),
 * which the ring's overwriting cannot lose, and from the trace when it
 * still holds them.
 */
import type { Violation, CheckContext, Checker } from './checkers.js';
import { T } from '../trace/events.js';
import { rowsOf, REC, type TraceRecord, type TraceTable } from '../trace/ring.js';
import { TRACE_RECORD_F64 as W } from '../trace/layout.js';
import { traceTable } from './analysis.js';
import { ramWords, word, dword } from './ram.js';
import { STEP, STEP_INFO, PATH, PATH_NAMES, NMI_OFFSET, type StepClass } from '../kernel/entry-common.js';
import { PIPE } from '../kernel/pipeline.js';
import { OBS, SAMPLE } from '../kernel/observe.js';
import { PCPU } from '../kernel/layout.js';
import { PSR_A, PSR_D, describePstate } from '../../cpus/pstate.js';
import type { MachineResult } from '../machine/machine.js';
import type { KernelProgram } from '../kernel/program.js';

const us = (ns: number): string => `${(ns / 1000).toFixed(3)}us`;

// =====================================================================
// The seed-004 rules (reference 6.4, Documentation/core-api/entry.rst)
// =====================================================================

export interface OrderRule {
  readonly id: string;
  /** The entry or exit routine (PATH in src/kernel/entry-common.ts). */
  readonly path: number;
  /** The order in which the classes' state may change (classes not listed are not judged). */
  readonly order: readonly StepClass[];
  /** Classes that must change in this routine. */
  readonly required: readonly StepClass[];
  /** The rule as the reference states it. */
  readonly text: string;
}

export const ENTRY_ORDER_RULES: readonly OrderRule[] = [
  {
    id: 'nmi-entry', path: PATH.NMI_ENTER, order: ['preempt', 'lockdep', 'rcu', 'tracing'], required: ['preempt', 'lockdep', 'rcu', 'tracing'],
    text: 'NMI and NMI-like entry: preempt count -> lockdep -> RCU -> tracing; the preempt count first, because lockdep and RCU rely on in_nmi()',
  },
  {
    id: 'nmi-exit', path: PATH.NMI_EXIT, order: ['tracing', 'rcu', 'lockdep', 'preempt'], required: ['tracing', 'rcu', 'lockdep', 'preempt'],
    text: 'NMI exit: the exact reverse of entry; the preempt count restored last',
  },
  {
    id: 'dbg-entry', path: PATH.DBG_ENTER, order: ['lockdep', 'rcu', 'tracing'], required: ['lockdep', 'rcu', 'tracing'],
    text: 'kernel-mode debug exception (NMI-like, arm64 keeps the preempt count): lockdep -> RCU -> tracing',
  },
  {
    id: 'dbg-exit', path: PATH.DBG_EXIT, order: ['tracing', 'rcu', 'lockdep'], required: ['rcu'],
    text: 'kernel-mode debug exception exit: the reverse: tracing -> RCU -> lockdep',
  },
  {
    id: 'irq-entry', path: PATH.IRQ_ENTER, order: ['lockdep', 'rcu', 'tracing'], required: ['lockdep', 'tracing'],
    text: 'interrupt from kernel mode: lockdep -> RCU (only from the idle task) -> tracing',
  },
  {
    id: 'irq-exit', path: PATH.IRQ_EXIT, order: ['tracing', 'rcu', 'lockdep'], required: [],
    text: 'interrupt exit to kernel mode: tracing -> RCU -> lockdep, the reverse of entry',
  },
  {
    id: 'irq-enter-rcu', path: PATH.IRQ_ENTER_RCU, order: ['preempt', 'lockdep', 'time'], required: ['preempt'],
    text: 'irq_enter_rcu() raises the hardirq count first: in_hardirq() is false before it',
  },
  {
    id: 'irq-exit-rcu', path: PATH.IRQ_EXIT_RCU, order: ['time', 'preempt', 'lockdep'], required: ['preempt'],
    text: 'irq_exit_rcu() drops the hardirq count (before softirq processing, so that irqentry_exit() can schedule); lockdep_hardirq_exit last',
  },
  {
    id: 'pipeline-entry', path: PATH.PIPE_ENTER, order: ['rcu'], required: ['rcu'],
    text: 'the interrupt pipeline\'s entry is NMI-like for RCU (rcu_nmi_enter)',
  },
];

// =====================================================================
// Trace-based checking (pure)
// =====================================================================

/** A routine begun and not yet ended; pooled by checkEntryRows (one per routine in flight, not per routine). */
interface OpenPath {
  path: number;
  time: number;
  readonly classes: StepClass[];
}

/** Judges one finished routine against its rule; returns a message or null. */
export function judgePath(rule: OrderRule, classes: readonly StepClass[]): string | null {
  // Perf: index loops, no iterator or lastIndexOf call per class; it runs at every routine's end.
  const order = rule.order;
  let last = -1;
  let lastClass: StepClass | null = null;
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i]!;
    let r = order.length - 1; // order.lastIndexOf(c)
    while (r >= 0 && order[r] !== c) r--;
    if (r < 0) continue;
    if (r < last) return `changed ${c} after ${lastClass}`;
    last = r;
    lastClass = c;
  }
  // The common case (nothing missing) allocates nothing.
  const required = rule.required;
  for (let i = 0; i < required.length; i++) {
    let j = classes.length - 1;
    while (j >= 0 && classes[j] !== required[i]) j--;
    if (j < 0) return `did not change ${required.filter((r) => !classes.includes(r)).join(', ')}`;
  }
  return null;
}

/**
 * The ordering checks over a run's records: entry-order (ENTRY_ORDER_RULES),
 * instrumentation-without-rcu and nmi-preempted. Records of each CPU are
 * taken in order; open routines are kept per task (T.SCHED_SWITCH), since a
 * routine can be switched out in the middle (preemption from exception
 * exit) and another task's routines run meanwhile.
 */
export function checkEntryTrace(records: readonly TraceRecord[], rules: readonly OrderRule[] = ENTRY_ORDER_RULES): Violation[] {
  // Each CPU's records, CPUs in the order of their first record.
  const byCpu = new Map<number, TraceRecord[]>();
  for (const r of records) {
    let l = byCpu.get(r.cpu);
    if (!l) byCpu.set(r.cpu, (l = []));
    l.push(r);
  }
  const ordered: TraceRecord[] = [];
  const cpus: CpuRows[] = [];
  for (const [cpu, l] of byCpu) {
    cpus.push({ cpu, from: ordered.length * W, to: (ordered.length + l.length) * W });
    for (const r of l) ordered.push(r);
  }
  return checkEntryRows(rowsOf(ordered), cpus, rules);
}

/** The records of one CPU in a trace table's rows (TraceTable.rows), in order: float64 offsets from, from + W, ... below to. */
interface CpuRows {
  readonly cpu: number;
  readonly from: number;
  readonly to: number;
}

/** Every CPU's channel-1 records (entry code, scheduler, pipeline: src/trace/events.ts CHANNEL_OF). */
function channel1(t: TraceTable): CpuRows[] {
  const cpus: CpuRows[] = [];
  for (let cpu = 0; cpu < t.start.length >> 1; cpu++) cpus.push({ cpu, from: t.start[2 * cpu + 1]!, to: t.end[2 * cpu + 1]! });
  return cpus;
}

function checkEntryRows(rows: Float64Array, cpus: readonly CpuRows[], rules: readonly OrderRule[]): Violation[] {
  const out: Violation[] = [];
  const byPath = new Map<number, OrderRule>();
  for (const r of rules) byPath.set(r.path, r);
  // Perf: an ended routine's record goes back to `free` (a run begins about a hundred routines, and
  // at most a few are open at once); the per-task stacks and the reported set are made on first need.
  const free: OpenPath[] = [];
  let reported: Set<string> | null = null;
  const once = (key: string, v: Violation): void => {
    if (reported === null) reported = new Set();
    else if (reported.has(key)) return;
    reported.add(key);
    out.push(v);
  };
  for (const { cpu, from, to } of cpus) {
    reported = null;
    let stacks: Map<number, OpenPath[]> | null = null;
    let stack: OpenPath[] = [];
    let rcu: number | null = null; // context tracking nesting - 1 (watching while >= 0), unknown until an RCU step
    let nmiDepth = 0;
    for (let o = from; o < to; o += W) {
      const kind = rows[o + REC.KIND];
      const a = rows[o + REC.A]!;
      const b = rows[o + REC.B]!;
      const time = rows[o + REC.TIME]!;
      if (kind === T.SCHED_SWITCH) {
        // Open routines are kept per task: the one switched out resumes its own when it runs again.
        if (stacks === null) stacks = new Map([[-1, stack]]);
        let s = stacks.get(b);
        if (!s) stacks.set(b, (s = []));
        stack = s;
        continue;
      }
      if (kind === T.SCHED_SAMPLE) {
        const where = Math.floor(a / 2 ** 24);
        if ((where === SAMPLE.PREEMPT_IRQ || where === SAMPLE.PREEMPT_SYNC) && nmiDepth > 0) {
          once(`nmi-preempted`, { id: 'nmi-preempted', cpu, time, message: `CPU ${cpu} entered preempt_schedule_irq inside an NMI (in_nmi() was true): a pseudo-NMI never preempts` });
        }
        continue;
      }
      if (kind !== T.ENTRY) continue;
      const info = STEP_INFO[a];
      if (!info) continue;
      if (a === STEP.PATH_BEGIN) {
        const p = free.pop();
        if (p) {
          p.path = b;
          p.time = time;
          stack.push(p);
        } else {
          stack.push({ path: b, time, classes: [] });
        }
        continue;
      }
      if (a === STEP.PATH_END) {
        const top = stack[stack.length - 1];
        if (!top || top.path !== b) continue; // its begin was overwritten, or abandoned
        stack.pop();
        const rule = byPath.get(top.path);
        if (rule) {
          const why = judgePath(rule, top.classes);
          if (why) {
            once(`order:${rule.id}:${why}`, {
              id: 'entry-order', cpu, time: top.time,
              message: `CPU ${cpu}: ${PATH_NAMES[top.path] ?? `path ${top.path}`} ${why} (rule ${rule.id}: ${rule.text})`,
            });
          }
        }
        top.classes.length = 0;
        free.push(top);
        continue;
      }
      if (info.cls === 'rcu' && info.rcu !== undefined) rcu = b;
      if (info.cls === 'preempt') {
        nmiDepth = Math.max(0, nmiDepth + Math.round(b / NMI_OFFSET));
      }
      if (info.instr && rcu !== null && rcu < 0) {
        once(`instr:${info.name}`, {
          id: 'instrumentation-without-rcu', cpu, time,
          message: `CPU ${cpu} ran instrumentable code (${info.name}) while RCU was not watching (noinstr rule, reference 6.4)`,
        });
      }
      if (info.changes && stack.length > 0) {
        const cls = stack[stack.length - 1]!.classes;
        if (cls.length === 0 || cls[cls.length - 1] !== info.cls) cls.push(info.cls);
      }
    }
  }
  return out;
}

/** The pipeline epilogue rule over T.PIPELINE records: an IRQ epilogue needs unstalled in-band code, a fault epilogue in-band code. */
export function checkPipelineTrace(records: readonly TraceRecord[]): Violation[] {
  return checkPipelineRows(rowsOf(records), records.map((r, k) => ({ cpu: r.cpu, from: k * W, to: (k + 1) * W })));
}

function checkPipelineRows(rows: Float64Array, cpus: readonly CpuRows[]): Violation[] {
  const out: Violation[] = [];
  const seen = new Set<number>();
  for (const { cpu, from, to } of cpus) {
    for (let o = from; o < to; o += W) {
      const b = rows[o + REC.B]!;
      if (rows[o + REC.KIND] !== T.PIPELINE || rows[o + REC.A] !== PIPE.EPILOGUE || seen.has(cpu)) continue;
      const fault = (b & 1) !== 0;
      const oob = (b & 2) !== 0;
      const stalled = (b & 4) !== 0;
      if (oob || (!fault && stalled)) {
        seen.add(cpu);
        out.push({
          id: 'pipeline-epilogue', cpu, time: rows[o + REC.TIME]!,
          message: `CPU ${cpu} ran the ${fault ? 'fault' : 'interrupt'} epilogue over ${oob ? 'out-of-band code' : 'a stalled in-band stage'}`,
        });
      }
    }
  }
  return out;
}

// =====================================================================
// The observation area
// =====================================================================

export interface EntryObservations {
  readonly p1: { count: number; time: number; pid: number; where: number; pstate: number };
  readonly p2: { count: number; time: number; pid: number; pstate: number };
  readonly preemptIrq: number;
  readonly preemptSync: number;
  readonly switches: number;
  readonly bp: { ignored: number; ignoredTime: number; taken: number; takenAfter: number };
  readonly wp: { ignored: number; ignoredTime: number; taken: number; takenAfter: number };
  readonly serror: { injected: number; injectTime: number; blocked: number; blockedTime: number; taken: number; takenTime: number };
  readonly latency: { inband: { n: number; sum: number; max: number }; oob: { n: number; sum: number; max: number } };
  readonly epilogues: { irq: number; sync: number; fastExit: number; bad: number; badTime: number; badWhat: number };
}

export function readObservations(m: MachineResult, program: KernelProgram, cpu: number): EntryObservations {
  const obs = ramWords(m, program.layout.pcpu(cpu, PCPU.obs), OBS.BYTES);
  const w = (off: number): number => word(obs, off);
  const q = (off: number): number => dword(obs, off);
  const p1pid = w(OBS.p1_pid);
  return {
    p1: { count: w(OBS.p1_count), time: q(OBS.p1_time), pid: p1pid & 0xffffff, where: p1pid >>> 24, pstate: w(OBS.p1_pstate) },
    p2: { count: w(OBS.p2_count), time: q(OBS.p2_time), pid: w(OBS.p2_pid), pstate: w(OBS.p2_pstate) },
    preemptIrq: w(OBS.preempt_irq),
    preemptSync: w(OBS.preempt_sync),
    switches: w(OBS.switches),
    bp: { ignored: w(OBS.bp_ignored), ignoredTime: q(OBS.bp_ignored_time), taken: w(OBS.bp_taken), takenAfter: q(OBS.bp_taken_after) },
    wp: { ignored: w(OBS.wp_ignored), ignoredTime: q(OBS.wp_ignored_time), taken: w(OBS.wp_taken), takenAfter: q(OBS.wp_taken_after) },
    serror: {
      injected: w(OBS.serror_injected), injectTime: q(OBS.serror_inject_time), blocked: w(OBS.serror_blocked),
      blockedTime: q(OBS.serror_blocked_time), taken: w(OBS.serror_taken), takenTime: q(OBS.serror_taken_time),
    },
    latency: {
      inband: { n: w(OBS.lat_inband_n), sum: q(OBS.lat_inband_sum), max: q(OBS.lat_inband_max) },
      oob: { n: w(OBS.lat_oob_n), sum: q(OBS.lat_oob_sum), max: q(OBS.lat_oob_max) },
    },
    epilogues: { irq: w(OBS.epi_irq), sync: w(OBS.epi_sync), fastExit: w(OBS.fast_exit), bad: w(OBS.epi_bad), badTime: q(OBS.epi_bad_time), badWhat: w(OBS.epi_bad_what) },
  };
}

/** An observation area nothing wrote (every word zero), as readObservations reads it. */
const ZERO_OBSERVATIONS: EntryObservations = deepFreeze({
  p1: { count: 0, time: 0, pid: 0, where: 0, pstate: 0 },
  p2: { count: 0, time: 0, pid: 0, pstate: 0 },
  preemptIrq: 0, preemptSync: 0, switches: 0,
  bp: { ignored: 0, ignoredTime: 0, taken: 0, takenAfter: 0 },
  wp: { ignored: 0, ignoredTime: 0, taken: 0, takenAfter: 0 },
  serror: { injected: 0, injectTime: 0, blocked: 0, blockedTime: 0, taken: 0, takenTime: 0 },
  latency: { inband: { n: 0, sum: 0, max: 0 }, oob: { n: 0, sum: 0, max: 0 } },
  epilogues: { irq: 0, sync: 0, fastExit: 0, bad: 0, badTime: 0, badWhat: 0 },
});

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v as object);
  return Object.freeze(o);
}

const observationCache = new WeakMap<MachineResult, readonly EntryObservations[]>();

/** Every CPU's observations, read once per run (four checkers and the result's statistics read them). */
function allObservations(m: MachineResult, program: KernelProgram): readonly EntryObservations[] {
  let obs = observationCache.get(m);
  if (!obs) {
    const read: EntryObservations[] = [];
    for (let cpu = 0; cpu < m.shared.ncpus; cpu++) {
      // Perf: outside the entry test and the pipeline nothing writes the area; an all-zero one
      // reads as the shared ZERO_OBSERVATIONS rather than ten fresh objects per CPU.
      const w = ramWords(m, program.layout.pcpu(cpu, PCPU.obs), OBS.BYTES);
      let zero = true;
      for (let i = 0; i < w.length && zero; i++) zero = w[i] === 0;
      read.push(zero ? ZERO_OBSERVATIONS : readObservations(m, program, cpu));
    }
    observationCache.set(m, (obs = read));
  }
  return obs;
}

const observations = (ctx: CheckContext): readonly EntryObservations[] => allObservations(ctx.machine, ctx.program);

const DA = PSR_D | PSR_A;

/** The judgement of P1 and P2 from the observations (the counters count only D|A-masked occurrences). */
export function checkPreemptDaMasked(obs: readonly EntryObservations[]): Violation[] {
  const out: Violation[] = [];
  obs.forEach((o, cpu) => {
    if (o.p1.count > 0 && (o.p1.pstate & DA)) {
      out.push({
        id: 'preempt-with-da-masked', cpu, time: o.p1.time,
        message: `CPU ${cpu}: preempt_schedule_irq entered from ${o.p1.where === SAMPLE.PREEMPT_SYNC ? 'a synchronous exception\'s' : 'an IRQ\'s'} exit with PSTATE ${describePstate(o.p1.pstate)} (pid ${o.p1.pid}; ${o.p1.count} such preemption${o.p1.count > 1 ? 's' : ''}): the next task inherits D and A (reference 6.6, invariant P1)`,
      });
    }
    if (o.p2.count > 0 && (o.p2.pstate & DA)) {
      out.push({
        id: 'preempt-with-da-masked', cpu, time: o.p2.time,
        message: `CPU ${cpu}: task ${o.p2.pid} ran in process context with PSTATE ${describePstate(o.p2.pstate)} (${o.p2.count} sample${o.p2.count > 1 ? 's' : ''}): breakpoints, watchpoints and SErrors are masked (invariant P2)`,
      });
    }
  });
  return out;
}

export function checkLostDebug(obs: readonly EntryObservations[], endTime: number): Violation[] {
  const out: Violation[] = [];
  obs.forEach((o, cpu) => {
    for (const [kind, d] of [['breakpoint', o.bp], ['watchpoint', o.wp]] as const) {
      if (d.ignored === 0) continue;
      const after = d.takenAfter > 0
        ? `the next one was taken ${us(d.takenAfter - d.ignoredTime)} later`
        : `none was taken in the remaining ${us(Math.max(0, endTime - d.ignoredTime))} of the run (lost)`;
      out.push({
        id: 'lost-debug-exception', cpu, time: d.ignoredTime,
        message: `CPU ${cpu}: ${d.ignored} ${kind} match${d.ignored > 1 ? 'es' : ''} in a kernel thread's process context ignored because PSTATE.D was set; ${after}`,
      });
    }
  });
  return out;
}

export function checkLostSError(obs: readonly EntryObservations[], endTime: number): Violation[] {
  const out: Violation[] = [];
  obs.forEach((o, cpu) => {
    const s = o.serror;
    if (s.injected === 0 || s.blocked === 0) return;
    const delay = s.taken > 0
      ? `taken ${us(s.takenTime - s.injectTime)} after it was raised`
      : `never taken: lost for the remaining ${us(Math.max(0, endTime - s.injectTime))} of the run`;
    out.push({
      id: 'lost-serror', cpu, time: s.blockedTime,
      message: `CPU ${cpu}: the SError raised at ${us(s.injectTime)} stayed pending because PSTATE.A was set in a kernel thread's process context; ${delay}`,
    });
  });
  return out;
}

export function checkEpilogueObservations(obs: readonly EntryObservations[]): Violation[] {
  const out: Violation[] = [];
  obs.forEach((o, cpu) => {
    const e = o.epilogues;
    if (e.bad === 0) return;
    out.push({
      id: 'pipeline-epilogue', cpu, time: e.badTime,
      message: `CPU ${cpu} ran the ${e.badWhat & 4 ? 'fault' : 'interrupt'} epilogue over ${e.badWhat & 1 ? 'out-of-band code' : 'a stalled in-band stage'} (${e.bad} time${e.bad > 1 ? 's' : ''})`,
    });
  });
  return out;
}

// =====================================================================
// Registration (checkers.ts registers ENTRY_CHECKERS)
// =====================================================================

/** The trace-based checkers share one pass over the records. */
const traceCache = new WeakMap<MachineResult, Violation[]>();
function traceViolations(ctx: CheckContext): Violation[] {
  let v = traceCache.get(ctx.machine);
  if (!v) {
    const t = traceTable(ctx.machine);
    const cpus = channel1(t);
    v = [...checkEntryRows(t.rows, cpus, ENTRY_ORDER_RULES), ...checkPipelineRows(t.rows, cpus)];
    traceCache.set(ctx.machine, v);
  }
  return v;
}

export const ENTRY_CHECKERS: readonly Checker[] = [{
  id: 'preempt-with-da-masked',
  description: 'preempt_schedule_irq entered, or a task running in process context, with PSTATE.D or PSTATE.A set (reference 6.9 P1, P2)',
  check: (ctx) => checkPreemptDaMasked(observations(ctx)),
}, {
  id: 'lost-debug-exception',
  description: 'a hardware breakpoint or watchpoint match ignored because PSTATE.D was wrongly set, with how long until one was taken',
  check: (ctx) => checkLostDebug(observations(ctx), ctx.facts.endTime),
}, {
  id: 'lost-serror',
  description: 'an injected SError left pending because PSTATE.A was wrongly set, with its delay',
  check: (ctx) => checkLostSError(observations(ctx), ctx.facts.endTime),
}, {
  id: 'entry-order',
  description: 'entry or exit state changed out of the seed-004 order (preempt count, lockdep, RCU, tracing; the reverse on exit)',
  check: (ctx) => traceViolations(ctx).filter((v) => v.id === 'entry-order'),
}, {
  id: 'instrumentation-without-rcu',
  description: 'instrumentable entry code ran while RCU was not watching',
  check: (ctx) => traceViolations(ctx).filter((v) => v.id === 'instrumentation-without-rcu'),
}, {
  id: 'nmi-preempted',
  description: 'a preemption from inside an NMI (a pseudo-NMI never preempts)',
  check: (ctx) => traceViolations(ctx).filter((v) => v.id === 'nmi-preempted'),
}, {
  id: 'pipeline-epilogue',
  description: 'the interrupt epilogue ran over out-of-band code, or after an IRQ over a stalled in-band stage',
  check: (ctx) => {
    const fromTrace = traceViolations(ctx).filter((v) => v.id === 'pipeline-epilogue');
    const cpus = new Set(fromTrace.map((v) => v.cpu));
    return [...fromTrace, ...checkEpilogueObservations(observations(ctx)).filter((v) => !cpus.has(v.cpu))];
  },
}];

// =====================================================================
// The run result's entry statistics
// =====================================================================

export interface LatencyStats {
  readonly count: number;
  readonly meanUs: number;
  readonly maxUs: number;
}

/** RunResult.entry: present when the scenario runs the entry test or the interrupt pipeline. */
export interface EntryRunStats {
  readonly preemptions: { readonly irq: number; readonly sync: number; readonly daMasked: number };
  readonly contextSwitches: number;
  /** Interrupt pipeline: latency from the hardware acknowledge to the handler's start, per stage. */
  readonly pipeline?: { readonly inband: LatencyStats; readonly oob: LatencyStats; readonly epilogues: number; readonly fastExits: number };
}

const lat = (l: { n: number; sum: number; max: number }): LatencyStats => ({
  count: l.n, meanUs: l.n ? Math.round(l.sum / l.n) / 1000 : 0, maxUs: Math.round(l.max) / 1000,
});

export function entryRunStats(m: MachineResult, program: KernelProgram, pipeline: boolean): EntryRunStats {
  const obs = allObservations(m, program);
  const sum = (f: (o: EntryObservations) => number): number => obs.reduce((a, o) => a + f(o), 0);
  const acc = (f: (o: EntryObservations) => { n: number; sum: number; max: number }): { n: number; sum: number; max: number } =>
    obs.reduce((a, o) => ({ n: a.n + f(o).n, sum: a.sum + f(o).sum, max: Math.max(a.max, f(o).max) }), { n: 0, sum: 0, max: 0 });
  return {
    preemptions: { irq: sum((o) => o.preemptIrq), sync: sum((o) => o.preemptSync), daMasked: sum((o) => o.p1.count) },
    contextSwitches: sum((o) => o.switches),
    ...(pipeline ? {
      pipeline: {
        inband: lat(acc((o) => o.latency.inband)), oob: lat(acc((o) => o.latency.oob)),
        epilogues: sum((o) => o.epilogues.irq + o.epilogues.sync), fastExits: sum((o) => o.epilogues.fastExit),
      },
    } : {}),
  };
}

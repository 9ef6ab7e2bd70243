/**
 * Trace export: turns the records of the per-CPU rings (src/trace/ring.ts)
 * into
 *  - Chrome trace-event JSON that the Perfetto UI and chrome://tracing open
 *    (`toChromeTrace`, streamed to a file by `writeChromeTrace`): one process
 *    (the machine, pid 1), one thread track per CPU (tid = CPU number), slices
 *    for exception handlers, EL3 visits, traced kernel functions, waits and
 *    SDEI handlers, instant events for everything else; guest time is the
 *    timestamp;
 *  - a compact per-CPU text timeline of the same events (`toTextTimeline`).
 *
 * Both come from one table, KIND_SPECS: for each record kind its name,
 * category, whether it begins or ends a slice (and which class of slice) or is
 * an instant, and how `a` and `b` are rendered. A kind added to
 * src/trace/events.ts gets a row here; a kind without a row is exported as an
 * instant named `kind#N` with its raw arguments.
 *
 * Repairs. A ring keeps only the newest records and a run ends wherever the
 * guest happens to be, so one CPU's records need not be balanced. For each CPU,
 * in record order:
 *  1. an end whose begin is not in the records (overwritten, or never emitted)
 *     is dropped; the text timeline still shows it, marked `[no begin]`;
 *  2. an end that matches a slice below the innermost open one first closes
 *     the inner ones at the same time (their contexts were abandoned: an ERET
 *     to a function entry, an SDEI COMPLETE, a return past a call that never
 *     returned);
 *  3. POWER_OFF closes every open slice (the PE lost its context);
 *  4. slices still open after the last record close at the run's end time;
 *  5. timestamps are made non-decreasing per CPU.
 * So every track is balanced and properly nested, and its events are in
 * timestamp order. Tracks are written one after another (the format does not
 * need a global order); within a track, events with equal timestamps are in
 * nesting order.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { T } from './events.js';
import type { TraceRecord } from './ring.js';
import type { KernelImage } from '../../cpus/image.js';
import { VECTOR_NAMES } from '../../cpus/exception.js';
import { WAIT_NAMES, WAIT_OFF } from '../../cpus/isa.js';
import { PSCI } from '../../firmware/psci.js';
import { SDEI } from '../../firmware/sdei/main.js';
import { SMCCC_VERSION, SMCCC_ARCH_FEATURES } from '../../firmware/smccc.js';
import { SIP_SMPSTOP_STALL } from '../../firmware/el3.js';
import { OUTCOME_CODES } from '../machine/control.js';
import { STEP_INFO, PATH_NAMES } from '../kernel/entry-common.js';
import { PIPE_NAMES } from '../kernel/pipeline.js';
import { describePstate } from '../../cpus/pstate.js';

// =====================================================================
// Context and rendering helpers
// =====================================================================

/** What the exporter needs besides the records. */
export interface TraceExportContext {
  /** Symbolizes PCs and names traced functions (CALL/RETURN a = index into image.fns). */
  readonly image: KernelImage;
  /** Text of kernel log record `index` (LOG a), if known. */
  logLine?(index: number): string | undefined;
  /** Name of an SMC function id (EL3_ENTRY a, PSCI a); default `defaultFidName`. */
  fidName?(fid: number): string;
  /** Name of a StopKind (STOP a); default `kind N`. */
  stopName?(kind: number): string;
  /** Guest time (ns) at which the run ended: open slices are closed there. Default: the last record's time. */
  readonly endTime?: number;
  /** Number of CPUs: every CPU gets a track even without records. Default: highest CPU in the records + 1. */
  readonly ncpus?: number;
}

/** Helpers handed to the table's render functions. */
export interface RenderEnv {
  /** `name+0xoff` of a guest address. */
  sym(addr: number): string;
  /** Name of traced function `id`. */
  fn(id: number): string;
  fid(fid: number): string;
  log(index: number): string | undefined;
  stop(kind: number): string;
}

export type TraceArgs = Record<string, string | number>;

const hex = (v: number): string => (v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);
/** GICv3 INTID ranges (IHI0069 2.2): SGI 0-15, PPI 16-31, SPI 32-1019. */
const intidText = (v: number): string => (v < 16 ? `SGI ${v}` : v < 32 ? `PPI ${v}` : v < 1020 ? `SPI ${v}` : `INTID ${v}`);
/** A register value: small integers (return codes) in decimal, the rest in hex. */
const regText = (v: number): string => (Number.isSafeInteger(v) && Math.abs(v) < 0x1_0000 ? String(v) : hex(v));
const waitName = (k: number): string => WAIT_NAMES[k] ?? `wait#${k}`;

const FID_NAMES: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  m.set(SMCCC_VERSION, 'SMCCC_VERSION');
  m.set(SMCCC_ARCH_FEATURES, 'SMCCC_ARCH_FEATURES');
  // SMC32 and SMC64 forms share a name (CPU_ON64 -> PSCI_CPU_ON); the id is in the args.
  for (const [k, v] of Object.entries(PSCI)) if (!m.has(v)) m.set(v, `PSCI_${k.replace(/_?64$/, '')}`);
  for (const [k, v] of Object.entries(SDEI)) m.set(v, `SDEI_${k}`);
  m.set(SIP_SMPSTOP_STALL, 'SIP_SMPSTOP_STALL');
  return m;
})();

/** PSCI, SDEI and SMCCC function ids by name (`PSCI_CPU_ON`, `SDEI_EVENT_SIGNAL`); -1 is an FIQ taken to EL3. */
export function defaultFidName(fid: number): string {
  if (fid === -1) return 'FIQ';
  return FID_NAMES.get(fid) ?? `SMC ${hex(fid)}`;
}

const OUTCOME_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OUTCOME_CODES).map(([k, v]) => [v, k]));
const PANIC_STEPS = ['start', 'won panic_cpu', 'self-stop'];

function renderEnv(ctx: TraceExportContext): RenderEnv {
  const image = ctx.image;
  const syms = new Map<number, string>(); // bounded by the distinct PCs in the trace
  return {
    sym: (addr) => {
      let s = syms.get(addr);
      if (s === undefined) {
        s = image.symbolize(addr);
        syms.set(addr, s);
      }
      return s;
    },
    fn: (id) => image.fns[id]?.name ?? `fn#${id}`,
    fid: ctx.fidName ? (f) => ctx.fidName!(f) : defaultFidName,
    log: (i) => ctx.logLine?.(i),
    stop: ctx.stopName ? (k) => ctx.stopName!(k) : (k) => `kind ${k}`,
  };
}

// =====================================================================
// The table
// =====================================================================

export type Phase = 'begin' | 'end' | 'instant';

/**
 * A slice edge that one record causes later: it takes effect when the
 * innermost open slice of class `after` ends by its own end record (at that
 * time), or at once when no such slice is open. An SDEI handler starts when
 * the EL3 visit that dispatched it returns, not at the dispatch record inside
 * it, so the handler slice nests beside the EL3 slice rather than inside it.
 */
export interface DeferredEdge {
  readonly phase: 'begin' | 'end';
  readonly slice: string;
  readonly after: string;
  /** Text-timeline name of the edge. */
  readonly name: string;
  readonly cat: string;
  /** Whether this record causes the edge at all (default: always). */
  when?(r: TraceRecord): boolean;
  title?(r: TraceRecord, env: RenderEnv): string;
  detail?(r: TraceRecord, env: RenderEnv): string;
  /** Key of a begun slice; `prev` is the slice an earlier edge of the same record closed. */
  key?(r: TraceRecord, prev: OpenSlice | undefined): number;
}

export interface KindSpec {
  /** Short name, used in the text timeline and for instants. */
  readonly name: string;
  /** Chrome category. */
  readonly cat: string;
  readonly phase: Phase;
  /** For begin/end: the class of slice begun or ended ('exc', 'el3', 'call', 'sleep', 'sdei', ...). */
  readonly slice?: string;
  /** Name of the slice a begin opens (default: `name`). */
  title?(r: TraceRecord, env: RenderEnv): string;
  /** a and b as text. */
  detail?(r: TraceRecord, env: RenderEnv): string;
  /** a and b as structured Chrome args. */
  args?(r: TraceRecord, env: RenderEnv): TraceArgs;
  /** Begin: the value an end is matched against (an ELR, a function id, a wait kind). Default 0. */
  key?(r: TraceRecord): number;
  /** End: closes the innermost open slice of its class with this key (default: the innermost of its class). */
  endKey?(r: TraceRecord): number;
  /** End with endKey: if no slice has the key, close the innermost of the class instead. */
  readonly fallbackInnermost?: boolean;
  /** End without a begin as the very first record of a CPU (nothing overwritten): the slice was open since the start, with this name. */
  openAtStart?(r: TraceRecord): string | undefined;
  /** Close every open slice first (the PE lost its context). */
  readonly closeAll?: boolean;
  readonly deferred?: readonly DeferredEdge[];
}

/**
 * One row per trace kind (src/trace/events.ts says what a and b are; the
 * comments here say where the core emits each and why it pairs as it does).
 */
export const KIND_SPECS: Record<number, KindSpec> = {
  // cpus/core.ts takeEl1: b = ELR. Paired with the ERET that returns to that ELR.
  [T.EXC_ENTRY]: {
    name: 'exception', cat: 'exception', phase: 'begin', slice: 'exc',
    title: (r) => VECTOR_NAMES[r.a] ?? `vector+${hex(r.a)}`,
    detail: (r, e) => `${VECTOR_NAMES[r.a] ?? `vector+${hex(r.a)}`} from ${e.sym(r.b)}`,
    args: (r, e) => ({ vector: hex(r.a), elr: e.sym(r.b) }),
    key: (r) => r.b,
  },
  // cpus/core.ts eretEl1: an ERET to an address no exception saved (a function entry) abandons the innermost handler.
  [T.ERET]: {
    name: 'eret', cat: 'exception', phase: 'end', slice: 'exc',
    detail: (r, e) => `to ${e.sym(r.a)} EL${r.b}`,
    args: (r, e) => ({ target: e.sym(r.a), el: r.b }),
    endKey: (r) => r.a, fallbackInnermost: true,
  },
  // cpus/core.ts enterEl3 (SMC, or FIQ with a = -1); EL3 is never re-entered, so the innermost EL3 slice pairs.
  [T.EL3_ENTRY]: {
    name: 'el3-entry', cat: 'firmware', phase: 'begin', slice: 'el3',
    title: (r, e) => e.fid(r.a),
    detail: (r, e) => `${e.fid(r.a)} from ${e.sym(r.b)}`,
    args: (r, e) => ({ fid: r.a === -1 ? 'FIQ' : hex(r.a), elr: e.sym(r.b) }),
  },
  [T.EL3_EXIT]: {
    name: 'el3-exit', cat: 'firmware', phase: 'end', slice: 'el3',
    detail: (r, e) => `x0=${regText(r.a)} to ${e.sym(r.b)}`,
    args: (r, e) => ({ x0: regText(r.a), target: e.sym(r.b) }),
  },
  // cpus/core.ts doCall/doReturn, for functions placed with `traced: true` only.
  [T.CALL]: {
    name: 'call', cat: 'kernel', phase: 'begin', slice: 'call',
    title: (r, e) => e.fn(r.a),
    detail: (r, e) => `${e.fn(r.a)} from ${e.sym(r.b)}`,
    args: (r, e) => ({ fn: e.fn(r.a), lr: e.sym(r.b) }),
    key: (r) => r.a,
  },
  [T.RETURN]: {
    name: 'return', cat: 'kernel', phase: 'end', slice: 'call',
    detail: (r, e) => e.fn(r.a),
    endKey: (r) => r.a,
  },
  // cpus/core.ts sendSgi: one record per target PE.
  [T.SGI_SEND]: {
    name: 'sgi-send', cat: 'ipi', phase: 'instant',
    detail: (r) => `${intidText(r.a)} -> cpu${r.b}`,
    args: (r) => ({ intid: r.a, target: r.b }),
  },
  [T.IRQ_ACK]: {
    name: 'irq-ack', cat: 'ipi', phase: 'instant',
    detail: (r) => intidText(r.a),
    args: (r) => ({ intid: r.a, rpr: hex(r.b) }),
  },
  [T.EOI]: {
    name: 'eoi', cat: 'ipi', phase: 'instant',
    detail: (r) => intidText(r.a),
    args: (r) => ({ intid: r.a }),
  },
  // cpus/core.ts goToSleep/resumeWait. A CPU starts off without a SLEEP record: its first WAKE(off) implies one.
  [T.SLEEP]: {
    name: 'sleep', cat: 'wait', phase: 'begin', slice: 'sleep',
    title: (r) => waitName(r.a),
    detail: (r, e) => `${waitName(r.a)} at ${e.sym(r.b)}`,
    args: (r, e) => ({ wait: waitName(r.a), pc: e.sym(r.b) }),
    key: (r) => r.a,
  },
  [T.WAKE]: {
    name: 'wake', cat: 'wait', phase: 'end', slice: 'sleep',
    detail: (r) => waitName(r.a),
    endKey: (r) => r.a,
    openAtStart: (r) => (r.a === WAIT_OFF ? waitName(WAIT_OFF) : undefined),
  },
  // firmware/sdei/main.ts EVENT_SIGNAL (before the Group 0 SGI it raises).
  [T.SDEI_SIGNAL]: {
    name: 'sdei-signal', cat: 'sdei', phase: 'instant',
    detail: (r) => `event ${r.a} -> cpu${r.b}`,
    args: (r) => ({ event: r.a, target: r.b }),
  },
  // firmware/sdei/dispatch.ts sdeiFiq, inside the EL3 visit: the handler runs from that visit's exit.
  [T.SDEI_DISPATCH]: {
    name: 'sdei-dispatch', cat: 'sdei', phase: 'instant',
    detail: (r, e) => `event ${r.a}, interrupted ${e.sym(r.b)}`,
    args: (r, e) => ({ event: r.a, interrupted: e.sym(r.b) }),
    deferred: [{
      phase: 'begin', slice: 'sdei', after: 'el3', name: 'sdei-handler', cat: 'sdei',
      title: (r) => `sdei_event ${r.a}`,
      detail: (r) => `event ${r.a}`,
      key: (r) => r.b,
    }],
  },
  // firmware/sdei/dispatch.ts completeDispatch, inside the COMPLETE SMC: the handler ends at that SMC's exit.
  // COMPLETE_AND_RESUME (b = 1) then runs the resume code as if an IRQ had interrupted the dispatched-on
  // context (DEN0054 5.2.3): an exception slice that the ERET to the interrupted PC closes.
  [T.SDEI_COMPLETE]: {
    name: 'sdei-complete', cat: 'sdei', phase: 'instant',
    detail: (r) => `event ${r.a}${r.b === 1 ? ' and resume' : ''}`,
    args: (r) => ({ event: r.a, resume: r.b }),
    deferred: [
      { phase: 'end', slice: 'sdei', after: 'el3', name: 'sdei-handler-end', cat: 'sdei', detail: (r) => `event ${r.a}` },
      {
        phase: 'begin', slice: 'exc', after: 'el3', name: 'exception', cat: 'exception',
        when: (r) => r.b === 1,
        title: () => 'sdei_resume',
        detail: (r) => `sdei_resume event ${r.a}`,
        key: (_r, prev) => prev?.key ?? -1,
      },
    ],
  },
  // firmware/psci.ts, inside the SMC's EL3 slice; b = target CPU for CPU_ON.
  [T.PSCI]: {
    name: 'psci', cat: 'psci', phase: 'instant',
    detail: (r, e) => (r.a === PSCI.CPU_ON || r.a === PSCI.CPU_ON64 ? `${e.fid(r.a)} cpu${r.b}` : e.fid(r.a)),
    args: (r, e) => ({ fn: e.fid(r.a), fid: hex(r.a), target: r.b }),
  },
  // cpus/core.ts powerDown: every frame is dropped; the CPU is off until WAKE(off) (CPU_ON).
  [T.POWER_OFF]: {
    name: 'power-off', cat: 'power', phase: 'begin', slice: 'sleep', closeAll: true,
    title: () => waitName(WAIT_OFF),
    key: () => WAIT_OFF,
  },
  // cpus/core.ts powerOn: after WAKE(off) and the firmware's warm boot; the EL3 exit to the entry point follows.
  [T.POWER_ON]: {
    name: 'power-on', cat: 'power', phase: 'begin', slice: 'el3',
    title: () => 'warm_boot',
    detail: (r, e) => `entry ${e.sym(r.a)}`,
    args: (r, e) => ({ entry: e.sym(r.a) }),
  },
  [T.LOG]: {
    name: 'log', cat: 'log', phase: 'instant',
    detail: (r, e) => e.log(r.a) ?? `record ${r.a}`,
    args: (r, e) => ({ index: r.a, level: r.b, text: e.log(r.a) ?? '' }),
  },
  [T.PANIC]: {
    name: 'panic', cat: 'panic', phase: 'instant',
    detail: (r) => PANIC_STEPS[r.a] ?? `step ${r.a}`,
    args: (r) => ({ step: PANIC_STEPS[r.a] ?? r.a }),
  },
  [T.STOP]: {
    name: 'stop', cat: 'stop', phase: 'instant',
    detail: (r, e) => e.stop(r.a),
    args: (r, e) => ({ how: e.stop(r.a) }),
  },
  [T.DATA_ABORT]: {
    name: 'data-abort', cat: 'fault', phase: 'instant',
    detail: (r, e) => `FAR ${hex(r.a)} at ${e.sym(r.b)}`,
    args: (r, e) => ({ far: hex(r.a), pc: e.sym(r.b) }),
  },
  [T.MARK]: {
    name: 'mark', cat: 'mark', phase: 'instant',
    detail: (r) => `${r.a} ${r.b}`,
    args: (r) => ({ a: r.a, b: r.b }),
  },
  [T.FIQ_EL3]: {
    name: 'fiq-el3', cat: 'firmware', phase: 'instant',
    detail: (r) => intidText(r.a),
    args: (r) => ({ intid: r.a }),
  },
  [T.RUN_END]: {
    name: 'run-end', cat: 'run', phase: 'instant',
    detail: (r) => OUTCOME_NAMES[r.a] ?? `outcome ${r.a}`,
    args: (r) => ({ outcome: OUTCOME_NAMES[r.a] ?? r.a }),
  },
  // src/kernel/entry-common.ts: one entry-state step (the ordering log the entry checkers read).
  [T.ENTRY]: {
    name: 'entry', cat: 'entry', phase: 'instant',
    detail: (r) => entryStepText(r),
    args: (r) => ({ step: STEP_INFO[r.a]?.name ?? r.a, value: r.b }),
  },
  // src/kernel/sched.ts context_switch, before cpu_switch_to.
  [T.SCHED_SWITCH]: {
    name: 'sched-switch', cat: 'sched', phase: 'instant',
    detail: (r) => `pid ${r.a} -> pid ${r.b}`,
    args: (r) => ({ prev: r.a, next: r.b }),
  },
  // src/kernel/observe.ts observeSample: PSTATE where preemption starts (P1) or a task runs (P2).
  [T.SCHED_SAMPLE]: {
    name: 'sched-sample', cat: 'sched', phase: 'instant',
    detail: (r) => `${SAMPLE_NAMES[Math.floor(r.a / 2 ** 24)] ?? 'sample'} pid ${r.a % 2 ** 24} ${describePstate(r.b)}`,
    args: (r) => ({ where: SAMPLE_NAMES[Math.floor(r.a / 2 ** 24)] ?? r.a, pid: r.a % 2 ** 24, pstate: describePstate(r.b) }),
  },
  // cpus/core.ts raiseSError / armBreakpoint / armWatchpoint (scenario injections).
  [T.INJECT]: {
    name: 'inject', cat: 'fault', phase: 'instant',
    detail: (r, e) => (r.a === 1 ? 'SError raised' : `${r.a === 2 ? 'breakpoint' : 'watchpoint'} armed at ${r.a === 2 ? e.sym(r.b) : hex(r.b)}`),
    args: (r) => ({ kind: ['', 'serror', 'breakpoint', 'watchpoint'][r.a] ?? r.a, addr: hex(r.b) }),
  },
  // cpus/core.ts debugMatch: a breakpoint or watchpoint matched; taken, or ignored with PSTATE.D set.
  [T.DEBUG_EXC]: {
    name: 'debug', cat: 'fault', phase: 'instant',
    detail: (r, e) => `${(r.a & 0xf) === 1 ? 'breakpoint' : 'watchpoint'} ${r.a & 0x10 ? 'taken' : 'ignored (D masked)'} at ${(r.a & 0xf) === 1 ? e.sym(r.b) : hex(r.b)}`,
    args: (r) => ({ kind: (r.a & 0xf) === 1 ? 'breakpoint' : 'watchpoint', taken: (r.a & 0x10) !== 0 ? 1 : 0, depth: r.a >> 8, addr: hex(r.b) }),
  },
  // cpus/core.ts takeDebugOrSError: a pending SError found masked, or taken.
  [T.SERROR]: {
    name: 'serror', cat: 'fault', phase: 'instant',
    detail: (r) => `${(r.a & 0xff) === 2 ? 'taken' : 'pending, masked'} (${describePstate(r.b)})`,
    args: (r) => ({ taken: (r.a & 0xff) === 2 ? 1 : 0, depth: r.a >> 8, pstate: describePstate(r.b) }),
  },
  // src/kernel/pipeline.ts: stall bit, log, oob handlers, replay, epilogue decisions.
  [T.PIPELINE]: {
    name: 'pipeline', cat: 'pipeline', phase: 'instant',
    detail: (r) => `${PIPE_NAMES[r.a] ?? `op ${r.a}`}${r.a >= 3 && r.a <= 6 ? ` ${intidText(r.b)}` : r.a >= 7 ? ` ${r.b & 1 ? 'fault' : 'irq'}` : ''}`,
    args: (r) => ({ op: PIPE_NAMES[r.a] ?? r.a, b: r.b }),
  },
};

const SAMPLE_NAMES: Record<number, string> = { 1: 'preempt-from-irq', 2: 'preempt-from-sync', 3: 'task' };

function entryStepText(r: TraceRecord): string {
  const info = STEP_INFO[r.a];
  if (!info) return `step ${r.a} ${r.b}`;
  if (r.a === 1 || r.a === 2) return `${info.name} ${PATH_NAMES[r.b] ?? r.b}`;
  return `${info.name} ${r.b}`;
}

const unknownSpecs = new Map<number, KindSpec>();

/** The table row of `kind`, or an instant `kind#N` for a kind the table does not know yet. */
export function kindSpec(kind: number): KindSpec {
  const s = KIND_SPECS[kind];
  if (s) return s;
  let u = unknownSpecs.get(kind);
  if (!u) {
    u = { name: `kind#${kind}`, cat: 'unknown', phase: 'instant', detail: (r) => `${r.a} ${r.b}`, args: (r) => ({ a: r.a, b: r.b }) };
    unknownSpecs.set(kind, u);
  }
  return u;
}

// =====================================================================
// Per-CPU slice reconstruction
// =====================================================================

export interface OpenSlice {
  readonly cls: string;
  readonly title: string;
  readonly cat: string;
  readonly key: number;
  readonly depth: number;
  /** Deferred edges waiting for this slice to end by its own end record. */
  readonly after: { readonly edge: DeferredEdge; readonly rec: TraceRecord }[];
}

/** Why a slice ended without an end record of its own. */
export type RepairCause = 'abandoned' | 'power-off' | 'run-end' | 'run-start';

export interface TrackItem {
  readonly kind: 'begin' | 'end' | 'instant' | 'orphan';
  /** Guest ns, non-decreasing along a track. */
  readonly time: number;
  /** Nesting depth: a begin and its end share it; an instant sits at the current depth. */
  readonly depth: number;
  /** Text name: the record kind's (or deferred edge's) name. */
  readonly name: string;
  /** Slice name (begin/end: the slice's title; instant: `name`). */
  readonly title: string;
  readonly cat: string;
  readonly detail: string;
  readonly args?: TraceArgs;
  /** The record this item comes from (for a deferred edge: the record that caused it); null for repairs. */
  readonly rec: TraceRecord | null;
  readonly deferred?: boolean;
  readonly repair?: RepairCause;
}

export interface TrackRepairs {
  /** Ends dropped because their begin was not in the records. */
  droppedEnds: number;
  /** Slices closed because an outer slice ended (contexts abandoned). */
  abandoned: number;
  /** Slices closed because the PE powered off. */
  poweredOff: number;
  /** Slices open at the end of the run, closed at its end time. */
  closedAtEnd: number;
  /** Slices taken to be open since the start of the run (a first WAKE from off). */
  openedAtStart: number;
  /** Records whose time was earlier than the previous record's. */
  clampedTimes: number;
}

export interface Track {
  readonly cpu: number;
  /** Records of this CPU in the input. */
  readonly records: number;
  /** Sequence number of the oldest record (records before it were overwritten); 0 without records. */
  readonly firstSeq: number;
  /** Records of the CPU overwritten on either channel (gaps in the sequence included). */
  readonly overwritten: number;
  readonly items: readonly TrackItem[];
  readonly repairs: TrackRepairs;
}

class TrackBuilder {
  private readonly stack: OpenSlice[] = [];
  readonly items: TrackItem[] = [];
  private t = -Infinity;
  readonly repairs: TrackRepairs = { droppedEnds: 0, abandoned: 0, poweredOff: 0, closedAtEnd: 0, openedAtStart: 0, clampedTimes: 0 };

  constructor(private readonly env: RenderEnv) {}

  feed(r: TraceRecord, atStart: boolean): void {
    const env = this.env;
    let time = r.time;
    if (time < this.t) {
      time = this.t;
      this.repairs.clampedTimes++;
    }
    this.t = time;
    const spec = kindSpec(r.kind);
    const detail = spec.detail?.(r, env) ?? '';
    const args = spec.args?.(r, env);
    if (spec.closeAll && this.stack.length > 0) this.closeRepair(0, time, 'power-off');
    switch (spec.phase) {
      case 'begin':
        this.open(spec.slice ?? spec.name, spec.title?.(r, env) ?? spec.name, spec.cat, spec.key?.(r) ?? 0, time, spec.name, detail, args, r, false);
        break;
      case 'end': {
        const cls = spec.slice ?? spec.name;
        let i = spec.endKey ? this.find(cls, spec.endKey(r)) : this.find(cls);
        if (i < 0 && spec.endKey && spec.fallbackInnermost) i = this.find(cls);
        if (i >= 0) {
          this.close(i, time, spec.name, detail, args, r, false);
          break;
        }
        const since = atStart ? spec.openAtStart?.(r) : undefined;
        if (since !== undefined) {
          // Nothing precedes this record on the CPU: the slice ran from the start of the run.
          const t0 = Math.min(0, time);
          this.items.push({ kind: 'begin', time: t0, depth: 0, name: spec.name, title: since, cat: spec.cat, detail: since, rec: null, repair: 'run-start' });
          this.items.push({ kind: 'end', time, depth: 0, name: spec.name, title: since, cat: spec.cat, detail, args, rec: r });
          this.repairs.openedAtStart++;
          break;
        }
        this.items.push({ kind: 'orphan', time, depth: this.stack.length, name: spec.name, title: spec.name, cat: spec.cat, detail, args, rec: r });
        this.repairs.droppedEnds++;
        break;
      }
      case 'instant':
        this.items.push({ kind: 'instant', time, depth: this.stack.length, name: spec.name, title: spec.name, cat: spec.cat, detail, args, rec: r });
        break;
    }
    if (spec.deferred) {
      let prev: OpenSlice | undefined;
      for (const edge of spec.deferred) {
        if (edge.when && !edge.when(r)) continue;
        const host = this.find(edge.after);
        if (host >= 0) this.stack[host]!.after.push({ edge, rec: r });
        else prev = this.applyEdge(edge, r, time, prev);
      }
    }
  }

  /** Closes everything still open at `endTime`. */
  finish(endTime: number): void {
    const time = Math.max(endTime, this.t);
    this.t = time;
    if (this.stack.length > 0) this.closeRepair(0, time, 'run-end');
  }

  private find(cls: string, key?: number): number {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const s = this.stack[i]!;
      if (s.cls === cls && (key === undefined || s.key === key)) return i;
    }
    return -1;
  }

  private open(cls: string, title: string, cat: string, key: number, time: number, name: string, detail: string,
    args: TraceArgs | undefined, rec: TraceRecord, deferred: boolean): OpenSlice {
    const s: OpenSlice = { cls, title, cat, key, depth: this.stack.length, after: [] };
    this.items.push({ kind: 'begin', time, depth: s.depth, name, title, cat, detail, args, rec, deferred: deferred || undefined });
    this.stack.push(s);
    return s;
  }

  /** Ends slice `i` by an end record (or a deferred edge), abandoning the slices inside it; then runs its deferred edges. */
  private close(i: number, time: number, name: string, detail: string, args: TraceArgs | undefined, rec: TraceRecord, deferred: boolean): OpenSlice {
    if (i + 1 < this.stack.length) this.closeRepair(i + 1, time, 'abandoned');
    const s = this.stack.pop()!;
    this.items.push({ kind: 'end', time, depth: s.depth, name, title: s.title, cat: s.cat, detail, args, rec, deferred: deferred || undefined });
    let prev: OpenSlice | undefined;
    let prevRec: TraceRecord | null = null;
    for (const { edge, rec: cause } of s.after) {
      if (cause !== prevRec) prev = undefined;
      prevRec = cause;
      prev = this.applyEdge(edge, cause, time, prev);
    }
    return s;
  }

  private closeRepair(from: number, time: number, why: RepairCause): void {
    while (this.stack.length > from) {
      const s = this.stack.pop()!;
      this.items.push({ kind: 'end', time, depth: s.depth, name: 'end', title: s.title, cat: s.cat, detail: why, rec: null, repair: why });
      if (why === 'abandoned') this.repairs.abandoned++;
      else if (why === 'power-off') this.repairs.poweredOff++;
      else this.repairs.closedAtEnd++;
    }
  }

  /** Applies a deferred edge now; returns the slice it closed or opened. */
  private applyEdge(edge: DeferredEdge, r: TraceRecord, time: number, prev: OpenSlice | undefined): OpenSlice | undefined {
    const env = this.env;
    const detail = edge.detail?.(r, env) ?? '';
    if (edge.phase === 'end') {
      const i = this.find(edge.slice);
      return i >= 0 ? this.close(i, time, edge.name, detail, undefined, r, true) : undefined;
    }
    return this.open(edge.slice, edge.title?.(r, env) ?? edge.name, edge.cat, edge.key?.(r, prev) ?? 0, time, edge.name, detail, undefined, r, true);
  }
}

/** Groups records by CPU, each in sequence order. */
function byCpu(records: readonly TraceRecord[]): TraceRecord[][] {
  const out: TraceRecord[][] = [];
  for (const r of records) (out[r.cpu] ??= []).push(r);
  for (const rs of out) {
    if (!rs) continue;
    let sorted = true;
    for (let i = 1; i < rs.length && sorted; i++) if (rs[i]!.seq < rs[i - 1]!.seq) sorted = false;
    if (!sorted) rs.sort((x, y) => x.seq - y.seq);
  }
  return out;
}

function endTimeOf(records: readonly TraceRecord[], ctx: TraceExportContext): number {
  let end = ctx.endTime ?? -Infinity;
  if (ctx.endTime === undefined) for (const r of records) if (r.time > end) end = r.time;
  return Number.isFinite(end) ? end : 0;
}

function ncpusOf(ctx: TraceExportContext, groups: readonly unknown[]): number {
  return Math.max(ctx.ncpus ?? 0, groups.length);
}

function buildTrack(cpu: number, rs: readonly TraceRecord[], env: RenderEnv, endTime: number): Track {
  const b = new TrackBuilder(env);
  const firstSeq = rs.length > 0 ? rs[0]!.seq : 0;
  for (let i = 0; i < rs.length; i++) b.feed(rs[i]!, i === 0 && firstSeq === 0);
  b.finish(endTime);
  const overwritten = rs.length > 0 ? rs[rs.length - 1]!.seq + 1 - rs.length : 0;
  return { cpu, records: rs.length, firstSeq, overwritten, items: b.items, repairs: b.repairs };
}

/**
 * Rebuilds each CPU's nested slices from its records, one CPU at a time (so a
 * caller that streams the result holds one CPU's items at once). Every CPU
 * from 0 to ncpus-1 gets a track, even without records.
 */
export function* buildTracks(records: readonly TraceRecord[], ctx: TraceExportContext): Generator<Track> {
  yield* preparedTracks(prepare(records, ctx));
}

// =====================================================================
// Chrome trace-event JSON
// =====================================================================

export const TRACE_PID = 1;

export interface ChromeTraceEvent {
  readonly name: string;
  readonly cat?: string;
  readonly ph: 'B' | 'E' | 'i' | 'M';
  /** Microseconds (guest ns / 1000). */
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly s?: 't';
  readonly args?: Readonly<Record<string, string | number>>;
}

export interface ChromeTraceSummary {
  readonly generator: 'smpstop';
  ncpus: number;
  records: number;
  endTimeNs: number;
  events: number;
  /** Per CPU: records, records overwritten before the oldest one kept, and the repairs made. */
  readonly cpus: ({ cpu: number; records: number; overwritten: number } & TrackRepairs)[];
}

export interface ChromeTrace {
  readonly traceEvents: ChromeTraceEvent[];
  readonly displayTimeUnit: 'ns';
  /** Free-form metadata (trace-event format `otherData`). */
  readonly otherData: ChromeTraceSummary;
}

const us = (ns: number): number => ns / 1000;

/** The Chrome event of a track item (null: an orphan end, dropped by repair 1). */
function itemEvent(it: TrackItem, tid: number): ChromeTraceEvent | null {
  const ts = us(it.time);
  switch (it.kind) {
    case 'begin':
      return { name: it.title, cat: it.cat, ph: 'B', ts, pid: TRACE_PID, tid, args: it.detail ? { ...it.args, detail: it.detail } : { ...it.args } };
    case 'end':
      // E args are merged into the slice's: keep the begin's keys, add how it ended.
      return { name: it.title, cat: it.cat, ph: 'E', ts, pid: TRACE_PID, tid, args: { end: endText(it) } };
    case 'instant':
      return { name: instantName(it), cat: it.cat, ph: 'i', s: 't', ts, pid: TRACE_PID, tid, args: { ...it.args } };
    case 'orphan':
      return null;
  }
}

const endText = (it: TrackItem): string => (it.repair ? `(${it.repair})` : it.detail ? `${it.name} ${it.detail}` : it.name);
const instantName = (it: TrackItem): string => (it.detail ? `${it.name} ${it.detail}` : it.name);

// JSON text of the same event, written by hand: the export's hot path (JSON.stringify
// of a fresh object per event costs about twice as much).
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/; // printable ASCII without " and \
const jstr = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));
const jnum = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

function argsJson(args: TraceArgs | undefined, extraKey?: string, extra?: string): string {
  let s = '{';
  if (args) {
    for (const k in args) {
      const v = args[k]!;
      s += `${s.length > 1 ? ',' : ''}${jstr(k)}:${typeof v === 'number' ? jnum(v) : jstr(v)}`;
    }
  }
  if (extraKey !== undefined && extra) s += `${s.length > 1 ? ',' : ''}"${extraKey}":${jstr(extra)}`;
  return `${s}}`;
}

function itemJson(it: TrackItem, tid: number): string | null {
  const head = `"pid":${TRACE_PID},"tid":${tid},"ts":${jnum(us(it.time))}`;
  switch (it.kind) {
    case 'begin':
      return `{"name":${jstr(it.title)},"cat":${jstr(it.cat)},"ph":"B",${head},"args":${argsJson(it.args, 'detail', it.detail)}}`;
    case 'end':
      return `{"name":${jstr(it.title)},"cat":${jstr(it.cat)},"ph":"E",${head},"args":${argsJson(undefined, 'end', endText(it))}}`;
    case 'instant':
      return `{"name":${jstr(instantName(it))},"cat":${jstr(it.cat)},"ph":"i","s":"t",${head},"args":${argsJson(it.args)}}`;
    case 'orphan':
      return null;
  }
}

interface Prepared {
  readonly groups: TraceRecord[][];
  readonly n: number;
  readonly endTime: number;
  readonly env: RenderEnv;
}

function prepare(records: readonly TraceRecord[], ctx: TraceExportContext, summary?: ChromeTraceSummary): Prepared {
  const groups = byCpu(records);
  const p = { groups, n: ncpusOf(ctx, groups), endTime: endTimeOf(records, ctx), env: renderEnv(ctx) };
  if (summary) {
    summary.ncpus = p.n;
    summary.records = records.length;
    summary.endTimeNs = p.endTime;
  }
  return p;
}

function metadataEvents(n: number): ChromeTraceEvent[] {
  const out: ChromeTraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid: TRACE_PID, tid: 0, args: { name: 'smpstop machine' } }];
  for (let cpu = 0; cpu < n; cpu++) {
    // Perfetto orders tracks by activity; chrome://tracing honours the sort index.
    out.push({ name: 'thread_name', ph: 'M', ts: 0, pid: TRACE_PID, tid: cpu, args: { name: `cpu ${cpu}` } });
    out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: TRACE_PID, tid: cpu, args: { sort_index: cpu } });
  }
  return out;
}

function* preparedTracks(p: Prepared, summary?: ChromeTraceSummary): Generator<Track> {
  for (let cpu = 0; cpu < p.n; cpu++) {
    const track = buildTrack(cpu, p.groups[cpu] ?? [], p.env, p.endTime);
    summary?.cpus.push({ cpu, records: track.records, overwritten: track.overwritten, ...track.repairs });
    yield track;
  }
}

/**
 * Chrome trace events in file order: process and thread names first, then
 * each CPU's track. `summary` is filled in as the tracks are produced.
 */
export function* chromeTraceEvents(records: readonly TraceRecord[], ctx: TraceExportContext, summary?: ChromeTraceSummary): Generator<ChromeTraceEvent> {
  const p = prepare(records, ctx, summary);
  let events = 0;
  for (const e of metadataEvents(p.n)) {
    events++;
    yield e;
  }
  for (const track of preparedTracks(p, summary)) {
    for (const it of track.items) {
      const e = itemEvent(it, track.cpu);
      if (e === null) continue;
      events++;
      yield e;
    }
  }
  if (summary) summary.events = events;
}

function emptySummary(): ChromeTraceSummary {
  return { generator: 'smpstop', ncpus: 0, records: 0, endTimeNs: 0, events: 0, cpus: [] };
}

/** The whole trace as one object (`JSON.stringify` it, or use `writeChromeTrace` for big traces). */
export function toChromeTrace(records: readonly TraceRecord[], ctx: TraceExportContext): ChromeTrace {
  const otherData = emptySummary();
  const traceEvents = [...chromeTraceEvents(records, ctx, otherData)];
  return { traceEvents, displayTimeUnit: 'ns', otherData };
}

/**
 * The JSON text of `toChromeTrace` in pieces of about `chunkChars`
 * characters: one event a line, never the whole document in one string.
 */
export function* chromeTraceChunks(records: readonly TraceRecord[], ctx: TraceExportContext, chunkChars = 1 << 16): Generator<string> {
  const summary = emptySummary();
  const p = prepare(records, ctx, summary);
  let events = 0;
  let buf = '{"displayTimeUnit":"ns","traceEvents":[\n';
  let sep = '';
  for (const e of metadataEvents(p.n)) {
    buf += sep + JSON.stringify(e);
    sep = ',\n';
    events++;
  }
  for (const track of preparedTracks(p, summary)) {
    for (const it of track.items) {
      const j = itemJson(it, track.cpu);
      if (j === null) continue;
      buf += sep + j;
      events++;
      if (buf.length >= chunkChars) {
        yield buf;
        buf = '';
      }
    }
  }
  summary.events = events;
  if (buf.length > 0) yield buf;
  yield `\n],\n"otherData":${JSON.stringify(summary)}}\n`;
}

/**
 * Writes the Chrome trace to `path`, streaming: the JSON is produced one CPU
 * track at a time and written in chunks with backpressure, so a 512-CPU x
 * 4096-record trace never exists as one string. Returns the bytes written.
 */
export async function writeChromeTrace(path: string, records: readonly TraceRecord[], ctx: TraceExportContext): Promise<{ bytes: number }> {
  let bytes = 0;
  const chunks = function* (): Generator<Buffer> {
    for (const s of chromeTraceChunks(records, ctx, 1 << 18)) {
      const b = Buffer.from(s, 'utf8');
      bytes += b.length;
      yield b;
    }
  };
  // Readable.from pulls the next chunk only when the file stream wants more (backpressure);
  // pipeline closes the file and rejects on any error.
  await pipeline(Readable.from(chunks(), { objectMode: false }), createWriteStream(path));
  return { bytes };
}

// =====================================================================
// Text timeline
// =====================================================================

export interface TextTimelineOptions {
  /** Keep only the last N events of each CPU. */
  readonly last?: number;
  /** Only these CPUs. */
  readonly cpus?: readonly number[];
}

/**
 * A compact timeline, one line per event, in time order across CPUs
 * (`   12.345us cpu2  irq-ack SGI 2`), nested events indented under the
 * exception, EL3 visit, call, wait or SDEI handler they happen in. Slices
 * closed by a repair get no line; an end without its begin is marked
 * `[no begin]`. A first line per CPU says how many older records the ring
 * overwrote, if any.
 */
export function toTextTimeline(records: readonly TraceRecord[], ctx: TraceExportContext, opts: TextTimelineOptions = {}): string {
  const want = opts.cpus ? new Set(opts.cpus) : null;
  const rows: { time: number; cpu: number; text: string }[] = [];
  const notes: string[] = [];
  let maxCpu = 0;
  let maxTime = 0;
  for (const track of buildTracks(records, ctx)) {
    if (want && !want.has(track.cpu)) continue;
    let lines: { time: number; text: string }[] = [];
    for (const it of track.items) {
      if (it.repair) continue;
      const text = `${'  '.repeat(it.depth)}${it.name}${it.detail ? ` ${it.detail}` : ''}${it.kind === 'orphan' ? ' [no begin]' : ''}`;
      lines.push({ time: it.time, text });
    }
    let skipped = 0;
    if (opts.last !== undefined && lines.length > opts.last) {
      skipped = lines.length - opts.last;
      lines = lines.slice(skipped);
    }
    if (track.overwritten > 0 || skipped > 0) {
      const parts: string[] = [];
      if (track.overwritten > 0) parts.push(`${track.overwritten} older records overwritten`);
      if (skipped > 0) parts.push(`${skipped} earlier events not shown`);
      notes.push(`cpu${track.cpu}: ${parts.join(', ')}`);
    }
    for (const l of lines) {
      rows.push({ time: l.time, cpu: track.cpu, text: l.text });
      if (l.time > maxTime) maxTime = l.time;
    }
    if (lines.length > 0 && track.cpu > maxCpu) maxCpu = track.cpu;
  }
  // Stable: lines of one CPU keep their order at equal times.
  rows.sort((x, y) => x.time - y.time || x.cpu - y.cpu);
  const tw = us(maxTime).toFixed(3).length + 2;
  const cw = String(maxCpu).length;
  const out = notes.map((n) => `# ${n}`);
  for (const r of rows) out.push(`${us(r.time).toFixed(3).padStart(tw)}us cpu${String(r.cpu).padEnd(cw)}  ${r.text}`);
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

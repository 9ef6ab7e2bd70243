/**
 * EXT: the model's observation area (PCPU.obs): counters and first
 * occurrences that the entry, scheduler and pipeline checkers read after the
 * run. The trace ring keeps only each CPU's newest records, and a busy entry
 * test overwrites them many times, so rare events (a preemption with D or A
 * masked, a breakpoint ignored, an SError left pending) are also kept here.
 *
 * Only host-side probes of the model write this area (with Atomics on guest
 * RAM, like the trace ring's writer), each on its own CPU's thread: guest
 * instructions never touch it, so it changes no guest behaviour or timing.
 * The main thread reads it once the run has ended (the engines' end of run
 * orders the stores before the reads).
 *
 * The file also holds the CoreObserver that performs a CPU's scenario
 * injections (faults {inject: 'serror' | 'breakpoint' | 'watchpoint'}) at
 * their plan times and reports what became of them.
 */
import type { CoreObserver } from '../../cpus/core.js';
import { PROLOGUE_SLOTS } from '../../cpus/isa.js';
import { PSR_A, PSR_D } from '../../cpus/pstate.js';
import { EC_SERROR, ESR_EC_SHIFT, ESR_IL } from '../machine/memory.js';
import { GV, PCPU, TASK } from './layout.js';
import { ESR_ELX_AET_CE, ESR_ELX_AET_SHIFT, ESR_ELX_FSC_SERROR } from './esr.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';

/** Byte offsets in the observation area; times are 64-bit guest ns (0: never). */
export const OBS = {
  p1_count: 0x00, // preempt_schedule_irq entered with PSTATE.D or A set (reference 6.9 P1)
  p1_time: 0x08,
  p1_pid: 0x10,
  p1_pstate: 0x14,
  p2_count: 0x18, // a task in process context with PSTATE.D or A set (P2)
  p2_time: 0x20,
  p2_pid: 0x28,
  p2_pstate: 0x2c,
  preempt_irq: 0x30, // preemptions from IRQ exit
  preempt_sync: 0x34, // preemptions from synchronous-exception exit
  switches: 0x38, // context switches
  samples: 0x3c, // process-context samples taken
  bp_ignored: 0x40, // breakpoint matches ignored (PSTATE.D set) in a kernel thread's process context
  bp_ignored_time: 0x48,
  bp_taken: 0x50,
  bp_taken_after: 0x58, // first breakpoint exception taken after the first ignored match
  wp_ignored: 0x60,
  wp_ignored_time: 0x68,
  wp_taken: 0x70,
  wp_taken_after: 0x78,
  serror_injected: 0x80,
  serror_inject_time: 0x88,
  serror_blocked: 0x90, // times the pending SError was found masked (PSTATE.A) in a kernel thread's process context
  serror_blocked_time: 0x98,
  serror_taken: 0xa0,
  serror_taken_time: 0xa8,
  lat_inband_n: 0xb0, // interrupt pipeline latency, acknowledge to handler start
  lat_inband_sum: 0xb8,
  lat_inband_max: 0xc0,
  lat_oob_n: 0xc8,
  lat_oob_sum: 0xd0,
  lat_oob_max: 0xd8,
  epi_irq: 0xe0, // IRQ epilogues run
  epi_sync: 0xe4, // fault epilogues run
  fast_exit: 0xe8, // exits that skipped the epilogue
  epi_bad: 0xec, // epilogues run over out-of-band code or (IRQ) a stalled in-band stage
  epi_bad_time: 0xf0,
  epi_bad_what: 0xf8, // bit 0 oob, bit 1 stalled, bit 2 fault
  BYTES: 0x100,
} as const;

const TWO32 = 0x1_0000_0000;

function wordIndex(k: K, off: number): number {
  return (k.L.pcpu(k.cpu, PCPU.obs + off) - k.c.m.map.ramBase) >> 2;
}
/** wordIndex of a word about to be written (marks its RAM page dirty, and the next word's for 64-bit values). */
function writeIndex(k: K, off: number, bytes: number): number {
  const i = wordIndex(k, off);
  k.c.m.noteRamWrite(i << 2, bytes);
  return i;
}

// Single writer per CPU (the CPU's own thread); read after the run.
export function obsAdd(k: K, off: number, d = 1): number {
  return Atomics.add(k.c.m.ram32, writeIndex(k, off, 4), d) + d;
}
export function obsGet(k: K, off: number): number {
  return Atomics.load(k.c.m.ram32, wordIndex(k, off));
}
export function obsSet(k: K, off: number, v: number): void {
  Atomics.store(k.c.m.ram32, writeIndex(k, off, 4), v | 0);
}
export function obsGet64(k: K, off: number): number {
  const i = wordIndex(k, off);
  return (Atomics.load(k.c.m.ram32, i) >>> 0) + Atomics.load(k.c.m.ram32, i + 1) * TWO32;
}
export function obsSet64(k: K, off: number, v: number): void {
  const i = writeIndex(k, off, 8);
  const x = Math.max(0, Math.round(v));
  const hi = Math.floor(x / TWO32);
  Atomics.store(k.c.m.ram32, i, x - hi * TWO32);
  Atomics.store(k.c.m.ram32, i + 1, hi);
}
/** Records the first time only. */
export function obsFirst64(k: K, off: number, v: number): void {
  if (obsGet64(k, off) === 0) obsSet64(k, off, Math.max(1, v));
}

/** A host-side read of a guest RAM word (probes only). */
export function peek(k: K, addr: number): number {
  return Atomics.load(k.c.m.ram32, (addr - k.c.m.map.ramBase) >> 2);
}

/** current->pid, read by a probe. */
export function peekPid(k: K): number {
  const task = peek(k, k.L.pcpu(k.cpu, PCPU.current));
  return task === 0 ? 0 : peek(k, task + TASK.pid);
}

/** First pid of the kernel threads the entry test creates (2000 + 16 * cpu + i). */
export const KTHREAD_PID_BASE = 2000;

/** Whether the current context is a kernel thread's process context (no exception taken): D and A must be clear there. */
export function inKthreadTaskContext(k: K): boolean {
  return k.c.exceptionDepth() === 0 && peekPid(k) >= KTHREAD_PID_BASE;
}

/** Where a scheduler sample is taken (T.SCHED_SAMPLE a >> 24). */
export const SAMPLE = {
  PREEMPT_IRQ: 1, // preempt_schedule_irq entered from IRQ exit (P1)
  PREEMPT_SYNC: 2, // preempt_schedule_irq entered from a synchronous exception's exit (P1)
  TASK: 3, // a task running in process context (P2)
} as const;

/** A scheduler sample: the trace record, and the counters for the checkers. */
export function observeSample(k: K, where: number): void {
  const ps = k.c.pstate;
  const pid = peekPid(k);
  k.c.trace?.emit(T.SCHED_SAMPLE, (where << 24) | pid, ps);
  const masked = (ps & (PSR_D | PSR_A)) !== 0;
  const now = k.c.clock.now();
  if (where === SAMPLE.TASK) {
    obsAdd(k, OBS.samples);
    if (masked && obsAdd(k, OBS.p2_count) === 1) {
      obsSet64(k, OBS.p2_time, Math.max(1, now));
      obsSet(k, OBS.p2_pid, pid);
      obsSet(k, OBS.p2_pstate, ps);
    }
    return;
  }
  obsAdd(k, where === SAMPLE.PREEMPT_SYNC ? OBS.preempt_sync : OBS.preempt_irq);
  if (masked && obsAdd(k, OBS.p1_count) === 1) {
    obsSet64(k, OBS.p1_time, Math.max(1, now));
    obsSet(k, OBS.p1_pid, pid | (where << 24));
    obsSet(k, OBS.p1_pstate, ps);
  }
}

// =====================================================================
// Scenario injections (CoreObserver)
// =====================================================================

export type InjectKind = 'serror' | 'breakpoint' | 'watchpoint';

export interface Injection {
  readonly kind: InjectKind;
  /** Guest ns after the plan's time origin. */
  readonly at: number;
  /** Breakpoint: the function whose first instruction is watched (default entry_test_work). */
  readonly symbol?: string;
}

/** The ESR of an injected SError: EC SError, IL, AET = CE (corrected: the CPU can make progress), DFSC = SError. */
export function injectedSErrorEsr(): number {
  return ((EC_SERROR << ESR_EC_SHIFT) | ESR_IL | (ESR_ELX_AET_CE << ESR_ELX_AET_SHIFT) | ESR_ELX_FSC_SERROR) >>> 0;
}

/** Polling period for the plan's time origin while it is not yet published. */
const T0_POLL_NS = 20_000;

/**
 * Installs the CPU's injections: the core calls `inject` from pollTimer at
 * the returned times (plan time origin + atUs), and reports every debug
 * event and SError to `event`.
 */
export function installObserver(k: K, injections: readonly Injection[]): void {
  if (injections.length === 0) return;
  const todo = [...injections].sort((a, b) => a.at - b.at);
  let t0 = -1;
  const observer: CoreObserver = {
    inject(core, now) {
      if (t0 < 0) {
        if (peek(k, k.L.g(GV.plan_t0_published)) === 0) return now + T0_POLL_NS;
        const lo = peek(k, k.L.g(GV.plan_t0)) >>> 0;
        t0 = lo + peek(k, k.L.g(GV.plan_t0) + 4) * TWO32;
      }
      while (todo.length > 0 && t0 + todo[0]!.at <= now) {
        const inj = todo.shift()!;
        switch (inj.kind) {
          case 'serror':
            obsAdd(k, OBS.serror_injected);
            obsFirst64(k, OBS.serror_inject_time, now);
            core.raiseSError(injectedSErrorEsr());
            break;
          case 'breakpoint': {
            const f = k.fn[inj.symbol ?? 'entry_test_work'];
            if (!f) throw core.fault(`breakpoint injection on '${inj.symbol}', which the kernel does not define`, 'guest-code');
            core.armBreakpoint(f.base + PROLOGUE_SLOTS * 4);
            break;
          }
          case 'watchpoint':
            core.armWatchpoint(k.L.pcpu(k.cpu, PCPU.entry_work));
            break;
        }
      }
      return todo.length > 0 ? t0 + todo[0]!.at : Infinity;
    },
    event(core, kind, taken, addr) {
      void addr;
      const now = core.clock.now();
      if (kind === 'serror') {
        if (taken) {
          obsAdd(k, OBS.serror_taken);
          obsFirst64(k, OBS.serror_taken_time, now);
        } else if (inKthreadTaskContext(k)) {
          obsAdd(k, OBS.serror_blocked);
          obsFirst64(k, OBS.serror_blocked_time, now);
        }
        return;
      }
      const bp = kind === 'breakpoint';
      if (taken) {
        obsAdd(k, bp ? OBS.bp_taken : OBS.wp_taken);
        if (obsGet(k, bp ? OBS.bp_ignored : OBS.wp_ignored) > 0) obsFirst64(k, bp ? OBS.bp_taken_after : OBS.wp_taken_after, now);
      } else if (inKthreadTaskContext(k)) {
        obsAdd(k, bp ? OBS.bp_ignored : OBS.wp_ignored);
        obsFirst64(k, bp ? OBS.bp_ignored_time : OBS.wp_ignored_time, now);
      }
    },
  };
  k.c.observer = observer;
  k.c.injectAt = 0;
}

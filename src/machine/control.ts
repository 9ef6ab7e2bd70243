/**
 * The machine control block: one small shared region that every thread of a
 * run reads. It holds the run's outcome word (the one every engine waits on),
 * the count of CPUs that can make progress (for idle time skipping and hang
 * detection), the guest clock's offset, and the global exclusive-monitor filter.
 */
import { defineLayout } from './layout.js';

/**
 * Buckets of the exclusive-monitor filter. A store whose bucket counts an
 * armed monitor scans every PE's MONITOR word, so a false hit costs O(CPUs):
 * with 64 buckets indexed by the low address bits, about 3% of all stores hit
 * a bucket some PE monitored, nearly all falsely (each per-CPU area's words
 * share one bucket: they are 4 KiB apart), which was 250,000 PE checks per
 * 256-CPU run and 6% of its host CPU (paired). Hashed over 1,024 buckets,
 * false hits are rare and the filter fits in 4 KiB.
 */
const MONITOR_BUCKET_BITS = 10;
export const MONITOR_BUCKETS = 1 << MONITOR_BUCKET_BITS;

export const ControlLayout = defineLayout('control', {
  CLOCK_EPOCH: { type: 'i64', owner: 'controller', doc: 'host monotonic ns at guest time 0 (threads engine)' },
  CLOCK_OFFSET: { type: 'i64', owner: 'any', doc: 'guest ns added by idle skips; only ever increases (Atomics CAS)' },
  CLOCK_GEN: { type: 'i32', owner: 'any', doc: 'bumped after every change of CLOCK_OFFSET, so readers may keep the offset they last read' },
  CLOCK_SCALE: { type: 'f64', owner: 'controller', doc: 'guest ns per host ns while some CPU runs (threads engine)' },
  END_TIME: { type: 'f64', owner: 'any', doc: 'guest ns at which the outcome was decided' },
  GUEST_TIME_LIMIT: { type: 'f64', owner: 'controller', doc: 'guest ns budget of the run' },
  STATE: { type: 'i32', owner: 'any', doc: 'MACHINE_RUNNING, or the Outcome code; first CAS wins' },
  END_CPU: { type: 'i32', owner: 'any', doc: 'CPU that decided the outcome (-1: the controller)' },
  END_DETAIL: { type: 'i32', owner: 'any', doc: 'outcome detail (PSCI reset type, ...)' },
  RUNNABLE: { type: 'i32', owner: 'any', doc: 'CPUs powered on and not asleep, plus ones being woken (counted before they may run)' },
  WAKE_SEQ: { type: 'i32', owner: 'any', doc: 'wake attempts so far: an idle skip whose scan saw it change rescans (runstate.ts)' },
  HALTED: { type: 'i32', owner: 'any', doc: 'CPU loops that have exited after the run ended (threads engine)' },
  JUMPS: { type: 'i32', owner: 'any', doc: 'number of idle time skips' },
  BOOT_CPU_READY: { type: 'i32', owner: 'cpu', doc: "threads engine: 1 once the boot CPU's worker (CPU 0) is attached and waiting for START" },
  START: { type: 'i32', owner: 'controller', doc: 'threads engine: 1 once guest time starts and CPUs may run' },
  MONITOR_FILTER: { type: 'i32', count: MONITOR_BUCKETS, owner: 'any', doc: 'count of PEs monitoring an address in each hash bucket' },
});

export const MACHINE_RUNNING = 0;

/** Outcome codes stored in STATE (0 is "still running"). */
export const OUTCOME_CODES = {
  reset: 1,
  poweroff: 2,
  kexec: 3,
  hung: 4,
  'guest-time-limit': 5,
  'step-limit': 6,
  fault: 7,
  aborted: 8,
  'host-watchdog': 9,
  halted: 10,
} as const;

export type Outcome = keyof typeof OUTCOME_CODES;

export function outcomeName(code: number): Outcome | 'running' {
  for (const [k, v] of Object.entries(OUTCOME_CODES)) if (v === code) return k as Outcome;
  return 'running';
}

/** The filter bucket of a word address: Fibonacci hashing of the word index, so strided addresses spread. */
export function monitorBucket(addr: number): number {
  return Math.imul(addr >>> 2, 0x9e3779b1) >>> (32 - MONITOR_BUCKET_BITS);
}

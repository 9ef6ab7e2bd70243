/**
 * A machine run's configuration and its documented bounds (STYLE.md rule 8).
 */
import type { FirmwareConfig } from '../../firmware/quirks.js';
import type { ProgramRef } from './program.js';
import type { SchedulerSpec } from './scheduler.js';

export type EngineName = 'threads' | 'sim';

export interface Limits {
  /** Guest-time budget in ns: the run ends with `guest-time-limit` (default 60 s of guest time). */
  readonly guestTimeNs: number;
  /** Retired-instruction budget over all CPUs: the run ends `hung` (default 200 million). */
  readonly maxInstructions: number;
  /** Host-time watchdog in ms: the run ends `hung` (default 60 000). */
  readonly hostTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  guestTimeNs: 60e9,
  maxInstructions: 200_000_000,
  hostTimeoutMs: 60_000,
};

/**
 * Threads engine: guest time advances at 1/20 of host time while some CPU
 * runs. A worker retires roughly 10^7 guest instructions per host second, so
 * an instruction costs a few guest ns (the sim engine uses 1 ns), IPI
 * latencies are sub-microsecond, and a host scheduling delay of 100 ms looks
 * like 5 ms to the guest: inside the kernel's 10 ms and 1 s stop timeouts.
 * Idle gaps are skipped regardless (clock.ts).
 */
export const DEFAULT_TIME_SCALE = 0.05;

export interface MachineConfig {
  readonly cpus: number;
  readonly program: ProgramRef;
  readonly firmware: FirmwareConfig;
  readonly engine: EngineName;
  /** Seed of the sim scheduler (the threads engine ignores it: its interleaving is the host's). */
  readonly seed: number;
  readonly scheduler?: SchedulerSpec;
  /** Implemented GIC priority bits (3-5; default 5). */
  readonly priBits?: number;
  /** FEAT_NMI present (default false). */
  readonly featNmi?: boolean;
  readonly limits?: Partial<Limits>;
  /** Trace records kept per CPU (0: no trace; default 4096). */
  readonly traceRecords?: number;
  /** Threads engine: guest ns per host ns while some CPU runs (default DEFAULT_TIME_SCALE). */
  readonly timeScale?: number;
  /** Sim engine: guest ns per retired instruction of a CPU (default 1, a 1 GHz in-order core). */
  readonly nsPerInstruction?: number;
}

export function limitsOf(cfg: MachineConfig): Limits {
  return { ...DEFAULT_LIMITS, ...(cfg.limits ?? {}) };
}

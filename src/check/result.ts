/**
 * The result of a scenario run: the same object the library returns and
 * `smpstop run --json` prints.
 */
import type { Violation } from './checkers.js';
import type { EntryRunStats } from './entry-checkers.js';
import type { Scenario } from '../scenarios/schema.js';
import type { EngineName } from '../machine/config.js';
import type { StopHow, RunFacts } from './analysis.js';
import type { MachineResult } from '../machine/machine.js';
import type { KernelProgram } from '../kernel/program.js';
import { PT_REGS } from '../../cpus/ptregs.js';

export type RunOutcome = 'reset' | 'poweroff' | 'kexec' | 'hung' | 'guest-time-limit' | 'fault';

export interface CrashNoteInfo {
  readonly pc: number;
  readonly sp: number;
  readonly pstate: number;
  readonly pid: number;
  readonly symbol: string;
}

/** One CPU of a result: how it ended, how it was stopped, its crash note and final PC. */
export interface CpuResult {
  readonly cpu: number;
  /** off (PSCI), parked (cpu_park_loop), in-firmware (at EL3), ended-run (the CPU that ended it), running. */
  readonly state: 'off' | 'parked' | 'in-firmware' | 'ended-run' | 'running';
  readonly online: boolean;
  readonly stoppedBy: StopHow | 'none';
  /**
   * Every stop path the CPU entered, in order (more than one means it was stopped twice);
   * `nested`: it began while the CPU was already stopping (R1, R2).
   */
  readonly stops: readonly { how: StopHow; timeUs: number; crash: boolean; fn: string; nested: boolean }[];
  readonly crashNote: CrashNoteInfo | null;
  /**
   * Trace records of this CPU's stop history overwritten by newer ones (0 normally). When non-zero,
   * `stops` and the checkers saw only the newest `traceRecords`: raise --trace-records.
   */
  readonly traceOverwritten: number;
  readonly pc: number;
  readonly symbol: string;
}

export interface LogEntry {
  readonly timeUs: number;
  readonly cpu: number;
  readonly level: number;
  readonly text: string;
}

export interface ViolationResult {
  readonly id: string;
  readonly cpu: number;
  readonly timeUs: number;
  readonly message: string;
}

/** The result of a run: what `smpstop run --json` prints and `runScenario` returns. */
export interface RunResult {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly engine: EngineName;
  readonly outcome: RunOutcome;
  /** Why a run ended hung: every CPU waits forever, the instruction budget, or the host watchdog. */
  readonly reason?: string;
  readonly log: readonly LogEntry[];
  readonly failedToStop: readonly number[];
  readonly cpus: readonly CpuResult[];
  readonly violations: readonly ViolationResult[];
  readonly guestTimeUs: number;
  readonly hostMs: number;
  /** The command that replays this run. */
  readonly replay: string;
  readonly fault?: { readonly cpu: number; readonly message: string; readonly stack: string };
  /** Entry test or interrupt pipeline runs only: preemptions, context switches, pipeline latency (src/check/entry-checkers.ts). */
  readonly entry?: EntryRunStats;
}

export const toUs = (ns: number): number => Math.round(ns) / 1000;

export function outcomeOf(m: MachineResult): { outcome: RunOutcome; reason?: string } {
  switch (m.outcome) {
    case 'reset': case 'poweroff': case 'kexec': case 'guest-time-limit': case 'fault': case 'hung':
      return { outcome: m.outcome, ...(m.outcome === 'hung' ? { reason: 'every CPU waits for something that can never happen' } : {}) };
    case 'step-limit': return { outcome: 'hung', reason: 'instruction budget exhausted (limits.maxInstructions)' };
    case 'host-watchdog': return { outcome: 'hung', reason: 'host-time watchdog expired (limits.hostTimeoutMs)' };
    default: return { outcome: 'fault', reason: `run ended with ${m.outcome}` };
  }
}

export function cpuResults(m: MachineResult, facts: RunFacts): CpuResult[] {
  return m.cpus.map((c) => {
    const f = facts.cpus[c.cpu]!;
    const note = facts.notes[c.cpu];
    let state: CpuResult['state'] = 'running';
    if (c.power === 'off') state = 'off';
    else if (c.cpu === facts.endCpu) state = 'ended-run';
    else if (c.el === 3) state = 'in-firmware';
    else if (m.image.fnAt(c.pc)?.name === 'cpu_park_loop') state = 'parked';
    return {
      cpu: c.cpu,
      state,
      online: facts.onlineAtEnd[c.cpu]!,
      stoppedBy: f.stops[0]?.how ?? 'none',
      stops: f.stops.map((s) => ({ how: s.how, timeUs: toUs(s.time), crash: s.crash, fn: s.fn, nested: s.nested })),
      crashNote: note ? { ...note, symbol: m.image.symbolize(note.pc) } : null,
      traceOverwritten: f.overwritten,
      pc: c.pc,
      symbol: c.symbol,
    };
  });
}

export function violationResults(v: readonly Violation[]): ViolationResult[] {
  return v.map((x) => ({ id: x.id, cpu: x.cpu, timeUs: toUs(x.time), message: x.message }));
}

export { PT_REGS };
export type { KernelProgram };

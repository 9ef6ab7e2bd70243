/**
 * Checkers: each judges a finished run and names every violation with a
 * stable id (reference linux-stop-paths.md section 8 invariants). A checker
 * is a function over the run's facts; users register their own the same way
 * (registerChecker).
 */
import { PAGE_SIZE } from '../machine/memory.js';
import { inStopPath, noteWriter, type RunFacts } from './analysis.js';
import type { MachineResult } from '../machine/machine.js';
import type { KernelProgram } from '../kernel/program.js';
import { InputError } from '../errors.js';
import { assertOneCopy } from '../api/one-copy.js';
import { ENTRY_CHECKERS } from './entry-checkers.js';

/** A violation a checker reports: a stable id, the CPU, the guest time (ns) and a message. */
export interface Violation {
  readonly id: string;
  readonly cpu: number;
  /** Guest time in ns. */
  readonly time: number;
  readonly message: string;
}

/** What a checker sees: the facts read from the trace and memory, the machine state, the kernel program. */
export interface CheckContext {
  readonly facts: RunFacts;
  readonly machine: MachineResult;
  readonly program: KernelProgram;
  readonly engine: 'sim' | 'threads';
  symbolize(pc: number): string;
}

/** A checker: judges a finished run and returns its violations (registerChecker). */
export interface Checker {
  readonly id: string;
  readonly description: string;
  check(ctx: CheckContext): Violation[];
}

const registry = new Map<string, Checker>();

/**
 * Registers a checker (in the thread that judges runs: the main thread, or a
 * campaign's sim worker, which import the user modules of the run). The same
 * checker registered again (same id and description: one module evaluated
 * twice) keeps the first; another checker under a taken id is an error.
 */
export function registerChecker(c: Checker): Checker {
  assertOneCopy('registerChecker');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(c.id)) throw new InputError('checker.id', `'${c.id}' is not a valid checker id (lower-case letters, digits, -)`);
  const prev = registry.get(c.id);
  if (prev && prev !== c && prev.description === c.description) return prev;
  if (registry.has(c.id) && registry.get(c.id) !== c) throw new InputError('checker.id', `a checker named '${c.id}' is already registered`);
  registry.set(c.id, c);
  return c;
}

export function listCheckers(): readonly Checker[] {
  return [...registry.values()];
}

export function getChecker(id: string): Checker | undefined {
  return registry.get(id);
}

const us = (ns: number): string => `${(ns / 1000).toFixed(3)}us`;

registerChecker({
  id: 'not-stopped',
  description: 'a CPU still executing kernel code after the stop returned that the kernel did not name in its "failed to stop" warning',
  check({ facts, machine }) {
    const out: Violation[] = [];
    const sr = facts.stopReturned;
    if (!sr) return out;
    const named = new Set(facts.failedToStop);
    for (const c of machine.cpus) {
      const f = facts.cpus[c.cpu]!;
      if (c.cpu === sr.cpu || c.cpu === facts.endCpu || named.has(c.cpu)) continue;
      const stopped = c.power === 'off' || f.stops.length > 0;
      const wasOnline = facts.onlineAtEnd[c.cpu] || f.stops.length > 0;
      if (!stopped && c.power === 'on' && facts.onlineAtEnd[c.cpu]) {
        out.push({ id: 'not-stopped', cpu: c.cpu, time: sr.time, message: `CPU ${c.cpu} is online and running ${c.symbol} after smp_send_stop returned on CPU ${sr.cpu}, and the kernel did not name it` });
        continue;
      }
      // Marked offline by its stop path but still taking interrupts after the stop returned (R11c).
      const late = f.excAfterStop.find((e) => e.time > sr.time);
      if (wasOnline && late) {
        out.push({ id: 'not-stopped', cpu: c.cpu, time: late.time, message: `CPU ${c.cpu} took an interrupt (vector 0x${late.vector.toString(16)}) at ${us(late.time)}, after smp_send_stop returned at ${us(sr.time)} counting it stopped` });
      }
    }
    return out;
  },
});

registerChecker({
  id: 'null-deref-in-stop-path',
  description: 'a NULL pointer dereference (data abort below PAGE_SIZE) inside the stop path',
  check({ facts, symbolize, machine }) {
    const out: Violation[] = [];
    for (const f of facts.cpus) {
      for (const a of f.dataAborts) {
        if (a.far < PAGE_SIZE && inStopPath(machine.image, a.elr, a.stopping)) {
          out.push({ id: 'null-deref-in-stop-path', cpu: f.cpu, time: a.time, message: `CPU ${f.cpu} dereferenced 0x${a.far.toString(16)} at ${symbolize(a.elr)} while stopping` });
        }
      }
    }
    return out;
  },
});

registerChecker({
  id: 'crash-note-missing',
  description: 'a CPU stopped by IPI, NMI or SDEI on a crash stop without an NT_PRSTATUS note (CPUs the kernel named as not stopped excepted)',
  check({ facts }) {
    const out: Violation[] = [];
    for (const f of facts.cpus) {
      // A CPU named in "failed to stop secondary CPUs" is known to kdump as stale ("Some CPUs may be
      // stale"): it may still be on its way to crash_save_cpu when kexec starts, and no note is expected.
      if (facts.failedToStop.includes(f.cpu)) continue;
      const s = f.stops.find((x) => x.how !== 'self');
      if (s && s.crash && !facts.notes[f.cpu]) {
        out.push({ id: 'crash-note-missing', cpu: f.cpu, time: s.time, message: `CPU ${f.cpu} was stopped by ${s.how} on a crash stop but has no crash note` });
      }
    }
    return out;
  },
});

registerChecker({
  id: 'crash-note-in-stop-path',
  description: 'a crash note whose PC is inside the stop path, or a note written twice',
  check({ facts, machine, symbolize }) {
    const out: Violation[] = [];
    for (const f of facts.cpus) {
      const note = facts.notes[f.cpu];
      // A note PC in a shared helper (crash_save_cpu, cpu_park_loop, ...) is a stop-path PC only when the
      // stop that wrote it nested inside another stop (R2: the SDEI stop overwrites the IPI stop's note).
      if (note && f.cpu !== facts.endCpu && inStopPath(machine.image, note.pc, noteWriter(f)?.nested ?? false)) {
        out.push({ id: 'crash-note-in-stop-path', cpu: f.cpu, time: f.crashSaves[f.crashSaves.length - 1] ?? 0, message: `CPU ${f.cpu}'s crash note has pc ${symbolize(note.pc)}, inside the stop path` });
      }
      if (f.crashSaves.length > 1) {
        out.push({ id: 'crash-note-in-stop-path', cpu: f.cpu, time: f.crashSaves[1]!, message: `CPU ${f.cpu}'s crash note was written ${f.crashSaves.length} times (the last write wins)` });
      }
    }
    return out;
  },
});

registerChecker({
  id: 'cpu-off-in-sdei-event',
  description: 'PSCI CPU_OFF called while an SDEI event was being handled on that CPU',
  check({ facts }) {
    const out: Violation[] = [];
    for (const f of facts.cpus) {
      for (const t of f.cpuOffInSdei) out.push({ id: 'cpu-off-in-sdei-event', cpu: f.cpu, time: t, message: `CPU ${f.cpu} called PSCI CPU_OFF inside an uncompleted SDEI event` });
    }
    return out;
  },
});

registerChecker({
  id: 'panic-cpu-stopped',
  description: 'the CPU that owns panic_cpu was stopped by another CPU\'s stop request',
  check({ facts }) {
    const out: Violation[] = [];
    for (const w of facts.panicWinners) {
      const s = facts.cpus[w.cpu]!.stops.find((x) => x.how !== 'self' && x.time > w.time);
      if (s) out.push({ id: 'panic-cpu-stopped', cpu: w.cpu, time: s.time, message: `CPU ${w.cpu} owns panic_cpu but was stopped by ${s.how} at ${us(s.time)}` });
    }
    return out;
  },
});

registerChecker({
  id: 'multiple-panic-owners',
  description: 'more than one CPU won panic_cpu',
  check({ facts }) {
    const owners = facts.panicWinners;
    if (owners.length <= 1) return [];
    return owners.slice(1).map((o) => ({ id: 'multiple-panic-owners', cpu: o.cpu, time: o.time, message: `CPU ${o.cpu} won panic_cpu after CPU ${owners[0]!.cpu} did` }));
  },
});

registerChecker({
  id: 'ran-after-reset',
  description: 'a kernel instruction retired after reset, power-off or kexec',
  check({ facts, machine, engine }) {
    if (!['reset', 'poweroff', 'kexec'].includes(machine.outcome)) return [];
    // The threads engine stops a running CPU at its next boundary: the instruction in flight when the
    // stop was published may still trace (an SMC to CPU_OFF emits up to four events at four times; an
    // SGI write to a target list one SGI_SEND per PE, all at the write's one time, so instants count).
    const ranOn = (f: (typeof facts.cpus)[number]): boolean => (engine === 'threads' ? f.instantsAfterEnd > 4 : f.eventsAfterEnd > 0);
    return facts.cpus.filter((f) => f.cpu !== facts.endCpu && ranOn(f)).map((f) => ({
      id: 'ran-after-reset', cpu: f.cpu, time: f.lastEventTime, message: `CPU ${f.cpu} kept executing after ${machine.outcome} (${f.eventsAfterEnd} trace events after ${us(facts.endTime)})`,
    }));
  },
});

// The entry-code, scheduler and interrupt-pipeline checkers (issue 6).
for (const c of ENTRY_CHECKERS) registerChecker(c);

export function runCheckers(ctx: CheckContext, ids?: readonly string[]): Violation[] {
  const out: Violation[] = [];
  for (const c of registry.values()) {
    if (ids && !ids.includes(c.id)) continue;
    out.push(...c.check(ctx));
  }
  return out.sort((a, b) => a.time - b.time || a.cpu - b.cpu);
}

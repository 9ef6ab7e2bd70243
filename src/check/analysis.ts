/**
 * Facts about a finished kernel run, derived from the per-CPU trace rings
 * (written by the CPU core and firmware, so they hold whatever guest code a
 * variant runs), the kernel's log buffer and the final machine state. The
 * checkers and the run result are built from these facts.
 */
import { T, CHANNEL_OF } from '../trace/events.js';
import { readTraceTable, REC, type TraceTable } from '../trace/ring.js';
import { TRACE_RECORD_F64 } from '../trace/layout.js';
import { ramBytes, ramLatin1, ramWords, word, dword } from './ram.js';
import { LOGREC, LOG_RECORDS, GV, PCPU } from '../kernel/layout.js';
import { parseCrashNoteBuffer, CRASH_NOTE_BYTES } from '../vmcore/prstatus.js';
import { MARK_CRASH_SAVE } from '../kernel/crash.js';
import { MARK_CRASH_STOP } from '../kernel/smp.js';
import { parseCpulist } from '../kernel/printk.js';
import { STOP_PATH_NAMES } from '../kernel/program.js';
import { IPI } from '../kernel/irq-gic-v3.js';
import type { KernelProgram } from '../kernel/program.js';
import type { MachineResult } from '../machine/machine.js';
import { PAGE_SIZE } from '../machine/memory.js';

export type StopHow = 'ipi' | 'nmi' | 'sdei' | 'self';

/** A stop path a CPU entered: how it was reached (ipi, nmi, sdei, self), when, and the function. */
export interface StopEntry {
  readonly how: StopHow;
  readonly time: number;
  /** crash_stop was set when the CPU entered its stop function. */
  readonly crash: boolean;
  /** The stop function entered. */
  readonly fn: string;
  /**
   * The CPU was already stopping when this stop began: an earlier stop function
   * had been entered, or a stop IPI was being handled below this one (R1, R2).
   */
  readonly nested: boolean;
}

export interface LogLine {
  readonly seq: number;
  readonly time: number;
  readonly cpu: number;
  readonly level: number;
  readonly text: string;
}

/** One CPU's facts: the stop paths it entered, its crash saves, data aborts and late exceptions. */
export interface CpuFacts {
  readonly cpu: number;
  readonly stops: StopEntry[];
  readonly crashSaves: number[];
  /** PSCI CPU_OFF calls made while an SDEI dispatch was outstanding on the CPU (times). */
  readonly cpuOffInSdei: number[];
  /** Data aborts; `stopping`: the CPU was inside a stop (function entered, or a stop IPI being handled). */
  readonly dataAborts: { time: number; far: number; elr: number; symbol: string; stopping: boolean }[];
  /** Exception entries taken after the CPU's stop-path entry (times, vector). */
  readonly excAfterStop: { time: number; vector: number }[];
  /** Trace events later than the end of the run. */
  eventsAfterEnd: number;
  /**
   * The distinct times among them: records of one instruction that carry its
   * one time (the SGI_SEND records of an SGI register write to many PEs)
   * count once.
   */
  instantsAfterEnd: number;
  /** Machine-channel records overwritten before the oldest kept: the stop history may be incomplete. */
  overwritten: number;
  lastEventTime: number;
}

/** What the trace, the kernel log and guest memory say about a finished run; the checkers judge these. */
export interface RunFacts {
  readonly ncpus: number;
  readonly endTime: number;
  readonly endCpu: number;
  readonly log: LogLine[];
  readonly cpus: CpuFacts[];
  readonly crashStopTime: number;
  /** CPUs that won panic_cpu in vpanic, in order. */
  readonly panicWinners: { cpu: number; time: number }[];
  readonly panicCpu: number;
  /** CPUs named in the last "failed to stop" warning. */
  readonly failedToStop: number[];
  /** When the stop requester's smp_send_stop returned (first return after its rungs), or Infinity. */
  readonly stopReturned: { cpu: number; time: number } | null;
  readonly onlineAtEnd: boolean[];
  readonly notes: ({ pid: number; pc: number; sp: number; pstate: number } | null)[];
}

const STOP_FNS = new Set(['local_cpu_stop', 'ipi_cpu_crash_stop', 'arm64_nmi_cpu_stop', 'panic_smp_self_stop']);
/**
 * The functions of STOP_PATH_NAMES that only a stop runs. The others
 * (do_handle_IPI, crash_save_cpu, cpu_park_loop, __cpu_try_die,
 * sdei_mask_local_cpu) are shared with IPI handling, the panic CPU's own
 * crash save, hotplug and the SDEI CPU-down path: a PC in one of them is in
 * the stop path only if the CPU was already stopping.
 */
const STOP_ONLY_NAMES = new Set([...STOP_FNS, 'sdei_nmi_handler']);
/** SGIs whose handler is a stop (enum ipi_msg_type, irq-gic-v3.ts). */
const STOP_IPIS = new Set([IPI.CPU_STOP, IPI.CPU_STOP_NMI]);
const PSCI_CPU_OFF_FID = 0x8400_0002;

export function readLog(r: MachineResult, program: KernelProgram): LogLine[] {
  const L = program.layout;
  const head = r.peek32(L.g(GV.log_head));
  const first = Math.max(0, head - LOG_RECORDS);
  const out: LogLine[] = [];
  for (let i = first; i < head; i++) {
    const rec = L.logRecord(i);
    const w = ramWords(r, rec, LOGREC.text);
    if (word(w, LOGREC.seq) !== i + 1) continue; // torn: being written when the run ended
    const text = ramLatin1(r, rec + LOGREC.text, word(w, LOGREC.len));
    out.push({ seq: i, time: dword(w, LOGREC.time), cpu: word(w, LOGREC.cpu), level: word(w, LOGREC.level), text });
  }
  return out;
}

function readNote(r: MachineResult, program: KernelProgram, cpu: number): RunFacts['notes'][number] {
  const s = parseCrashNoteBuffer(ramBytes(r, program.layout.crashNotes(cpu), CRASH_NOTE_BYTES));
  if (!s) return null;
  return { pid: s.pid, pc: s.regs.pc, sp: s.regs.sp, pstate: s.regs.pstate };
}

const traceTables = new WeakMap<MachineResult, TraceTable>();

/**
 * The run's trace (readTraceTable), read once: the analysis and the trace
 * checkers walk it without an object per record. Like the other readers of a
 * finished run, valid until the machine's buffers are recycled.
 */
export function traceTable(r: MachineResult): TraceTable {
  let t = traceTables.get(r);
  if (!t) traceTables.set(r, (t = readTraceTable(r.shared)));
  return t;
}

interface Ctx { kind: 'irq' | 'sync' | 'sdei' | 'fiq3'; intid: number; elr: number }

/** Per kernel image (one serves every run of a configuration): the ids of the stop functions and of smp_send_stop. */
const imageFns = new WeakMap<MachineResult['image'], { stopFnIds: Set<number>; sendStopId: number }>();
function stopFunctions(image: MachineResult['image']): { stopFnIds: Set<number>; sendStopId: number } {
  let f = imageFns.get(image);
  if (!f) {
    f = { stopFnIds: new Set(image.fns.filter((fn) => STOP_FNS.has(fn.name)).map((fn) => fn.id)), sendStopId: image.fns.find((fn) => fn.name === 'smp_send_stop')?.id ?? -1 };
    imageFns.set(image, f);
  }
  return f;
}

/** The records analyse() follows: the machine channel's (it walks only channel 0 record by record). */
const FOLLOWED = [T.EXC_ENTRY, T.IRQ_ACK, T.ERET, T.SDEI_DISPATCH, T.SDEI_COMPLETE, T.PSCI, T.POWER_OFF, T.DATA_ABORT, T.MARK, T.CALL, T.RETURN, T.PANIC];
if (FOLLOWED.some((k) => CHANNEL_OF[k] !== 0)) throw new Error('analyse: a followed trace kind is not on channel 0');

/** The index of the innermost context of `kind`, or -1. */
function lastOfKind(stack: readonly Ctx[], kind: Ctx['kind']): number {
  let i = stack.length - 1;
  while (i >= 0 && stack[i]!.kind !== kind) i--;
  return i;
}

/** Drops the contexts from index `i` up (Perf: pops, where `stack.length = i` took the generic length setter). */
function popTo(stack: Ctx[], i: number): void {
  while (stack.length > i) stack.pop();
}

export function analyse(r: MachineResult, program: KernelProgram): RunFacts {
  const image = r.image;
  const n = r.shared.ncpus;
  const { rows, start, end, droppedMachine } = traceTable(r);
  const W = TRACE_RECORD_F64;
  const endTime = r.guestTimeNs;
  let crashStopTime = Infinity;
  const panicWinners: RunFacts['panicWinners'] = [];
  // Per ring (as TraceTable's start and end): the records later than the end of the run, and the
  // distinct times among them (consecutive records of one time count once). Perf: counted in the
  // pass the crash-stop time needs before the per-CPU pass, not in a pass of their own.
  const after = new Float64Array(2 * n);
  const instants = new Float64Array(2 * n);
  for (let x = 0; x < 2 * n; x++) {
    const machine = (x & 1) === 0; // channel 0: the crash-stop marks and panic records are there
    let prevTime = NaN;
    for (let o = start[x]!; o < end[x]!; o += W) {
      const time = rows[o + REC.TIME]!;
      if (machine) {
        const kind = rows[o + REC.KIND];
        const a = rows[o + REC.A];
        if (kind === T.MARK && a === MARK_CRASH_STOP && time < crashStopTime) crashStopTime = time;
        if (kind === T.PANIC && a === 1) panicWinners.push({ cpu: x >> 1, time });
      }
      if (time > endTime) {
        after[x]++;
        if (time !== prevTime) instants[x]++;
      }
      prevTime = time;
    }
  }
  panicWinners.sort((a, b) => a.time - b.time);
  const cpus: CpuFacts[] = [];
  let stopReturned: RunFacts['stopReturned'] = null;
  const { stopFnIds, sendStopId } = stopFunctions(image);
  for (let cpu = 0; cpu < n; cpu++) {
    const facts: CpuFacts = { cpu, stops: [], crashSaves: [], cpuOffInSdei: [], dataAborts: [], excAfterStop: [], eventsAfterEnd: 0, instantsAfterEnd: 0, lastEventTime: 0, overwritten: droppedMachine[cpu] ?? 0 };
    const stack: Ctx[] = [];
    let sdeiDepth = 0;
    let inStop = false;
    let sendStopDepth = 0;
    const stopIpiBelow = (depth: number): boolean => {
      for (let i = 0; i < depth; i++) if (stack[i]!.kind === 'irq' && STOP_IPIS.has(stack[i]!.intid as 2 | 3)) return true;
      return false;
    };
    // Both channels: the records after the end, the time of the CPU's last record (the last of the
    // channel whose last record is the newer: sequence numbers grow along each channel).
    facts.eventsAfterEnd = after[2 * cpu]! + after[2 * cpu + 1]!;
    facts.instantsAfterEnd = instants[2 * cpu]! + instants[2 * cpu + 1]!;
    let lastSeq = -1;
    for (let x = 2 * cpu; x < 2 * cpu + 2; x++) {
      const o = end[x]! - W;
      if (o >= start[x]! && rows[o + REC.SEQ]! > lastSeq) {
        lastSeq = rows[o + REC.SEQ]!;
        facts.lastEventTime = rows[o + REC.TIME]!;
      }
    }
    for (let o = start[2 * cpu]!; o < end[2 * cpu]!; o += W) {
      const time = rows[o + REC.TIME]!;
      const a = rows[o + REC.A]!;
      const b = rows[o + REC.B]!;
      switch (rows[o + REC.KIND]) {
        case T.EXC_ENTRY: {
          // Vector offset bits 8:7: 0 synchronous, 1 IRQ, 2 FIQ, 3 SError.
          const type = (a >> 7) & 3;
          stack.push({ kind: type === 0 ? 'sync' : 'irq', intid: -1, elr: b });
          if (inStop && (type === 1 || type === 2)) facts.excAfterStop.push({ time, vector: a });
          break;
        }
        case T.IRQ_ACK: {
          const top = stack[stack.length - 1];
          if (top && top.kind === 'irq' && top.intid < 0) top.intid = a;
          break;
        }
        case T.ERET: {
          // Pops the exception it returns from (the innermost with that return address, else the innermost).
          let i = stack.length - 1;
          while (i >= 0 && !(stack[i]!.kind !== 'sdei' && stack[i]!.elr === a)) i--;
          if (i < 0 && lastOfKind(stack, 'irq') >= 0) i = stack.length - 1;
          if (i >= 0) popTo(stack, i);
          break;
        }
        case T.SDEI_DISPATCH:
          stack.push({ kind: 'sdei', intid: a, elr: b });
          sdeiDepth++;
          break;
        case T.SDEI_COMPLETE: {
          const i = lastOfKind(stack, 'sdei');
          if (i >= 0) popTo(stack, i);
          if (sdeiDepth > 0) sdeiDepth--;
          break;
        }
        case T.PSCI:
          if (a === PSCI_CPU_OFF_FID && sdeiDepth > 0) facts.cpuOffInSdei.push(time);
          break;
        case T.POWER_OFF:
          popTo(stack, 0);
          sdeiDepth = 0;
          break;
        case T.DATA_ABORT:
          facts.dataAborts.push({ time, far: a, elr: b, symbol: image.symbolize(b), stopping: inStop || stopIpiBelow(stack.length) });
          stack.push({ kind: 'sync', intid: -1, elr: b });
          break;
        case T.MARK:
          if (a === MARK_CRASH_SAVE && b === cpu) facts.crashSaves.push(time);
          break;
        case T.CALL:
          if (stopFnIds.has(a)) {
            const name = image.fns[a]!.name;
            const top = stack[stack.length - 1];
            let how: StopHow | null = null;
            if (top?.kind === 'sdei') how = 'sdei';
            else if (top?.kind === 'irq') how = top.intid === 3 ? 'nmi' : 'ipi';
            else if (name === 'panic_smp_self_stop') how = 'self';
            const prev = facts.stops[facts.stops.length - 1];
            // arm64_nmi_cpu_stop called by panic_smp_self_stop is the same stop.
            const sameStop = prev && prev.how === 'self' && how === null;
            if (how && !sameStop) {
              const nested = inStop || stopIpiBelow(stack.length - 1);
              facts.stops.push({ how, time, crash: time >= crashStopTime, fn: name, nested });
            }
            inStop = true;
          } else if (a === sendStopId) {
            sendStopDepth++;
          }
          break;
        case T.RETURN:
          if (a === sendStopId && sendStopDepth > 0) {
            sendStopDepth--;
            if (!stopReturned) stopReturned = { cpu, time };
          }
          break;
      }
    }
    cpus.push(facts);
  }
  const log = readLog(r, program);
  let failedToStop: number[] = [];
  for (const l of log) {
    const m = /^SMP: failed to stop secondary CPUs (.*)$/.exec(l.text);
    if (m) failedToStop = parseCpulist(m[1]!);
  }
  const L = program.layout;
  const onlineAtEnd: boolean[] = [];
  for (let cpu = 0; cpu < n; cpu++) onlineAtEnd.push(((r.peek32(L.g(GV.cpu_online_mask) + 4 * (cpu >> 5)) >>> (cpu & 31)) & 1) === 1);
  const notes: RunFacts['notes'] = [];
  for (let cpu = 0; cpu < n; cpu++) notes.push(readNote(r, program, cpu));
  return {
    ncpus: n, endTime, endCpu: r.endCpu, log, cpus, crashStopTime, panicWinners,
    panicCpu: r.peek32(L.g(GV.panic_cpu)), failedToStop, stopReturned, onlineAtEnd, notes,
  };
}

/**
 * Whether `pc` lies inside the stop path: in a function only stops run, or in
 * a helper the stop path shares with other code when `stopping` (the CPU was
 * already inside a stop at that point).
 */
export function inStopPath(image: MachineResult['image'], pc: number, stopping = true): boolean {
  const f = image.fnAt(pc);
  if (!f || !STOP_PATH_NAMES.has(f.name)) return false;
  return STOP_ONLY_NAMES.has(f.name) || stopping;
}

/** The stop that wrote the CPU's final crash note (the last stop entered before the last note write). */
export function noteWriter(f: CpuFacts): StopEntry | null {
  const t = f.crashSaves[f.crashSaves.length - 1];
  if (t === undefined) return null;
  let w: StopEntry | null = null;
  for (const s of f.stops) if (s.time <= t) w = s;
  return w;
}

export { PAGE_SIZE, PCPU };

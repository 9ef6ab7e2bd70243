/**
 * Running the bench guest programs (bench/programs/bench-programs.ts), and the
 * one harness trick the idle and wake-up figures need.
 *
 * A threads-engine machine whose CPUs all sleep never sleeps in host time:
 * the last CPU to fall asleep moves guest time to the earliest deadline (idle
 * skip, src/machine/runstate.ts), or ends the run as hung when there is none.
 * To measure 64 CPUs asleep in host time, the harness acts as an external
 * agent that may still raise an event (as a device could): it holds one
 * reference on the machine's RUNNABLE count for the whole run, so no skip and
 * no hang verdict happens, and it releases CPU 0 by writing a guest word and
 * signalling an event to it, exactly as a store by another PE to CPU 0's
 * monitored address would (core.ts monitorHit).
 */
import { runMachine, type MachineResult } from '../src/machine/machine.js';
import { loadProgram, type GuestProgram } from '../src/machine/program.js';
import { prepareMachine } from '../src/machine/boot.js';
import { runThreads } from '../src/machine/threads.js';
import { endRun, kick, machineRunning } from '../src/machine/runstate.js';
import { ControlLayout, outcomeName } from '../src/machine/control.js';
import { CpuLayout, ATTN_EVENT } from '../cpus/layout.js';
import { distFile } from '../src/paths.js';
import type { EngineName, MachineConfig } from '../src/machine/config.js';
import type { MachineShared } from '../src/machine/shared.js';
import type { EngineFault } from '../src/machine/sim.js';
import { benchLayout, type BenchLayout, type BenchProgramOptions } from './programs/bench-programs.js';
import { hostMs } from './host.js';

const C = ControlLayout.fields;
const F = CpuLayout.fields;

export const BENCH_PROGRAM = distFile('bench/programs/bench-programs.ts');

export function benchConfig(engine: EngineName, cpus: number, options: BenchProgramOptions, extra: Partial<MachineConfig> = {}): MachineConfig {
  return {
    cpus,
    engine,
    seed: 1,
    program: { module: BENCH_PROGRAM, options },
    firmware: { sdei: false, quirks: [] },
    limits: { hostTimeoutMs: 120_000, guestTimeNs: 600e9, maxInstructions: 1e12 },
    // Guest time = host time while a CPU runs, so guest clock reads are host nanoseconds.
    timeScale: 1,
    ...extra,
  };
}

/** Runs a bench program and checks that it ended as it should (powered off, no fault). */
export async function runBenchProgram(engine: EngineName, cpus: number, options: BenchProgramOptions, extra: Partial<MachineConfig> = {}): Promise<{ r: MachineResult; L: BenchLayout }> {
  const r = await runMachine(benchConfig(engine, cpus, options, extra));
  if (r.outcome !== 'poweroff' || r.fault) {
    throw new Error(`bench program ${options.bench} on ${cpus} CPUs (${engine}) ended ${r.outcome}${r.fault ? `: ${r.fault.message}` : ''}`);
  }
  return { r, L: benchLayout(r.image.textEnd, cpus) };
}

export function peek64(m: MachineShared, addr: number): number {
  const i = (addr - m.map.ramBase) >> 2;
  return (Atomics.load(m.ram32, i) >>> 0) + Atomics.load(m.ram32, i + 1) * 0x1_0000_0000;
}

export function peek32(m: MachineShared, addr: number): number {
  return Atomics.load(m.ram32, (addr - m.map.ramBase) >> 2);
}

export interface HeldRun {
  readonly m: MachineShared;
  readonly L: BenchLayout;
  readonly program: GuestProgram;
  readonly hostMs: number;
}

/** Harness handle passed to `during`: the machine and what the harness may do to it. */
export interface Holder {
  readonly m: MachineShared;
  readonly L: BenchLayout;
  /** Resolves once the guest word at `addr` is `value` (polled every `pollMs`); rejects if the run ends first. */
  waitWord(addr: number, value: number, timeoutMs: number): Promise<void>;
  /** Stores `value` at `addr` and signals an event to `cpu` (as a store to its monitored address would). */
  pokeAndEvent(addr: number, value: number, cpu: number): void;
}

/**
 * Runs a bench program in the threads engine while the harness holds one
 * runnable reference (see the file comment), calling `during` concurrently.
 */
export async function runHeld(cpus: number, options: BenchProgramOptions, during: (h: Holder) => Promise<void>): Promise<HeldRun> {
  const cfg = benchConfig('threads', cpus, options);
  const program = await loadProgram(cfg.program, { ncpus: cpus });
  const m = prepareMachine(cfg, program);
  const L = benchLayout(program.image.textEnd, cpus);
  // The hold: RUNNABLE never reaches 0 while the harness may still act.
  Atomics.add(m.ctl32, C.RUNNABLE.index, 1);
  const engine = runThreads(m, cfg, hostMs);
  const holder: Holder = {
    m,
    L,
    async waitWord(addr, value, timeoutMs) {
      const end = hostMs() + timeoutMs;
      while (peek32(m, addr) !== value) {
        if (!machineRunning(m)) throw new Error(`the run ended (${outcomeName(Atomics.load(m.ctl32, C.STATE.index))}) before 0x${addr.toString(16)} became ${value}`);
        if (hostMs() > end) throw new Error(`timed out waiting for guest word 0x${addr.toString(16)} to become ${value}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    pokeAndEvent(addr, value, cpu) {
      Atomics.store(m.ram32, (addr - m.map.ramBase) >> 2, value);
      // Event register first, then the attention bit and wake-up (runstate protocol).
      Atomics.store(m.cpu32, m.cpuI(cpu, F.EVENT_REG.index), 1);
      kick(m, cpu, ATTN_EVENT);
    },
  };
  let failure: unknown = null;
  try {
    await during(holder);
  } catch (e) {
    failure = e;
    endRun(m, 'aborted', -1, 0, 0);
  }
  const out: { hostMs: number; fault: EngineFault | null } = await engine;
  Atomics.sub(m.ctl32, C.RUNNABLE.index, 1);
  if (failure) throw failure;
  const outcome = outcomeName(Atomics.load(m.ctl32, C.STATE.index));
  if (outcome !== 'poweroff' || out.fault) {
    throw new Error(`bench program ${options.bench} on ${cpus} CPUs (threads, held) ended ${outcome}${out.fault ? `: ${out.fault.message}` : ''}`);
  }
  return { m, L, program, hostMs: out.hostMs };
}

/**
 * Instructions retired per second by one busy CPU (bench program `busy`: a
 * loop of NOPs) in each engine, next to the runtime's own limit measured in
 * the same process: a bare generator loop doing the same number of yields,
 * driven the way the core drives guest code (`next(ret)`, one Atomics.load of
 * an interrupt word per step).
 *
 * sim: retired / engine host time. threads: the NOPs between the guest's two
 * clock reads / the guest time between them (guest time follows the host clock
 * at scale 1 while the CPU runs), so worker hand-off is not counted. Each
 * figure is the best of `instructionReps` interleaved repetitions.
 *
 * Instruction costs (sim): host ns per retired instruction of a `busy` loop
 * whose body is one kind of instruction (BUSY_OPS), next to the NOP loop's
 * in the same repetition: what a run's instruction mix costs, kind by kind.
 *
 * The cold-code limit (cold-generators.ts): the bare loop spread over many
 * distinct generator functions, next to the same loop over one.
 */
import type { BenchConfig } from './config.js';
import { runBenchProgram, peek64 } from './harness.js';
import { BG, BUSY_OPS, type BusyOp } from './programs/bench-programs.js';
import { hostNs } from './host.js';
import { measureColdGenerators, type ColdGeneratorFigures } from './cold-generators.js';

export interface InstructionFigures {
  readonly simPerSec: number;
  readonly threadsPerSec: number;
  readonly bareGeneratorPerSec: number;
  readonly ratioSim: number;
  readonly ratioThreads: number;
  /** Yields per bare measurement (= NOPs the busy CPU retires). */
  readonly steps: number;
  /** Sim: host ns per retired instruction of a loop of each kind (best of the repetitions). */
  readonly opNs: Readonly<Record<BusyOp, number>>;
  /** Loop iterations per instruction-cost measurement. */
  readonly opIterations: number;
  /** The bare generator loop over many distinct functions (cold code) and over one (cold-generators.ts). */
  readonly cold: ColdGeneratorFigures;
}

function* bareGuest(n: number): Generator<number, void, number> {
  for (let i = 0; i < n; i++) yield 0;
}

/** The bare limit: `steps` yields of a generator with one Atomics.load interrupt check per step. */
export function bareGeneratorPerSec(steps: number): number {
  const attn = new Int32Array(new SharedArrayBuffer(64));
  const g = bareGuest(steps);
  const ret = 0;
  let retired = 0;
  const t0 = hostNs();
  for (;;) {
    if (Atomics.load(attn, 3) !== 0) break; // the per-instruction interrupt check
    const r = g.next(ret);
    if (r.done === true) break;
    retired++;
  }
  return retired / ((hostNs() - t0) / 1e9);
}

/** Sim: instructions retired per host second by a `busy` loop of `n` iterations of `op` (the bring-up's few dozen included). */
export async function simPerSec(n: number, op: BusyOp = 'nop'): Promise<number> {
  const { r } = await runBenchProgram('sim', 1, { bench: 'busy', iterations: n, op });
  return r.cpus[0]!.retired / (r.hostMs / 1e3);
}

export async function threadsPerSec(n: number): Promise<number> {
  const { r, L } = await runBenchProgram('threads', 1, { bench: 'busy', iterations: n });
  const ns = peek64(r.shared, L.glob(BG.T_END)) - peek64(r.shared, L.glob(BG.T_START));
  return n / (ns / 1e9);
}

export async function measureInstructions(cfg: BenchConfig): Promise<Omit<InstructionFigures, 'cold'>> {
  const n = cfg.instructions;
  // Warm-up: JIT of the core's loop, the bare loop, and the worker pool.
  bareGeneratorPerSec(Math.min(n, 200_000));
  await simPerSec(Math.min(n, 200_000));
  await threadsPerSec(Math.min(n, 200_000));
  const bare: number[] = [];
  const sim: number[] = [];
  const thr: number[] = [];
  for (let rep = 0; rep < cfg.instructionReps; rep++) {
    bare.push(bareGeneratorPerSec(n));
    sim.push(await simPerSec(n));
    thr.push(await threadsPerSec(n));
  }
  // Best of the repetitions on each side: on a shared host a throughput figure can only be
  // pulled down by other load, so the best run is the closest to what the code can do.
  const b = Math.max(...bare);
  const s = Math.max(...sim);
  const t = Math.max(...thr);
  // Instruction costs: every kind once per repetition (interleaved, so a burst hits one of each), best of them.
  const m = cfg.opIterations;
  const opNs = Object.fromEntries(BUSY_OPS.map((op) => [op, Infinity])) as Record<BusyOp, number>;
  for (const op of BUSY_OPS) await simPerSec(Math.min(m, 20_000), op); // JIT of each loop body
  for (let rep = 0; rep < cfg.instructionReps; rep++) {
    for (const op of BUSY_OPS) opNs[op] = Math.min(opNs[op], 1e9 / (await simPerSec(m, op)));
  }
  return { simPerSec: s, threadsPerSec: t, bareGeneratorPerSec: b, ratioSim: s / b, ratioThreads: t / b, steps: n, opNs, opIterations: m };
}

/**
 * The cold-code figures (cold-generators.ts), best of `instructionReps`. The suite measures them
 * after every sim figure, so that the hundreds of functions they compile cannot touch those.
 */
export function measureCold(cfg: BenchConfig): ColdGeneratorFigures {
  const C = cfg.cold;
  return measureColdGenerators(C.functions, C.steps, C.rounds, C.warmRounds, cfg.instructionReps);
}

/**
 * Sim-engine schedulers: which runnable CPU retires its next instructions,
 * and for how long (STYLE.md rule 10; loom/shuttle's Scheduler interface).
 *
 * A decision is (cpu, quantum): the CPU runs up to `quantum` instructions or
 * until it waits. Strategies:
 *  - `random`: a uniformly chosen runnable CPU for a geometric quantum;
 *  - `pct`: Probabilistic Concurrency Testing (Burckhardt et al., ASPLOS 2010)
 *    with depth d: CPUs get distinct random priorities, the highest-priority
 *    runnable CPU runs, and at d-1 random change points the running CPU drops
 *    below all others. EXT: a CPU that has run `maxRun` consecutive quanta is
 *    demoted too, so a CPU that never waits cannot starve the rest forever.
 *    EXT: and a CPU that has stayed runnable for `maxRun` quanta per runnable
 *    CPU without running is chosen for one quantum (its priority unchanged).
 *    The first rule alone let two CPUs starve the rest: a busy one whose run
 *    of consecutive quanta a higher-priority CPU kept restarting by waking
 *    every microsecond (an entry-test waker), so it was never demoted. Real
 *    CPUs all run at once: a CPU that never runs again is not a schedule any
 *    machine has, and such runs used to end `hung` at the instruction budget.
 * All randomness comes from the scheduler's seeded Rng: the same seed gives the
 * same schedule.
 */
import { Rng } from './rng.js';

export interface SchedulerSpec {
  readonly kind: 'random' | 'pct';
  /** PCT depth (number of priority change points + 1). */
  readonly depth?: number;
  /** Mean quantum in instructions (random), or fixed quantum (pct). */
  readonly quantum?: number;
}

export interface Scheduler {
  readonly spec: SchedulerSpec;
  /** Chooses among `runnable[0 .. count)` (CPU numbers, ascending); returns the CPU and sets `quantum`. */
  next(runnable: ArrayLike<number>, count: number): number;
  quantum: number;
  /** Decisions made so far. */
  readonly steps: number;
}

export const DEFAULT_SCHEDULER: SchedulerSpec = { kind: 'random', quantum: 24 };

export function makeScheduler(spec: SchedulerSpec, seed: number, ncpus: number): Scheduler {
  return spec.kind === 'pct' ? new PctScheduler(spec, seed, ncpus) : new RandomScheduler(spec, seed);
}

class RandomScheduler implements Scheduler {
  private readonly rng: Rng;
  private readonly mean: number;
  quantum = 1;
  steps = 0;
  constructor(readonly spec: SchedulerSpec, seed: number) {
    this.rng = new Rng(seed);
    this.mean = spec.quantum ?? 24;
  }
  next(runnable: ArrayLike<number>, count: number): number {
    this.steps++;
    this.quantum = this.rng.geometric(this.mean);
    return count === 1 ? runnable[0]! : runnable[this.rng.int(count)]!;
  }
}

class PctScheduler implements Scheduler {
  private readonly rng: Rng;
  private readonly prio: Float64Array;
  private readonly changePoints: number[];
  private lowest = 0;
  private last = -1;
  private run = 0;
  private readonly maxRun = 256;
  /** The decision at which each CPU's current runnable stretch began, or it last ran. */
  private readonly waitingSince: Float64Array;
  /** The last decision at which each CPU was runnable. */
  private readonly seenAt: Float64Array;
  quantum: number;
  steps = 0;
  constructor(readonly spec: SchedulerSpec, seed: number, ncpus: number) {
    this.rng = new Rng(seed);
    this.quantum = spec.quantum ?? 16;
    this.prio = new Float64Array(ncpus);
    this.waitingSince = new Float64Array(ncpus);
    this.seenAt = new Float64Array(ncpus).fill(-1);
    // Distinct random initial priorities above every demoted value.
    const order = Array.from({ length: ncpus }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((cpu, rank) => (this.prio[cpu] = ncpus + rank));
    const depth = Math.max(1, spec.depth ?? 3);
    // Change points over an expected horizon of decisions (k in the paper).
    const horizon = 4096;
    this.changePoints = Array.from({ length: depth - 1 }, () => 1 + this.rng.int(horizon)).sort((a, b) => a - b);
  }
  next(runnable: ArrayLike<number>, count: number): number {
    this.steps++;
    if (this.last >= 0 && (this.changePoints[0] === this.steps || this.run >= this.maxRun)) {
      if (this.changePoints[0] === this.steps) this.changePoints.shift();
      this.prio[this.last] = --this.lowest;
      this.run = 0;
    }
    const steps = this.steps;
    const starveAfter = this.maxRun * count;
    let best = -1;
    let starved = -1;
    let starvedSince = Infinity;
    for (let i = 0; i < count; i++) {
      const c = runnable[i]!;
      if (this.seenAt[c] !== steps - 1) this.waitingSince[c] = steps; // a new runnable stretch
      this.seenAt[c] = steps;
      if (best < 0 || this.prio[c]! > this.prio[best]!) best = c;
      const since = this.waitingSince[c]!;
      if (steps - since > starveAfter && since < starvedSince) {
        starved = c;
        starvedSince = since;
      }
    }
    if (starved >= 0) best = starved; // the longest-starved CPU, for one quantum
    this.waitingSince[best] = steps;
    if (best === this.last) this.run++;
    else this.run = 0;
    this.last = best;
    return best;
  }
}

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
  quantum: number;
  steps = 0;
  constructor(readonly spec: SchedulerSpec, seed: number, ncpus: number) {
    this.rng = new Rng(seed);
    this.quantum = spec.quantum ?? 16;
    this.prio = new Float64Array(ncpus);
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
    let best = runnable[0]!;
    for (let i = 1; i < count; i++) {
      const c = runnable[i]!;
      if (this.prio[c]! > this.prio[best]!) best = c;
    }
    if (best === this.last) this.run++;
    else this.run = 0;
    this.last = best;
    return best;
  }
}

/**
 * The sim engine's runnable CPUs, in ascending order (the order the scheduler
 * chooses from, so the same seed gives the same schedule), kept up to date
 * change by change: a CPU is added when a wake moves it to RUNNING
 * (MachineShared.onWake) and removed when its quantum ends in a wait or power
 * off. Perf: rebuilding the list by scanning every CPU's run state after each
 * of those changes was O(CPUs) per change, O(CPUs^2) per run: about 3.5% of a
 * 256-CPU run and 1% of a 64-CPU one.
 */
export class RunnableList {
  /** cpus[0 .. count) ascending. */
  readonly cpus: Int32Array;
  count = 0;

  constructor(ncpus: number) {
    this.cpus = new Int32Array(ncpus);
  }

  /** Index of the first entry >= cpu. */
  private lowerBound(cpu: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cpus[mid]! < cpu) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(cpu: number): boolean {
    const i = this.lowerBound(cpu);
    return i < this.count && this.cpus[i] === cpu;
  }

  add(cpu: number): void {
    const i = this.lowerBound(cpu);
    if (i < this.count && this.cpus[i] === cpu) return;
    this.cpus.copyWithin(i + 1, i, this.count);
    this.cpus[i] = cpu;
    this.count++;
  }

  remove(cpu: number): void {
    const i = this.lowerBound(cpu);
    if (i >= this.count || this.cpus[i] !== cpu) return;
    this.cpus.copyWithin(i, i + 1, this.count);
    this.count--;
  }
}

/**
 * How the model reads and writes shared words: with Atomics when CPUs run on
 * several threads (threads engine), with plain typed-array accesses when one
 * thread runs them all (sim engine), where the two mean exactly the same.
 *
 * Perf: on Node 20 `Atomics.load` and `Atomics.store` are not inlined: each is
 * a builtin call of ~12-18 ns, against ~0.6 ns for a plain access (measured
 * here). A sim run made ~25,000 of them, about 14% of its time. Only the hot
 * paths take this choice (the step loop's attention check, guest loads and
 * stores, frame records, pt_regs, the GIC's candidate scan); everything else
 * keeps Atomics in both engines.
 */

/** Loads word `i` of `a`: a plain read when `plain` (one thread runs every CPU), else Atomics.load. */
export function load32(plain: boolean, a: Int32Array, i: number): number {
  return plain ? a[i]! : Atomics.load(a, i);
}

/** Stores word `i` of `a`: a plain write when `plain`, else Atomics.store. */
export function store32(plain: boolean, a: Int32Array, i: number, v: number): void {
  if (plain) a[i] = v;
  else Atomics.store(a, i, v);
}

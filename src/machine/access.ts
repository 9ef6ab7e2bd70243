/**
 * How the model reads and writes shared words: with Atomics when CPUs run on
 * several threads (threads engine), with plain typed-array accesses when one
 * thread runs them all (sim engine), where the two mean exactly the same.
 *
 * Perf: on Node 20 `Atomics.load` and `Atomics.store` are not inlined: each is
 * a builtin call of ~12-18 ns, against ~0.6 ns for a plain access (measured
 * here), and the read-modify-writes neither. A sim run made ~25,000 loads and
 * stores, about 14% of its time, and the read-modify-writes were 5% of its
 * samples more. The model's hot paths take this choice: the step loop's
 * attention check and event register, guest loads, stores and atomics,
 * exclusive monitors, frame records, pt_regs, the runstate wake protocol, the
 * redistributor and the CPU interface, SGI delivery, the GIC's candidate scan
 * and the trace HEAD publish. Code that runs a few times a run (firmware
 * state, the distributor's registers, the end of a run) keeps Atomics in both
 * engines.
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

/*
 * Read-modify-writes, same rule. Each returns the old value as the Atomics
 * operation does, with the same int32 wrap-around (a plain Int32Array store
 * converts with ToInt32, as Atomics converts its operand).
 */

/** Atomics.add, or its plain equivalent when `plain`. */
export function add32(plain: boolean, a: Int32Array, i: number, v: number): number {
  if (!plain) return Atomics.add(a, i, v);
  const old = a[i]!;
  a[i] = old + v;
  return old;
}

/** Atomics.or, or its plain equivalent when `plain`. */
export function or32(plain: boolean, a: Int32Array, i: number, v: number): number {
  if (!plain) return Atomics.or(a, i, v);
  const old = a[i]!;
  a[i] = old | v;
  return old;
}

/** Atomics.and, or its plain equivalent when `plain`. */
export function and32(plain: boolean, a: Int32Array, i: number, v: number): number {
  if (!plain) return Atomics.and(a, i, v);
  const old = a[i]!;
  a[i] = old & v;
  return old;
}

/** Atomics.exchange, or its plain equivalent when `plain`. */
export function exchange32(plain: boolean, a: Int32Array, i: number, v: number): number {
  if (!plain) return Atomics.exchange(a, i, v);
  const old = a[i]!;
  a[i] = v;
  return old;
}

/** Atomics.compareExchange, or its plain equivalent when `plain` (the expected value compared as int32). */
export function cas32(plain: boolean, a: Int32Array, i: number, expected: number, replacement: number): number {
  if (!plain) return Atomics.compareExchange(a, i, expected, replacement);
  const old = a[i]!;
  if (old === (expected | 0)) a[i] = replacement;
  return old;
}

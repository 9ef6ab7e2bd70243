/**
 * Online CPU bookkeeping (kernel/cpu.c set_cpu_online, include/linux/cpumask.h):
 * the online mask is a bitmap in guest memory and __num_online_cpus an atomic
 * counter beside it.
 */
import type { Guest } from '../../cpus/isa.js';
import { GV } from './layout.js';
import type { K } from './kernel.js';

function maskWord(k: K, base: number, cpu: number): number {
  return k.L.g(base) + 4 * (cpu >> 5);
}

/**
 * set_cpu_online(cpu, online): test-and-set/clear of the bit, and only on a
 * real change an atomic update of __num_online_cpus. Both are fully ordered
 * atomics, so earlier stores (a crash note) are visible before the count drops.
 */
export function* set_cpu_online(k: K, cpu: number, online: boolean): Guest<void> {
  const bit = 1 << (cpu & 31);
  const w = maskWord(k, GV.cpu_online_mask, cpu);
  if (online) {
    const old = yield k.c.ldset(w, bit);
    if (!(old & bit)) yield k.c.ldadd(k.L.g(GV.__num_online_cpus), 1);
  } else {
    const old = yield k.c.ldclr(w, bit);
    if (old & bit) yield k.c.ldadd(k.L.g(GV.__num_online_cpus), -1);
  }
}

export function* cpu_online(k: K, cpu: number): Guest<boolean> {
  const v = yield k.c.ldr(maskWord(k, GV.cpu_online_mask, cpu));
  return (v & (1 << (cpu & 31))) !== 0;
}

export function* num_online_cpus(k: K): Guest<number> {
  return yield k.c.ldr(k.L.g(GV.__num_online_cpus));
}

/** num_other_online_cpus(): the online count minus one if the caller is online (arch/arm64/kernel/smp.c). */
export function* num_other_online_cpus(k: K): Guest<number> {
  const n = yield* num_online_cpus(k);
  return (yield* cpu_online(k, k.cpu)) ? n - 1 : n;
}

/** Reads the cpumask at guest address `addr` (one load per word). */
export function* read_cpumask(k: K, addr: number): Guest<number[]> {
  const out: number[] = [];
  const words = Math.ceil(k.ncpus / 32);
  for (let w = 0; w < words; w++) {
    const v = yield k.c.ldr(addr + 4 * w);
    for (let b = 0; b < 32; b++) if (v & (1 << b) && w * 32 + b < k.ncpus) out.push(w * 32 + b);
  }
  return out;
}

/** mask = cpu_online_mask without the caller, stored into the cpumask at `dst` (cpumask_copy + cpumask_clear_cpu). */
export function* snapshot_others(k: K, dst: number): Guest<number[]> {
  const words = Math.ceil(k.ncpus / 32);
  const out: number[] = [];
  for (let w = 0; w < words; w++) {
    let v = yield k.c.ldr(k.L.g(GV.cpu_online_mask) + 4 * w);
    if (w === k.cpu >> 5) v &= ~(1 << (k.cpu & 31));
    yield k.c.str(k.L.g(dst) + 4 * w, v);
    for (let b = 0; b < 32; b++) if (v & (1 << b)) out.push(w * 32 + b);
  }
  return out;
}

/**
 * A minimal bare-metal runtime for guest programs that are not the kernel
 * model: the machine and firmware test programs (test/programs/) and the
 * benchmark programs (bench/programs/). It brings the machine up the way
 * firmware and Linux do (CPU 0 cold-booted, the others through PSCI CPU_ON;
 * each CPU sets its stack and VBAR_EL1 and initialises its GIC CPU interface
 * as gic_cpu_init does), waits until every CPU is online, then has every CPU
 * call the program's main function and park.
 */
import { guestFn, type Guest, type GuestFunction, type PlacedFn } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { mpidrOf } from '../../cpus/layout.js';
import { PSCI } from '../../firmware/psci.js';
import { GICR_BASE, GICR_STRIDE, GICR_SGI_OFFSET } from './memory.js';
import type { CpuCore } from '../../cpus/core.js';

/** What the bring-up needs of a program's per-CPU context. */
export interface BareContext {
  readonly c: CpuCore;
  readonly cpu: number;
  readonly L: { readonly ncpus: number; glob(off: number): number; stackTop(cpu: number): number };
  /** The program's placed functions, by name. */
  readonly fn: Record<string, PlacedFn>;
}

/** Sleeps in WFE (woken by a store to the monitored word) until the word at `addr` satisfies `pred`. */
export function* waitWord(t: { readonly c: CpuCore }, addr: number, pred: (v: number) => boolean): Guest<number> {
  for (;;) {
    const v = yield t.c.ldxr(addr);
    if (pred(v)) {
      yield t.c.clrex();
      return v;
    }
    yield t.c.wfe();
  }
}

/** Linux gic_cpu_init and gic_cpu_sys_reg_init for the calling CPU. */
export function* gicCpuInit(t: { readonly c: CpuCore; readonly cpu: number }): Guest<void> {
  const c = t.c;
  const sgi = GICR_BASE + t.cpu * GICR_STRIDE + GICR_SGI_OFFSET;
  // SGIs 0-7 enabled at the default IRQ priority 0xc0 (Non-secure view).
  for (let i = 0; i < 8; i += 4) yield c.str(sgi + 0x400 + i, 0xc0c0c0c0 | 0);
  yield c.str(sgi + 0x100, 0xff);
  // PMR = 0xe0 (unmasked), BPR1 = 0, EOImode 0, Group 1 enabled.
  yield c.msr(SYS.ICC_PMR_EL1, 0xe0);
  yield c.msr(SYS.ICC_BPR1_EL1, 0);
  yield c.msr(SYS.ICC_CTLR_EL1, 0);
  yield c.msr(SYS.ICC_IGRPEN1_EL1, 1);
  yield c.isb();
}

export interface BringUpOptions<T extends BareContext> {
  /** Offset (from the global data) of the word counting CPUs online. */
  readonly online: number;
  /** Name of the program function every CPU calls once all are online. */
  readonly main: string;
  /** Extra per-CPU set-up after stack, VBAR_EL1 and GIC (for instance TPIDR_EL1). */
  readonly setup?: (t: T) => Guest<void>;
  /** Slots reserved for each entry function (their size in the image). */
  readonly size?: number;
}

/**
 * The bring-up functions: `primary_entry` (the program's entry point, on CPU
 * 0), `secondary_entry` (the CPU_ON entry point of the others) and
 * `cpu_park_loop` (where a CPU ends up when main returns).
 */
export function bringUpFunctions<T extends BareContext>(o: BringUpOptions<T>): GuestFunction<T>[] {
  const size = o.size ?? 32;
  function* common(t: T): Guest<void> {
    const c = t.c;
    yield c.setSp(t.L.stackTop(t.cpu));
    yield c.msr(SYS.VBAR_EL1, c.image.vbar);
    if (o.setup) yield* o.setup(t);
    yield* gicCpuInit(t);
    yield c.ldadd(t.L.glob(o.online), 1);
  }
  function* runMain(t: T): Guest<void> {
    yield* waitWord(t, t.L.glob(o.online), (v) => v === t.L.ncpus);
    yield t.c.bl(t.fn[o.main]!);
    yield t.c.bl(t.fn.cpu_park_loop!);
  }
  const primary = guestFn<T>('primary_entry', function* (t) {
    yield* common(t);
    for (let cpu = 1; cpu < t.L.ncpus; cpu++) {
      const r = yield t.c.smc(PSCI.CPU_ON64, mpidrOf(cpu) & 0xffffff, t.fn.secondary_entry!.base, cpu);
      if (r !== 0) throw new Error(`CPU_ON(${cpu}) returned ${r}`);
    }
    yield* runMain(t);
  }, { size });
  const secondary = guestFn<T>('secondary_entry', function* (t) {
    yield* common(t);
    yield* runMain(t);
  }, { size });
  const park = guestFn<T>('cpu_park_loop', function* (t) {
    const c = t.c;
    const top = c.label();
    for (;;) {
      yield c.wfe();
      yield c.wfi();
      yield c.b(top);
    }
  }, { size: 8 });
  return [primary, secondary, park];
}

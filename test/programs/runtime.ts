/**
 * The runtime of the machine-level test programs (not the Linux model): the
 * shared bare-metal bring-up (src/machine/bare-metal.ts: PSCI CPU_ON, a
 * Linux-like GIC CPU-interface set-up), exception vectors that save pt_regs,
 * count interrupts and record synchronous exceptions, and an SDEI handler
 * that records what it was entered with.
 */
import { guestFn, type Guest, type GuestFunction, type PlacedFn } from '../../cpus/isa.js';
import { KernelImage } from '../../cpus/image.js';
import { SYS } from '../../cpus/sysregs.js';
import type { CpuCore } from '../../cpus/core.js';
import { RAM_BASE, PAGE_SIZE } from '../../src/machine/memory.js';
import { bringUpFunctions, waitWord, gicCpuInit } from '../../src/machine/bare-metal.js';
import { PSCI } from '../../firmware/psci.js';
import { SDEI } from '../../firmware/sdei/main.js';
import { sgirForCluster } from '../../src/gic/sgi.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import type { GuestProgram } from '../../src/machine/program.js';

export const TEXT_BASE = RAM_BASE + 0x20_0000;
export const PSCI_SYSTEM_OFF = PSCI.SYSTEM_OFF;
export const STACK_SIZE = 0x4000;
export const PERCPU_SIZE = 0x400;

/** Per-CPU data block offsets. */
export const PC = {
  IRQS: 0x00,
  LAST_INTID: 0x04,
  RECEIVED: 0x08,
  SPURIOUS: 0x0c,
  COUNTS: 0x20, // 16 words: IRQs taken per SGI INTID
  ESR: 0x60,
  FAR: 0x68, // 64-bit
  ELR: 0x70, // 64-bit: ELR of the last exception recorded
  REGS_PC: 0x78, // 64-bit
  SCRATCH: 0x80, // 32 words (64-bit slots 0x80..0x17f)
  SDEI: 0x180, // x0..x3 at entry, 64-bit each, then EVENT_CONTEXT results 4 x 64-bit
  MAILBOX: 0x200, // 16 words: one bit per sender CPU
} as const;

export interface Layout {
  readonly ncpus: number;
  readonly data: number;
  readonly percpu: number;
  readonly stacks: number;
  readonly ramBytes: number;
  readonly image: KernelImage;
  glob(off: number): number;
  cpu(cpu: number, off: number): number;
  stackTop(cpu: number): number;
}

export interface TCtx {
  readonly c: CpuCore;
  readonly cpu: number;
  readonly L: Layout;
  readonly fn: Record<string, PlacedFn<TCtx>>;
  readonly opts: TestOptions;
}

export interface TestOptions {
  readonly test: string;
  readonly iterations?: number;
  readonly [k: string]: unknown;
}

export type MainBody = (t: TCtx) => Guest;

/** Global words. */
export const G = { ONLINE: 0x0, READY: 0x4, DONE: 0x8, COUNTER: 0xc, PHASE: 0x10, RESULT: 0x18 } as const;

export { waitWord, gicCpuInit };

/**
 * Waits until the word at `addr` satisfies `pred`, sleeping in WFI between
 * interrupts. The check runs with IRQs masked and WFI wakes on a masked
 * pending interrupt, so an IRQ arriving between the check and the WFI is not
 * lost (the idiom of arch_cpu_idle); IRQs are unmasked again to take it.
 */
export function* waitIrqWord(t: TCtx, addr: number, pred: (v: number) => boolean): Guest<number> {
  const c = t.c;
  for (;;) {
    yield c.daifSet(2);
    const v = yield c.ldr(addr);
    if (pred(v)) {
      yield c.daifClr(2);
      return v;
    }
    yield c.wfi();
    yield c.daifClr(2);
  }
}

export function* sendSgi(t: TCtx, target: number, intid: number): Guest<void> {
  yield t.c.dsb(); // dsb(ishst) before the SGI (gic_ipi_send_mask)
  yield t.c.msr(SYS.ICC_SGI1R_EL1, sgirForCluster(intid, Math.floor(target / 16), [target % 16]));
  yield t.c.isb();
}

export function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function buildFunctions(main: MainBody): { vectors: { offset: number; fn: GuestFunction<TCtx> }[]; functions: GuestFunction<TCtx>[] } {
  const irq = guestFn<TCtx>('el1h_64_irq', function* (t) {
    const c = t.c;
    const regs = yield c.saveRegs();
    const elr = yield c.mrs(SYS.ELR_EL1);
    yield c.str64(t.L.cpu(t.cpu, PC.ELR), elr);
    const r = yield c.bl(t.fn.handle_irq!, regs);
    void r;
    yield c.restoreRegs(regs, false);
    yield c.eret();
  }, { size: 32 });

  const handleIrq = guestFn<TCtx>('handle_irq', function* (t) {
    const c = t.c;
    const b = t.L.cpu(t.cpu, 0);
    for (;;) {
      const intid = yield c.mrs(SYS.ICC_IAR1_EL1);
      if (intid >= 1020) {
        yield c.ldadd(b + PC.SPURIOUS, 1);
        return 0;
      }
      yield c.ldadd(b + PC.IRQS, 1);
      yield c.str(b + PC.LAST_INTID, intid);
      if (intid < 16) yield c.ldadd(b + PC.COUNTS + 4 * intid, 1);
      if (intid === 1) {
        let got = 0;
        for (let w = 0; w < 16; w++) got += popcount((yield c.swp(b + PC.MAILBOX + 4 * w, 0)) >>> 0);
        yield c.ldadd(b + PC.RECEIVED, got);
      }
      if (t.fn.irq_hook) yield c.bl(t.fn.irq_hook, intid);
      yield c.msr(SYS.ICC_EOIR1_EL1, intid);
    }
  }, { size: 64 });

  const sync = guestFn<TCtx>('el1h_64_sync', function* (t) {
    const c = t.c;
    const regs = yield c.saveRegs();
    const b = t.L.cpu(t.cpu, 0);
    yield c.str(b + PC.ESR, yield c.mrs(SYS.ESR_EL1));
    yield c.str64(b + PC.FAR, yield c.mrs(SYS.FAR_EL1));
    yield c.str64(b + PC.ELR, yield c.mrs(SYS.ELR_EL1));
    yield c.str64(b + PC.REGS_PC, yield c.ldr64(regs + PT_REGS.PC));
    // A test that expects a synchronous exception ends the run from here.
    yield c.smc(PSCI_SYSTEM_OFF);
    for (;;) yield c.wfi();
  }, { size: 32 });

  const sdei = guestFn<TCtx>('test_sdei_handler', function* (t, ev, arg, pc, pstate) {
    const c = t.c;
    const b = t.L.cpu(t.cpu, PC.SDEI);
    yield c.str64(b, ev);
    yield c.str64(b + 8, arg);
    yield c.str64(b + 16, pc);
    yield c.str64(b + 24, pstate);
    for (let n = 0; n < 4; n++) yield c.str64(b + 32 + 8 * n, yield c.smc(SDEI.EVENT_CONTEXT, n));
    yield c.ldadd(t.L.glob(G.RESULT), 1);
    yield c.smc(SDEI.EVENT_COMPLETE, 0); // does not return
    throw new Error('SDEI_EVENT_COMPLETE returned');
  }, { size: 64 });

  const bringUp = bringUpFunctions<TCtx>({
    online: G.ONLINE,
    main: 'test_main',
    setup: function* (t) {
      yield t.c.msr(SYS.TPIDR_EL1, t.cpu);
    },
    size: 64,
  });

  const testMain = guestFn<TCtx>('test_main', (t) => main(t), { size: 256 });

  return {
    vectors: [{ offset: 0x200, fn: sync }, { offset: 0x280, fn: irq }],
    functions: [...bringUp, testMain, handleIrq, sdei],
  };
}

/** Builds a test program whose CPUs all run `main` once the machine is up. */
export function testProgram(opts: TestOptions, ncpus: number, main: MainBody, extra: GuestFunction<TCtx>[] = []): GuestProgram<TCtx> {
  const { vectors, functions } = buildFunctions(main);
  const image = new KernelImage({ textBase: TEXT_BASE, vectors, functions: [...functions, ...extra] });
  const data = image.textEnd;
  const percpu = data + PAGE_SIZE;
  const stacks = percpu + Math.ceil((ncpus * PERCPU_SIZE) / PAGE_SIZE) * PAGE_SIZE;
  const end = stacks + ncpus * STACK_SIZE;
  const ramBytes = Math.ceil((end - RAM_BASE) / PAGE_SIZE) * PAGE_SIZE;
  const L: Layout = {
    ncpus, data, percpu, stacks, ramBytes, image,
    glob: (off) => data + off,
    cpu: (cpu, off) => percpu + cpu * PERCPU_SIZE + off,
    stackTop: (cpu) => stacks + (cpu + 1) * STACK_SIZE,
  };
  const fn: Record<string, PlacedFn<TCtx>> = {};
  for (const f of image.fns) fn[f.name] = f as PlacedFn<TCtx>;
  return {
    image,
    ramBytes,
    entry: fn.primary_entry!.base,
    entryContext: 0,
    context: (core) => ({ c: core, cpu: core.cpu, L, fn, opts }),
  };
}

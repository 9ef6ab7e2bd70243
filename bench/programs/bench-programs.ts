/**
 * Guest programs for the benchmark suite (bench/): a small bare-metal runtime
 * (PSCI CPU_ON bring-up, a Linux-like GIC CPU-interface set-up) and one IRQ
 * vector whose FIRST instruction reads the guest clock, so an SGI's latency is
 * measured from the sender's instruction to the handler's first instruction.
 *
 * The bring-up is the shared bare-metal one (src/machine/bare-metal.ts).
 *
 * Programs (option `bench`):
 *  - `busy`: CPU 0 retires `iterations` NOPs between two clock reads, then
 *    powers the machine off; other CPUs park in WFI. With option `op`, the
 *    loop body is that instruction (or pair) instead of a NOP (BUSY_OPS): the
 *    per-instruction costs of the bench's instruction-cost rows.
 *  - `sgi-sleep` / `sgi-busy`: CPU 0 sends SGI 1 to CPU 1 `samples` times,
 *    waiting for each handler and then `gapNs` of guest time (spinning, so
 *    guest time follows the host clock and never skips) before the next one.
 *    CPU 1 waits in WFI (`sgi-sleep`) or retires NOPs (`sgi-busy`) with IRQs
 *    unmasked. Send and handler times go to the sample arrays.
 *  - `wake-all`: `rounds` times: CPUs 1..n-1 sleep in WFI with IRQs
 *    unmasked (counting themselves in ASLEEP); CPU 0 waits in WFE until the
 *    harness writes GO = round (bench/harness.ts), then sends one all-but-self
 *    SGI (IRM = 1). The harness watches ASLEEP and HANDLED; GO = rounds + 1
 *    powers the machine off.
 *
 * Guest time is the threads engine's host-scaled clock (scale 1), so the
 * timestamps are host nanoseconds as long as no idle skip happens inside a
 * measured interval: in `sgi-*` CPU 0 never sleeps; in `wake-all` the harness
 * holds a runnable reference while every CPU sleeps.
 */
import { guestFn, type Guest, type GuestFunction, type PlacedFn } from '../../cpus/isa.js';
import { KernelImage } from '../../cpus/image.js';
import { SYS } from '../../cpus/sysregs.js';
import { PSR_DAIF } from '../../cpus/pstate.js';
import type { CpuCore } from '../../cpus/core.js';
import { RAM_BASE, PAGE_SIZE } from '../../src/machine/memory.js';
import { bringUpFunctions, waitWord } from '../../src/machine/bare-metal.js';
import { PSCI } from '../../firmware/psci.js';
import { encodeSgir, sgirForCluster } from '../../src/gic/sgi.js';
import type { GuestProgram, ProgramGeometry } from '../../src/machine/program.js';

export const TEXT_BASE = RAM_BASE + 0x20_0000;
const STACK_SIZE = 0x2000;
const PERCPU_SIZE = 0x40;
/** Most samples a program records (the sample arrays are sized for this). */
export const MAX_SAMPLES = 20_000;

/** Global words (offsets from the data page). */
export const BG = {
  ONLINE: 0x00,
  READY: 0x04,
  /** Handlers run so far, over all CPUs. */
  HANDLED: 0x08,
  /** Written by the harness (host) to release CPU 0 in `wake-all`. */
  GO: 0x0c,
  /** CPUs that have reached their WFI loop (`wake-all`). */
  ASLEEP: 0x10,
  T_START: 0x20, // 64-bit guest ns
  T_END: 0x28, // 64-bit
  T_SEND: 0x30, // 64-bit: the all-but-self SGI's send time
} as const;

/** Per-CPU words. */
export const BPC = {
  /** 64-bit: guest ns at the first instruction of the last handler. */
  HANDLER_AT: 0x00,
  HANDLED: 0x08,
  /** 64-bit: the word `busy`'s memory ops use. */
  SCRATCH: 0x10,
} as const;

export type BenchProgramName = 'busy' | 'sgi-sleep' | 'sgi-busy' | 'wake-all';

/**
 * Loop bodies of `busy`, each what kernel code executes all the time: a RAM
 * load and store (32- and 64-bit), an atomic, BL to an empty function and its
 * RET, an inlined helper of one instruction run with `yield*` (no frame, a
 * generator per use), MRS and a masking MSR of DAIF, an SMC to the firmware
 * (PSCI_VERSION), and kernel_entry's pt_regs push with kernel_exit's reload.
 */
export const BUSY_OP_LABELS = {
  nop: 'NOP',
  ldr: 'LDR (32-bit, RAM)',
  str: 'STR (32-bit, RAM)',
  str64: 'STR (64-bit, RAM)',
  ldadd: 'LDADD',
  call: 'BL to an empty function, and its RET',
  'inline-helper': 'an LDR in an inlined helper (yield*)',
  mrs: 'MRS DAIF',
  'msr-mask': 'MSR DAIF, masking',
  smc: 'SMC PSCI_VERSION (EL3 and back)',
  'pt-regs': 'pt_regs push, and its reload (kernel_entry/exit)',
} as const;
export type BusyOp = keyof typeof BUSY_OP_LABELS;
export const BUSY_OPS = Object.keys(BUSY_OP_LABELS) as readonly BusyOp[];

export interface BenchProgramOptions {
  readonly bench: BenchProgramName;
  readonly iterations?: number;
  /** `busy`: the loop body (default `nop`). */
  readonly op?: BusyOp;
  readonly samples?: number;
  readonly gapNs?: number;
  /** `wake-all`: rounds of sleep, harness GO and all-but-self SGI. */
  readonly rounds?: number;
}

export interface BenchLayout {
  readonly ncpus: number;
  readonly data: number;
  readonly ramBytes: number;
  glob(off: number): number;
  cpu(cpu: number, off: number): number;
  /** 64-bit slot `i` of sample array `a` (0: send times, 1: handler times). */
  sample(a: 0 | 1, i: number): number;
  stackTop(cpu: number): number;
}

export interface BCtx {
  readonly c: CpuCore;
  readonly cpu: number;
  readonly L: BenchLayout;
  readonly fn: Record<string, PlacedFn<BCtx>>;
  readonly opts: BenchProgramOptions;
}

/** The layout a program of `ncpus` CPUs uses (the harness reads results with it). */
export function benchLayout(textEnd: number, ncpus: number): BenchLayout {
  const data = textEnd;
  const percpu = data + PAGE_SIZE;
  const samples = percpu + Math.ceil((ncpus * PERCPU_SIZE) / PAGE_SIZE) * PAGE_SIZE;
  const stacks = samples + Math.ceil((2 * MAX_SAMPLES * 8) / PAGE_SIZE) * PAGE_SIZE;
  const end = stacks + ncpus * STACK_SIZE;
  return {
    ncpus,
    data,
    ramBytes: Math.ceil((end - RAM_BASE) / PAGE_SIZE) * PAGE_SIZE,
    glob: (off) => data + off,
    cpu: (cpu, off) => percpu + cpu * PERCPU_SIZE + off,
    sample: (a, i) => samples + (a * MAX_SAMPLES + i) * 8,
    stackTop: (cpu) => stacks + (cpu + 1) * STACK_SIZE,
  };
}

/** Polls (LDR, never sleeping) until the word at `addr` satisfies `pred`. */
function* spinWord(t: BCtx, addr: number, pred: (v: number) => boolean): Guest<number> {
  for (;;) {
    const v = yield t.c.ldr(addr);
    if (pred(v)) return v;
  }
}

/** The one-instruction helper of op `inline-helper`, as Linux's static inlines are modelled (isa.ts). */
function* inlineHelper(t: BCtx, addr: number): Guest<number> {
  return yield t.c.ldr(addr);
}

const busy = function* (t: BCtx): Guest<void> {
  const c = t.c;
  if (t.cpu !== 0) return;
  const n = t.opts.iterations ?? 1_000_000;
  const word = t.L.cpu(0, BPC.SCRATCH);
  yield c.str64(t.L.glob(BG.T_START), yield c.now());
  switch (t.opts.op ?? 'nop') {
    case 'nop': for (let i = 0; i < n; i++) yield c.nop(); break;
    case 'ldr': for (let i = 0; i < n; i++) yield c.ldr(word); break;
    case 'str': for (let i = 0; i < n; i++) yield c.str(word, i); break;
    case 'str64': for (let i = 0; i < n; i++) yield c.str64(word, i); break;
    case 'ldadd': for (let i = 0; i < n; i++) yield c.ldadd(word, 1); break;
    case 'call': for (let i = 0; i < n; i++) yield c.bl(t.fn.bench_leaf!); break;
    case 'inline-helper': for (let i = 0; i < n; i++) yield* inlineHelper(t, word); break;
    case 'mrs': for (let i = 0; i < n; i++) yield c.mrs(SYS.DAIF); break;
    case 'msr-mask': for (let i = 0; i < n; i++) yield c.msr(SYS.DAIF, PSR_DAIF); break;
    case 'smc': for (let i = 0; i < n; i++) yield c.smc(PSCI.VERSION); break;
    case 'pt-regs':
      for (let i = 0; i < n; i++) {
        const regs = yield c.saveRegs();
        yield c.restoreRegs(regs, false);
      }
      break;
    default: throw c.fault(`unknown busy op '${String(t.opts.op)}'`, 'guest-code');
  }
  yield c.str64(t.L.glob(BG.T_END), yield c.now());
  yield c.smc(PSCI.SYSTEM_OFF);
};

function sgiLatency(targetBusy: boolean) {
  return function* (t: BCtx): Guest<void> {
    const c = t.c;
    const handled = t.L.glob(BG.HANDLED);
    if (t.cpu === 1) {
      yield c.daifClr(2);
      yield c.str(t.L.glob(BG.READY), 1);
      if (targetBusy) for (;;) yield c.nop();
      for (;;) yield c.wfi();
    }
    if (t.cpu !== 0) return;
    const n = Math.min(t.opts.samples ?? 100, MAX_SAMPLES);
    const gap = t.opts.gapNs ?? 100_000;
    const sgir = sgirForCluster(1, 0, [1]);
    yield* spinWord(t, t.L.glob(BG.READY), (v) => v === 1);
    for (let i = 0; i < n; i++) {
      yield* spinWord(t, handled, (v) => v === i);
      // Let the target settle (back asleep in WFI, or deep in its loop).
      const from = yield c.now();
      while ((yield c.now()) < from + gap) { /* spin: guest time follows the host */ }
      yield c.dsb();
      const at = yield c.now(); // the instruction right before the SGI write
      yield c.msr(SYS.ICC_SGI1R_EL1, sgir);
      yield c.str64(t.L.sample(0, i), at);
    }
    yield* spinWord(t, handled, (v) => v === n);
    yield c.smc(PSCI.SYSTEM_OFF);
  };
}

const wakeAll = function* (t: BCtx): Guest<void> {
  const c = t.c;
  const rounds = t.opts.rounds ?? 1;
  if (t.cpu !== 0) {
    yield c.daifClr(2);
    // One ASLEEP increment per round: WFI wakes for the SGI, the IRQ is taken, ERET comes back here.
    for (;;) {
      yield c.ldadd(t.L.glob(BG.ASLEEP), 1);
      yield c.wfi();
    }
  }
  // CPU 0 sleeps on GO only (the harness counts ASLEEP and HANDLED itself), so the handlers'
  // stores do not wake it 63 times per round: the figure is the wake-up of the others alone.
  for (let r = 1; r <= rounds; r++) {
    yield* waitWord(t, t.L.glob(BG.GO), (v) => v === r);
    yield c.dsb();
    const at = yield c.now();
    yield c.msr(SYS.ICC_SGI1R_EL1, encodeSgir({ intid: 1, irm: true }));
    yield c.str64(t.L.glob(BG.T_SEND), at);
  }
  yield* waitWord(t, t.L.glob(BG.GO), (v) => v === rounds + 1);
  yield c.smc(PSCI.SYSTEM_OFF);
};

const MAINS: Record<BenchProgramName, (t: BCtx) => Guest<void>> = {
  busy,
  'sgi-sleep': sgiLatency(false),
  'sgi-busy': sgiLatency(true),
  'wake-all': wakeAll,
};

function functions(main: (t: BCtx) => Guest<void>): { irq: GuestFunction<BCtx>; fns: GuestFunction<BCtx>[] } {
  const irq = guestFn<BCtx>('bench_irq', function* (t) {
    const c = t.c;
    const at = yield c.now(); // the handler's first instruction
    const regs = yield c.saveRegs();
    for (;;) {
      const intid = yield c.mrs(SYS.ICC_IAR1_EL1);
      if (intid >= 1020) break;
      yield c.str64(t.L.cpu(t.cpu, BPC.HANDLER_AT), at);
      const k = yield c.ldadd(t.L.cpu(t.cpu, BPC.HANDLED), 1);
      if (t.opts.bench !== 'wake-all' && k < MAX_SAMPLES) yield c.str64(t.L.sample(1, k), at);
      yield c.ldadd(t.L.glob(BG.HANDLED), 1);
      yield c.msr(SYS.ICC_EOIR1_EL1, intid);
    }
    yield c.restoreRegs(regs, false);
    yield c.eret();
  }, { size: 32 });

  const benchMain = guestFn<BCtx>('bench_main', (t) => main(t), { size: 64 });
  const leaf = guestFn<BCtx>('bench_leaf', function* () { return 0; }, { size: 4 });
  return { irq, fns: [...bringUpFunctions<BCtx>({ online: BG.ONLINE, main: 'bench_main' }), benchMain, leaf] };
}

export default function benchProgram(opts: BenchProgramOptions, geometry: ProgramGeometry): GuestProgram<BCtx> {
  const main = MAINS[opts.bench];
  if (!main) throw new Error(`unknown bench program '${String(opts.bench)}'`);
  const { irq, fns } = functions(main);
  const image = new KernelImage({ textBase: TEXT_BASE, vectors: [{ offset: 0x280, fn: irq }], functions: fns });
  const L = benchLayout(image.textEnd, geometry.ncpus);
  const fn: Record<string, PlacedFn<BCtx>> = {};
  for (const f of image.fns) fn[f.name] = f as PlacedFn<BCtx>;
  return {
    image,
    ramBytes: L.ramBytes,
    entry: fn.primary_entry!.base,
    entryContext: 0,
    context: (core) => ({ c: core, cpu: core.cpu, L, fn, opts }),
  };
}

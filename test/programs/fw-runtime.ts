/**
 * Guest-side machinery for the firmware tests (test/firmware.test.ts), on top
 * of the bare-metal runtime in runtime.ts:
 *
 *  - an "SMC script" interpreter: a CPU runs a list of JSON steps (an SMC
 *    whose x0 is recorded, a store to or a wait on a shared word, a DAIF
 *    write, a delay, a test-device interrupt, ...), so that most firmware
 *    cases are one table row in the test;
 *  - `fw_sdei_handler`, an SDEI handler that logs how it was entered (x0-x3,
 *    DAIF, ALLINT, SP, nesting level, optionally EVENT_CONTEXT x0-x17), runs
 *    the script configured for that event and ends with COMPLETE,
 *    COMPLETE_AND_RESUME or not at all;
 *  - `irq_hook` (called by the runtime's IRQ handler) counting IRQs per INTID
 *    and running a script per INTID;
 *  - `fw_restart` and `fw_resume`, entry points for CPU_ON and for a
 *    power-down CPU_SUSPEND, which set the CPU up again and run their own
 *    scripts.
 *
 * Everything is recorded in a region of RAM placed after the base runtime's
 * (FW below); the test reads it back with peek32/peek64. The handler and the
 * interpreter are inlined generators (`yield*`), never BL, so the SDEI
 * handler keeps SP and x29/x30 of the interrupted context, as the SDEI
 * handler contract requires (reference section 3.9).
 */
import { guestFn, type Guest, type GuestFunction } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { mpidrOf, ATTN_GIC } from '../../cpus/layout.js';
import { RAM_BASE } from '../../src/machine/memory.js';
import { DistributorLayout, SPI_BASE } from '../../src/gic/layout.js';
import { setPrivatePending } from '../../src/gic/redistributor.js';
import { kick } from '../../src/machine/runstate.js';
import { SDEI } from '../../firmware/sdei/main.js';
import type { MachineShared } from '../../src/machine/shared.js';
import { gicCpuInit, waitWord, sendSgi, PSCI_SYSTEM_OFF, TEXT_BASE, type TCtx, type TestOptions } from './runtime.js';


/** An SMC argument: a number, or a symbolic value resolved on the guest (see `resolve`). */
export type Arg = number | string;

/**
 * A location in the test region:
 *  `s<k>` shared word k (k < 64); `c<ev>@<cpu>` dispatches of event ev on cpu;
 *  `d<ev>@<cpu>` handler runs of ev on cpu that reached their end (before COMPLETE);
 *  `i<intid>@<cpu>` IRQs taken (intid < 64); `b<cpu>` boots through fw_restart/fw_resume.
 *  `@<cpu>` defaults to the CPU running the step.
 */
export type Loc = string;

/** One step of a script. Steps that record append one value to the CPU's results. */
export type Step =
  | { readonly smc: readonly Arg[]; readonly expect?: number; readonly noret?: boolean } // records x0
  | { readonly poll: readonly Arg[]; readonly until: number; readonly max?: number; readonly expect?: number } // repeats the SMC 1 us apart until x0 = until (at most max times); records the last x0
  | { readonly set: Loc; readonly v?: number }
  | { readonly add: Loc; readonly v?: number }
  | { readonly wait: Loc; readonly v?: number } // WFE until the word is >= v (default 1)
  | { readonly spin: Loc; readonly v?: number } // busy polling (no WFE) until >= v
  | { readonly load: Loc; readonly expect?: number } // records the word
  | { readonly daif: number } // MSR DAIF
  | { readonly delay: number } // guest ns, waiting in WFE
  | { readonly regs: true } // x0-x17 = 0x1000 + n, x18-x28 = 0x2000 + n
  | { readonly checkRegs: true; readonly expect?: number } // records a mask of registers that differ from `regs`
  | { readonly mrs: keyof typeof SYS; readonly expect?: number } // records the register
  | { readonly poke: number; readonly cpu?: number } // EXT test device: the interrupt line of INTID (PPI/SGI at cpu) fires
  | { readonly sgi: number; readonly cpu: number } // ICC_SGI1R_EL1: a Non-secure SGI
  | { readonly str: readonly [Arg, Arg] } // STR (MMIO or RAM)
  | { readonly nops: number }
  | { readonly now: true }; // records guest time

/** How fw_sdei_handler handles one event. */
export interface HandlerSpec {
  readonly steps?: readonly Step[];
  /** Record EVENT_CONTEXT(0..17) in the dispatch log. */
  readonly ctx?: boolean;
  /**
   * Ways to end, tried in order; a call that returns (failed) is recorded in
   * the handler results and the next is tried; after the last the handler
   * waits forever (WFI with DAIF masked). Default ['complete'].
   */
  readonly end?: readonly ('complete' | { readonly resume: Arg })[];
  /** COMPLETE status argument (default 0, HANDLED). */
  readonly status?: number;
}

/** A firmware-test case: what each CPU, handler and re-entry point runs (JSON). */
export interface FwCase {
  /** Per-CPU scripts run once the machine is up. */
  readonly cpus: Readonly<Record<string, readonly Step[]>>;
  /** Scripts run by fw_restart (a CPU_ON entry point), per CPU. */
  readonly restart?: Readonly<Record<string, readonly Step[]>>;
  /** Scripts run by fw_resume (a power-down CPU_SUSPEND entry point), per CPU. */
  readonly resume?: Readonly<Record<string, readonly Step[]>>;
  /** SDEI handler behaviour by key `ev@cpu#n`, `ev@cpu`, `ev#n` or `ev` (n: 0-based dispatch of ev on that CPU). */
  readonly handlers?: Readonly<Record<string, HandlerSpec>>;
  /** Scripts run by irq_hook per INTID. */
  readonly irq?: Readonly<Record<string, readonly Step[]>>;
  /** Finished scripts CPU 0 waits for before SYSTEM_OFF (default: the number of CPUs with a script, CPU 0 included). */
  readonly done?: number;
  /** SYSTEM_OFF once done (default true). */
  readonly off?: boolean;
}

/** Program options of the firmware tests. */
export interface FwOptions extends FwCase, TestOptions {
  readonly test: 'script';
}

/** SDEI events of the platform (firmware/sdei/events.ts), by index in the per-CPU counters. */
export const FW_EVENTS = [0, 100, 1000, 1001, 1002, 200, 2000, 2001, 2002] as const;
export function eventIndex(ev: number): number {
  const i = (FW_EVENTS as readonly number[]).indexOf(ev);
  return i < 0 ? 15 : i;
}

/** The test region: one page of shared words, then one page per CPU. */
export const FW = {
  SYNC: 0x000, // 64 words
  DONE_WORD: 63, // shared word counting finished scripts
  PERCPU: 0x1000,
  PERCPU_SIZE: 0x1000,
  // per-CPU block
  RES_N: 0x000,
  HRES_N: 0x004,
  NEST: 0x008,
  NDISP: 0x00c,
  BOOTS: 0x010,
  ENTRY_X0: 0x018, // 64-bit: x0 at the last fw_restart/fw_resume entry
  COUNT: 0x040, // 16 words: dispatches per event index
  DONE: 0x080, // 16 words: handler runs that reached their end
  IRQ: 0x0c0, // 64 words: IRQs per INTID
  RES: 0x200, // 64 x 64-bit main-script results
  HRES: 0x400, // 64 x 64-bit handler and IRQ-script results
  LOG: 0x600, // LOG_MAX dispatch records of LOG_SIZE bytes
  LOG_MAX: 8,
  LOG_SIZE: 0x100,
  MAX_RES: 64,
} as const;

/** Dispatch-record slots (64-bit each). */
export const LOGREC = { EV: 0, ARG: 1, PC: 2, PSTATE: 3, NEST: 4, DAIF: 5, ALLINT: 6, SP: 7, EL: 8, CTX: 9 } as const;

export function fwBytes(ncpus: number): number {
  return FW.PERCPU + ncpus * FW.PERCPU_SIZE;
}

/** Start of the test region for a base runtime needing `baseRamBytes`. */
export function fwBase(baseRamBytes: number): number {
  return RAM_BASE + baseRamBytes;
}

function base(t: TCtx): number {
  return fwBase(t.L.ramBytes);
}
function pcpu(t: TCtx, cpu: number): number {
  return base(t) + FW.PERCPU + cpu * FW.PERCPU_SIZE;
}
function fo(t: TCtx): FwOptions {
  return t.opts as FwOptions;
}

/** Address of a location (see Loc). */
export function locAddr(fwb: number, loc: Loc, self: number): number {
  const m = /^([scdib])(\d+)(?:@(\d+))?$/.exec(loc);
  if (!m) throw new Error(`bad location '${loc}'`);
  const n = Number(m[2]);
  const cpu = m[3] !== undefined ? Number(m[3]) : self;
  const pc = fwb + FW.PERCPU + cpu * FW.PERCPU_SIZE;
  switch (m[1]) {
    case 's': return fwb + FW.SYNC + 4 * n;
    case 'c': return pc + FW.COUNT + 4 * eventIndex(n);
    case 'd': return pc + FW.DONE + 4 * eventIndex(n);
    case 'i': return pc + FW.IRQ + 4 * n;
    default: return fwb + FW.PERCPU + n * FW.PERCPU_SIZE + FW.BOOTS;
  }
}

/**
 * Symbolic arguments: `handler` (fw_sdei_handler), `fn:<name>` (a function's
 * entry), `irqvec` (VBAR_EL1 + 0x280, the EL1h IRQ vector), `mpidr:<n>`,
 * `aff:<n>` (Aff fields only), `self` (own MPIDR), `text+<n>` (TEXT_BASE + n),
 * `ramend` (first address past RAM), `loc:<Loc>` (address of a location),
 * `hi32:<arg>` (the argument plus 2^32: garbage in the upper half of a 32-bit argument).
 */
function resolve(t: TCtx, a: Arg): number {
  if (typeof a === 'number') return a;
  if (a === 'handler') return t.fn.fw_sdei_handler!.base;
  if (a === 'irqvec') return t.L.image.vbar + 0x280;
  if (a === 'self') return mpidrOf(t.cpu);
  if (a === 'ramend') return RAM_BASE + t.L.ramBytes + fwBytes(t.L.ncpus);
  if (a.startsWith('hi32:')) return resolve(t, a.slice(5)) + 0x1_0000_0000;
  const [k, v] = [a.slice(0, a.indexOf(':')), a.slice(a.indexOf(':') + 1)];
  if (a.startsWith('text+')) return TEXT_BASE + Number(a.slice(5));
  switch (k) {
    case 'fn': {
      const f = t.fn[v];
      if (!f) throw new Error(`no guest function '${v}'`);
      return f.base;
    }
    case 'mpidr': return mpidrOf(Number(v));
    case 'aff': return mpidrOf(Number(v)) & 0xffffff;
    case 'loc': return locAddr(base(t), v, t.cpu);
    default: throw new Error(`bad argument '${a}'`);
  }
}

/**
 * EXT: the test platform's interrupt source. Raising the line of `intid` is a
 * device's action, not the CPU's; it is done inside one NOP of the CPU running
 * the step so that it happens at a defined point of that CPU's execution.
 */
function deviceRaise(m: MachineShared, cpu: number, intid: number): void {
  if (intid < SPI_BASE) {
    setPrivatePending(m, cpu, intid);
    return;
  }
  // Pending latch first, then wake every PE that might be a target (runstate protocol).
  Atomics.or(m.gic32, DistributorLayout.fields.PENDING.index, 1 << (intid - SPI_BASE));
  for (let pe = 0; pe < m.ncpus; pe++) kick(m, pe, ATTN_GIC);
}

function* record(t: TCtx, out: 'main' | 'handler', v: number): Guest<void> {
  const b = pcpu(t, t.cpu);
  const i = yield t.c.ldadd(b + (out === 'main' ? FW.RES_N : FW.HRES_N), 1);
  if (i < FW.MAX_RES) yield t.c.str64(b + (out === 'main' ? FW.RES : FW.HRES) + 8 * i, v);
}

function* delay(t: TCtx, ns: number): Guest<void> {
  const c = t.c;
  const end = (yield c.now()) + ns;
  for (;;) {
    if ((yield c.now()) >= end) return;
    yield c.waitUntil(end);
  }
}

const REG_A = 0x1000;
const REG_B = 0x2000;

/** Runs a script; results go to the main or the handler results. */
export function* runSteps(t: TCtx, steps: readonly Step[] | undefined, out: 'main' | 'handler'): Guest<void> {
  if (!steps) return;
  const c = t.c;
  const fb = base(t);
  const loc = (l: Loc): number => locAddr(fb, l, t.cpu);
  for (const s of steps) {
    if ('smc' in s) {
      const a = s.smc.map((x) => resolve(t, x));
      const r = yield c.smc(a[0]!, a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
      yield* record(t, out, r);
    } else if ('poll' in s) {
      const a = s.poll.map((x) => resolve(t, x));
      let r = 0;
      for (let i = 0; i < (s.max ?? 10_000); i++) {
        r = yield c.smc(a[0]!, a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
        if (r === s.until) break;
        yield* delay(t, 1000);
      }
      yield* record(t, out, r);
    } else if ('set' in s) {
      yield c.str(loc(s.set), s.v ?? 1);
    } else if ('add' in s) {
      yield c.ldadd(loc(s.add), s.v ?? 1);
    } else if ('wait' in s) {
      const v = s.v ?? 1;
      yield* waitWord(t, loc(s.wait), (x) => x >= v);
    } else if ('spin' in s) {
      const v = s.v ?? 1;
      const top = c.label();
      for (;;) {
        if ((yield c.ldr(loc(s.spin))) >= v) break;
        yield c.yield_();
        yield c.b(top);
      }
    } else if ('load' in s) {
      yield* record(t, out, yield c.ldr(loc(s.load)));
    } else if ('daif' in s) {
      yield c.msr(SYS.DAIF, s.daif);
    } else if ('delay' in s) {
      yield* delay(t, s.delay);
    } else if ('regs' in s) {
      for (let n = 0; n < 18; n++) yield c.mov(n, REG_A + n);
      for (let n = 18; n < 29; n++) yield c.mov(n, REG_B + n);
    } else if ('checkRegs' in s) {
      let bad = 0;
      for (let n = 0; n < 29; n++) if (c.x(n) !== (n < 18 ? REG_A : REG_B) + n) bad |= 1 << n;
      yield* record(t, out, bad >>> 0);
    } else if ('mrs' in s) {
      yield* record(t, out, yield c.mrs(SYS[s.mrs]));
    } else if ('poke' in s) {
      deviceRaise(c.m, s.cpu ?? t.cpu, s.poke);
      yield c.nop();
    } else if ('sgi' in s) {
      yield* sendSgi(t, s.cpu, s.sgi);
    } else if ('str' in s) {
      yield c.str(resolve(t, s.str[0]), resolve(t, s.str[1]));
    } else if ('nops' in s) {
      for (let i = 0; i < s.nops; i++) yield c.nop();
    } else if ('now' in s) {
      yield* record(t, out, yield c.now());
    } else {
      throw new Error(`unknown script step ${JSON.stringify(s)}`);
    }
  }
}

/** Counts a finished script; CPU 0 then waits for every expected one and powers the machine off. */
function* finish(t: TCtx): Guest<void> {
  const o = fo(t);
  const w = base(t) + FW.SYNC + 4 * FW.DONE_WORD;
  yield t.c.ldadd(w, 1);
  if (t.cpu !== 0) return;
  const expected = o.done ?? new Set(['0', ...Object.keys(o.cpus)]).size;
  yield* waitWord(t, w, (v) => v >= expected);
  if (o.off !== false) yield t.c.smc(PSCI_SYSTEM_OFF);
}

/** test_main of the firmware tests. */
export function* scriptMain(t: TCtx): Guest<void> {
  yield* runSteps(t, fo(t).cpus[String(t.cpu)], 'main');
  yield* finish(t);
}

function handlerSpec(o: FwOptions, ev: number, cpu: number, n: number): HandlerSpec {
  const h = o.handlers ?? {};
  return h[`${ev}@${cpu}#${n}`] ?? h[`${ev}@${cpu}`] ?? h[`${ev}#${n}`] ?? h[`${ev}`] ?? {};
}

/**
 * The SDEI handler (entered at EL1h with DAIF masked, x0 event, x1 argument,
 * x2 interrupted PC, x3 interrupted PSTATE; reference section 3.9).
 */
const sdeiHandler = guestFn<TCtx>('fw_sdei_handler', function* (t, ev, arg, pc, pstate) {
  const c = t.c;
  const b = pcpu(t, t.cpu);
  const nest = yield c.ldadd(b + FW.NEST, 1);
  const k = yield c.ldadd(b + FW.NDISP, 1);
  const idx = eventIndex(ev);
  const n = yield c.ldadd(b + FW.COUNT + 4 * idx, 1);
  const h = handlerSpec(fo(t), ev, t.cpu, n);
  const r = b + FW.LOG + k * FW.LOG_SIZE;
  if (k < FW.LOG_MAX) {
    yield c.str64(r + 8 * LOGREC.EV, ev);
    yield c.str64(r + 8 * LOGREC.ARG, arg);
    yield c.str64(r + 8 * LOGREC.PC, pc);
    yield c.str64(r + 8 * LOGREC.PSTATE, pstate);
    yield c.str64(r + 8 * LOGREC.NEST, nest);
    yield c.str64(r + 8 * LOGREC.DAIF, yield c.mrs(SYS.DAIF));
    yield c.str64(r + 8 * LOGREC.ALLINT, yield c.mrs(SYS.ALLINT));
    yield c.str64(r + 8 * LOGREC.SP, c.sp);
    yield c.str64(r + 8 * LOGREC.EL, (yield c.mrs(SYS.CURRENTEL)) >> 2);
    if (h.ctx) {
      for (let i = 0; i < 18; i++) yield c.str64(r + 8 * (LOGREC.CTX + i), yield c.smc(SDEI.EVENT_CONTEXT, i));
    }
  }
  yield* runSteps(t, h.steps, 'handler');
  yield c.ldadd(b + FW.NEST, -1);
  yield c.ldadd(b + FW.DONE + 4 * idx, 1);
  for (const e of h.end ?? ['complete']) {
    const v = e === 'complete'
      ? yield c.smc(SDEI.EVENT_COMPLETE, h.status ?? 0)
      : yield c.smc(SDEI.EVENT_COMPLETE_AND_RESUME, resolve(t, e.resume));
    yield* record(t, 'handler', v); // only reached if the call failed
  }
  const top = c.label();
  for (;;) {
    yield c.wfi();
    yield c.b(top);
  }
}, { size: 256 });

/** Called by the runtime's IRQ handler for each acknowledged INTID, before its EOI. */
const irqHook = guestFn<TCtx>('irq_hook', function* (t, intid) {
  const c = t.c;
  if (intid < 64) yield c.ldadd(pcpu(t, t.cpu) + FW.IRQ + 4 * intid, 1);
  yield* runSteps(t, fo(t).irq?.[String(intid)], 'handler');
  return 0;
}, { size: 128 });

function reentry(name: string, scripts: (o: FwOptions) => Readonly<Record<string, readonly Step[]>> | undefined): GuestFunction<TCtx> {
  return guestFn<TCtx>(name, function* (t, x0) {
    const c = t.c;
    // PSCI entry state (reference section 2.4): EL1h, DAIF = 1111, x0 = context id, GIC CPU interface reset.
    yield c.setSp(t.L.stackTop(t.cpu));
    yield c.msr(SYS.VBAR_EL1, t.L.image.vbar);
    yield c.msr(SYS.TPIDR_EL1, t.cpu);
    yield* gicCpuInit(t);
    const b = pcpu(t, t.cpu);
    yield c.str64(b + FW.ENTRY_X0, x0);
    yield c.ldadd(b + FW.BOOTS, 1);
    yield* runSteps(t, scripts(fo(t))?.[String(t.cpu)], 'main');
    yield* finish(t);
    yield c.bl(t.fn.cpu_park_loop!);
  }, { size: 256 });
}

export const FW_FUNCTIONS: GuestFunction<TCtx>[] = [
  sdeiHandler,
  irqHook,
  reentry('fw_restart', (o) => o.restart),
  reentry('fw_resume', (o) => o.resume),
];


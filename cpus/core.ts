/**
 * The CPU core: one emulated arm64 PE.
 *
 * It retires guest instructions (cpus/isa.ts), checks for a deliverable
 * exception at every instruction boundary, takes exceptions to EL1 and EL3 as
 * the architecture does, and performs ERET. Both engines run this exact code;
 * they differ only in who calls `run()` and how a waiting CPU sleeps.
 *
 * Execution state. The guest's control state is a stack of generator frames
 * kept here explicitly (calls do not nest `yield*`): the top frame is in
 * `gen/fn/slot`, callers and interrupted contexts below it in `stack`. An
 * exception entry pushes the interrupted frame and a *boundary* recording the
 * architectural return state (ELR, EL, SP); ERET to that return address pops
 * back to it. EL3 code is the firmware model, host code run inside the SMC or
 * FIQ that entered EL3; it manipulates Non-secure contexts through
 * `el3SaveContext` / `el3ResumeContext` / `el3ConvertToEl1Exception`, as
 * TF-A's context management does with its saved NS context.
 *
 * PC. A frame's PC is `fn.base + 4 * slot`: the slot advances by one per
 * retired instruction, `b(label)` sets it, and it saturates at the function's
 * last instruction, so a PC always symbolizes inside its function. BL performs
 * the callee's two-instruction prologue (frame record push) itself, so a
 * callee's first body instruction is at +0x8.
 *
 * The hot loop does one Atomics.load of the CPU's ATTN word per instruction
 * plus a local `recheck` flag for changes made by the CPU itself (DAIF, PMR,
 * EOI, ERET); the full GIC evaluation happens only when one of them is set.
 */
import {
  CpuLayout, ATTN_STOP, ATTN_POWER, ATTN_GIC, ATTN_EVENT, SCR_FIQ, SCR_IRQ, SCTLR_NMI, SCTLR_SPINTMASK,
  CNTV_CTL_ENABLE, CNTV_CTL_IMASK, mpidrAffinity, mpidrOf, cpuOfAffinity,
} from './layout.js';
import {
  PSR_I, PSR_F, PSR_A, PSR_D, PSR_DAIF, PSR_ALLINT, PSR_MODE_MASK, PSR_MODE_EL1H, PSR_MODE_EL3H, pstateEl, daifImmToBits,
} from './pstate.js';
import {
  OP_NONE, OP_CALL, OP_WAIT, OP_SMC, OP_ERET, OP_EXC, OP_HALT, OP_SWITCH, PROLOGUE_SLOTS,
  WAIT_NONE, WAIT_WFI, WAIT_WFE, WAIT_EL3, WAIT_OFF, type Guest, type PlacedFn,
} from './isa.js';
import { VEC_SYNC, VEC_IRQ, VEC_FIQ, VEC_SERROR, VEC_CUR_SPX, VEC_CUR_SP0, VEC_LOWER_A64 } from './exception.js';
import { PT_REGS } from './ptregs.js';
import { SYS, CNTFRQ, el3Only, SYS_NAMES } from './sysregs.js';
import type { KernelImage } from './image.js';
import { RAM_DIRTY_SHIFT, type MachineShared } from '../src/machine/shared.js';
import { load32, store32, add32, and32, or32, exchange32, cas32 } from '../src/machine/access.js';
import type { GuestClock } from '../src/machine/clock.js';
import { ControlLayout, monitorBucket } from '../src/machine/control.js';
import { kick, endRun } from '../src/machine/runstate.js';
import { CpuInterface } from '../src/gic/cpuif.js';
import { LINE_FIQ, LINE_IRQ, LINE_NONE, lineFor, type Hppi } from '../src/gic/signal.js';
import { GROUP0, GROUP1NS } from '../src/gic/layout.js';
import { generateSgi, type SgiAcceptHook } from '../src/gic/sgi.js';
import { gicdRead, gicdWrite } from '../src/gic/distributor.js';
import { gicrRead, gicrWrite, setPpiInput, ppiInputHigh } from '../src/gic/redistributor.js';
import {
  GICD_BASE, GICD_SIZE, GICR_BASE, GICR_STRIDE, esrDataAbort, DFSC_TRANSLATION_L0, DFSC_ALIGNMENT,
  EC_UNKNOWN, EC_BRK64, ESR_EC_SHIFT, ESR_IL, EC_BREAKPT_CUR, EC_WATCHPT_CUR, ISS_WNR,
} from '../src/machine/memory.js';
import { T } from '../src/trace/events.js';
import type { TraceWriter } from '../src/trace/ring.js';
import { ModelError } from '../src/errors.js';

const F = CpuLayout.fields;

/** Results of `run()`. */
export const RUN_BUDGET = 0; // budget used up; runnable
export const RUN_WAIT = 1; // asleep until a wake condition (engine sleeps, then calls run again)
export const RUN_STOPPED = 2; // the machine run ended
export const RUN_OFF = 3; // powered off (PSCI); engine waits for CPU_ON, then calls run again

/** What the firmware asks the core to do when it leaves EL3. */
export const EL3_ERET = 0; // ERET to ELR_EL3 with SPSR_EL3
export const EL3_STAY = 1; // remain at EL3 (wedged) until the deadline set with el3StayUntil
export const EL3_OFF = 2; // power the PE down
export const EL3_HALT = 3; // the machine run ended (SYSTEM_RESET, SYSTEM_OFF)

export interface El3Handler {
  /** SMC from EL1; the core has already entered EL3 (ELR_EL3, SPSR_EL3 saved; PSTATE EL3h, DAIF set). */
  smc(core: CpuCore): number;
  /** A Group 0 interrupt taken as FIQ to EL3. */
  fiq(core: CpuCore): number;
  /** A PE stuck at EL3 (EL3_STAY) reached its deadline. */
  wedgeEnd(core: CpuCore): number;
  /** CPU_ON brought this PE up: warm boot, ending with ELR_EL3/SPSR_EL3/x0 set for the entry point. */
  warmBoot(core: CpuCore): number;
}

export interface CoreConfig {
  readonly priBits: number;
  /** FEAT_NMI (PSTATE.ALLINT, SCTLR_ELx.NMI). */
  readonly featNmi: boolean;
  /** Bound on nested frames (calls plus exception boundaries) before the model reports runaway recursion (default 512). */
  readonly maxFrames?: number;
}

/**
 * EXT: the guest program's observer of injected faults (scenario `faults`
 * entries with `inject`). The core asks it for the guest time of the next
 * injection, lets it inject then (raiseSError, armBreakpoint, armWatchpoint),
 * and reports what became of each debug event and SError: taken, or not
 * taken because PSTATE masked it.
 */
export interface CoreObserver {
  /** Performs the injections due at `now`; returns the guest time of the next one (Infinity: none). */
  inject(core: CpuCore, now: number): number;
  /** A breakpoint or watchpoint matched (`taken` false: PSTATE.D masked it), or an SError was taken or found masked. */
  event(core: CpuCore, kind: 'breakpoint' | 'watchpoint' | 'serror', taken: boolean, addr: number): void;
}

/** A switched-out task's kernel context (CpuCore.switchStacks): its frame stack (frames [0, depth) in use), SP, x19-x30, or a function to start. */
interface SavedContext {
  readonly frames: Frame[];
  readonly depth: number;
  readonly sp: number;
  readonly regs: Float64Array;
  readonly start: PlacedFn | null;
}

/** Data-abort retry operations: a faulting access is re-executed when its frame resumes. */
const R_LDR = 1, R_STR = 2, R_CAS = 3, R_LDADD = 4, R_LDCLR = 5, R_LDSET = 6, R_SWP = 7,
  R_LDR64 = 8, R_STR64 = 9, R_LDRB = 10, R_STRB = 11, R_STPW = 12;
const WRITES = [false, false, true, true, true, true, true, true, false, true, false, true, true];
/**
 * Not an access: the rest of a run of NOPs (`nops`), retired by the step loop
 * one boundary at a time without resuming the guest function; `retryA` counts
 * the NOPs left. It lives in the retry fields, so an exception or a task
 * switch in the middle saves it with the frame and resumes it.
 */
const R_NOPS = 100;

const FRAME = 0;
const BOUNDARY = 1;
export const B_EL1 = 1; // an exception taken to EL1
export const B_EL3 = 2; // a Non-secure context saved by EL3 (SDEI dispatch)

class Frame {
  kind = FRAME;
  gen: Guest | null = null;
  fn: PlacedFn | null = null;
  slot = 0;
  ret = 0;
  viaBl = false;
  retryOp = 0;
  retryA = 0;
  retryB = 0;
  retryC = 0;
  bKind = 0;
  savedPc = 0;
  savedEl = 0;
  savedSp = 0;
  handle = 0;
}

const TWO32 = 0x1_0000_0000;

/**
 * %GeneratorPrototype%.next, called directly. Perf: every guest function is
 * its own generator function with its own prototype, so `gen.next` at the one
 * call site of the step loop sees hundreds of receiver maps and goes
 * megamorphic (a stub-cache probe per instruction); the method is the same
 * for all of them.
 */
const generatorNext = Object.getPrototypeOf(function* () { /* prototype probe */ }).prototype.next as (this: Guest, v: number) => IteratorResult<number, number | void>;

export class CpuCore<Ctx = any> {
  readonly cpu: number;
  readonly m: MachineShared;
  readonly image: KernelImage;
  readonly clock: GuestClock;
  readonly el3: El3Handler;
  readonly gic: CpuInterface;
  readonly cfg: CoreConfig;
  readonly trace: TraceWriter | null;
  /** The SGI_SEND record of each PE that accepts an SGI this CPU sends (generateSgi's hook; made once). */
  private readonly sgiStamp: SgiAcceptHook | null;
  /** The guest time of the SGI register write in progress, once its first record is stamped (-1 before). */
  private sgiTime = -1;
  /** Guest context object handed to every guest function (the kernel model's per-CPU state). */
  ctx!: Ctx;

  // ---- hot execution state ----
  private gen: Guest | null = null;
  private fn: PlacedFn | null = null;
  private slot = 0;
  private fnSize = 1;
  private viaBl = false;
  /** Value delivered to the top frame by the next `next()` (the last instruction's result). */
  ret = 0;
  retired = 0;
  /** A local change (DAIF, PMR, EOI, ERET, timer) requires re-evaluating interrupts. */
  recheck = true;
  private retryOp = 0;
  private retryA = 0;
  private retryB = 0;
  private retryC = 0;

  private stack: Frame[] = []; // replaced as a whole by switchStacks (a task's frames with its own spare frames)
  private depth = 0;
  private nextHandle = 1;

  // pending call (BL)
  private callFn: PlacedFn | null = null;
  private callA0 = 0;
  private callA1 = 0;
  private callA2 = 0;
  private callA3 = 0;

  // pending synchronous exception
  private excEsr = 0;
  private excFar = 0;
  private excOff = VEC_SYNC;

  // waiting
  private sleeping = false;
  waitKind = WAIT_NONE;
  private waitDeadline = Infinity;
  private el3WakeOnIrq = false;
  /** EXT: a model alarm (scenario fault or trigger time): wakes any wait of this CPU once. */
  alarm = Infinity;
  private stopRequested = false;
  private powerRequested = false;

  // EXT: task contexts saved by cpu_switch_to, keyed by task (switchStacks)
  private readonly contexts = new Map<number, SavedContext>();
  private switchSave = 0;
  private switchRestore = 0;

  // EXT: injected faults (CoreObserver): a pending SError's ESR (-1: none), hardware breakpoint and
  // watchpoint addresses (-1: disarmed), a debug exception raised by the last instruction (0: none)
  private serrorEsr = -1;
  private bpAddr = -1;
  private wpAddr = -1;
  private wpStepOver = false;
  private dbgEsr = 0;
  private dbgFar = 0;
  /** Guest time of the next injection (Infinity: none); the observer runs it from pollTimer. */
  injectAt = Infinity;
  observer: CoreObserver | null = null;

  // shared-memory indexes
  private readonly cpu32: Int32Array;
  private readonly cpuF64: Float64Array;
  private readonly ram32: Int32Array;
  private readonly ramU8: Uint8Array;
  /** MachineShared.ramDirty: every RAM store marks its chunk. */
  private readonly ramDirty: Uint8Array;
  /** One thread runs every CPU (MachineShared.singleThread): hot paths use plain accesses (src/machine/access.ts). */
  private readonly plain: boolean;
  private readonly ramBase: number;
  private readonly ramBytes: number;
  private readonly i0: number;
  private readonly f0: number;
  private readonly iAttn: number;
  private readonly iPstate: number;
  private readonly fSp: number;
  private readonly fX: number;
  readonly mpidr: number;

  constructor(m: MachineShared, cpu: number, image: KernelImage, clock: GuestClock, el3: El3Handler, cfg: CoreConfig, trace: TraceWriter | null) {
    this.m = m;
    this.cpu = cpu;
    this.image = image;
    this.clock = clock;
    this.el3 = el3;
    this.cfg = cfg;
    this.trace = trace;
    // One SGI register write is one instruction: its SGI_SEND records (one per accepting PE, up to
    // 15 for a target list) carry the one time at which it was made, read once at the first.
    this.sgiStamp = trace !== null ? (pe, intid) => {
      if (this.sgiTime < 0) this.sgiTime = clock.now();
      trace.emitAt(this.sgiTime, T.SGI_SEND, intid, pe);
    } : null;
    this.mpidr = mpidrOf(cpu);
    this.gic = new CpuInterface(m, cpu, mpidrAffinity(this.mpidr), cfg.priBits);
    this.cpu32 = m.cpu32;
    this.cpuF64 = m.cpuF64;
    this.ram32 = m.ram32;
    this.ramU8 = m.ramU8;
    this.ramDirty = m.ramDirty;
    this.plain = m.singleThread;
    this.ramBase = m.map.ramBase;
    this.ramBytes = m.map.ramBytes;
    this.i0 = m.cpuI(cpu, 0);
    this.f0 = m.cpuF(cpu, 0);
    this.iAttn = this.i0 + F.ATTN.index;
    this.iPstate = this.i0 + F.PSTATE.index;
    this.fSp = this.f0 + F.SP_EL1.index;
    this.fX = this.f0 + F.X.index;
    for (let i = 0; i < 16; i++) this.stack.push(new Frame()); // slotFrame adds more on demand
    if (Atomics.load(this.cpu32, this.iAttn) & ATTN_POWER) this.powerRequested = true;
    // A CPU starts powered off, waiting for CPU_ON (the machine powers on CPU 0 the same way).
    this.sleeping = true;
    this.waitKind = WAIT_OFF;
  }

  // =====================================================================
  // The step loop
  // =====================================================================

  /** Runs up to `budget` instructions. */
  run(budget: number): number {
    if (this.sleeping) {
      const r = this.resumeWait();
      if (r >= 0) return r;
    }
    while (budget-- > 0) {
      if (this.recheck || load32(this.plain, this.cpu32, this.iAttn) !== 0) {
        const r = this.boundary();
        if (r >= 0) return r;
      }
      let op: number;
      if (this.retryOp !== 0) {
        op = this.doRetry();
      } else {
        const res = generatorNext.call(this.gen!, this.ret);
        if (res.done === true) {
          this.doReturn(res.value);
          continue;
        }
        op = res.value;
      }
      if (op === OP_NONE) {
        this.retired++;
        if (++this.slot >= this.fnSize) this.slot = this.fnSize - 1;
        continue;
      }
      const r = this.dispatch(op);
      if (r >= 0) return r;
    }
    return RUN_BUDGET;
  }

  private dispatch(op: number): number {
    switch (op) {
      case OP_CALL:
        this.retire();
        this.doCall();
        return -1;
      case OP_WAIT: {
        if (this.waitSatisfied()) {
          if (this.stopRequested) return this.stopNow();
          this.retire();
          return -1;
        }
        return this.goToSleep();
      }
      case OP_SMC: {
        this.retire(); // preferred return address of SMC is the next instruction
        const fid = this.cpuF64[this.fX]!;
        const caller = this.gen;
        this.enterEl3(this.currentPc(), fid);
        const r = this.el3Exit(this.el3.smc(this));
        // The SMC's result (x0) goes to the context that made the call, if it continues.
        if (r < 0 && this.gen === caller) this.ret = this.cpuF64[this.fX]!;
        return r;
      }
      case OP_ERET:
        this.retired++;
        this.eretEl1();
        return -1;
      case OP_EXC:
        this.takeEl1(this.excOff, this.currentPc(), this.excEsr, this.excFar);
        return -1;
      case OP_HALT:
        this.retire();
        return this.stopNow();
      case OP_SWITCH:
        this.retire();
        this.doSwitch();
        return -1;
      default:
        throw this.fault(`unknown opcode ${op} yielded by ${this.fn?.name ?? '?'} (yield an instruction method's result)`);
    }
  }

  private retire(): void {
    this.retired++;
    if (++this.slot >= this.fnSize) this.slot = this.fnSize - 1;
  }

  // =====================================================================
  // Instruction boundary: attention bits and interrupts
  // =====================================================================

  private absorbAttention(): void {
    // Perf: most boundaries that get here come from `recheck` with ATTN clear; a load is much cheaper
    // than the locked exchange, and a bit set just after it is seen at the next boundary, as it
    // would be had it arrived just after the exchange.
    if (load32(this.plain, this.cpu32, this.iAttn) === 0) return;
    const bits = exchange32(this.plain, this.cpu32, this.iAttn, 0);
    if (bits === 0) return;
    if (bits & ATTN_STOP) this.stopRequested = true;
    if (bits & ATTN_POWER) this.powerRequested = true;
    if (bits & (ATTN_GIC | ATTN_EVENT)) this.recheck = true;
  }

  private boundary(): number {
    this.absorbAttention();
    if (this.stopRequested) return this.stopNow();
    this.recheck = false;
    return this.checkInterrupts();
  }

  /** Takes the signalled interrupt if the PE may take it now (reference sections 4.7, 4.8, 5.3). */
  private checkInterrupts(): number {
    const el = this.currentEl();
    if (this.dbgEsr !== 0 || this.serrorEsr >= 0) {
      if (this.takeDebugOrSError(el)) return -1;
    }
    const h = this.gic.signalled(el === 3);
    if (h === null) return -1;
    const line = lineFor(h.group, el === 3);
    const target = this.targetEl(line);
    if (!this.takeable(line, h, el, target)) return -1;
    if (target === 3) {
      this.enterEl3(this.currentPc(), -1);
      return this.el3Exit(this.el3.fiq(this));
    }
    this.takeEl1(line === LINE_IRQ ? VEC_IRQ : VEC_FIQ, this.currentPc(), -1, 0);
    return -1;
  }

  private targetEl(line: number): number {
    const scr = this.cpu32[this.i0 + F.SCR_EL3.index]!;
    return line === LINE_FIQ ? (scr & SCR_FIQ ? 3 : 1) : (scr & SCR_IRQ ? 3 : 1);
  }

  /**
   * Reference section 5.3 (QEMU arm_excp_unmasked): an interrupt for a lower
   * EL is never taken; for a higher EL (here EL3) always, whatever PSTATE says;
   * for the current EL it is masked by PSTATE.I/F, and with FEAT_NMI and
   * SCTLR_EL1.NMI by ALLINT (a superpriority interrupt only by ALLINT).
   */
  private takeable(line: number, h: Hppi, el: number, target: number): boolean {
    if (line === LINE_NONE) return false;
    if (target < el) return false;
    if (target > el && !(el === 0 && target === 1)) return true;
    const ps = this.cpu32[this.iPstate]!;
    if (this.cfg.featNmi && (this.cpu32[this.i0 + F.SCTLR_EL1.index]! & SCTLR_NMI)) {
      const allIntMask = (ps & PSR_ALLINT) !== 0 || ((this.cpu32[this.i0 + F.SCTLR_EL1.index]! & SCTLR_SPINTMASK) !== 0 && (ps & 1) !== 0);
      if (allIntMask) return false;
      if (h.nmi) return true;
    }
    return (ps & (line === LINE_IRQ ? PSR_I : PSR_F)) === 0;
  }

  /** True if an interrupt is signalled that the PE would take now (WFE wake-up). */
  private takeableSignalled(): boolean {
    const el = this.currentEl();
    if (this.serrorEsr >= 0 && el === 1 && (this.cpu32[this.iPstate]! & PSR_A) === 0) return true;
    const h = this.gic.signalled(el === 3);
    if (h === null) return false;
    const line = lineFor(h.group, el === 3);
    return this.takeable(line, h, el, this.targetEl(line));
  }

  // =====================================================================
  // Exceptions to EL1 and ERET
  // =====================================================================

  /**
   * Exception entry to EL1 (Arm DDI0487 D1.10; reference section 5.2): SPSR_EL1
   * and ELR_EL1 saved, PSTATE EL1h with D, A, I, F set (ALLINT per
   * SCTLR_EL1.SPINTMASK with FEAT_NMI), PC = VBAR_EL1 + vector offset. ESR and
   * FAR are written for synchronous exceptions only (esr >= 0).
   */
  private takeEl1(vecOff: number, elr: number, esr: number, far: number): void {
    const ps = this.cpu32[this.iPstate]!;
    const fromEl = pstateEl(ps);
    const group = fromEl === 1 ? ((ps & 1) ? VEC_CUR_SPX : VEC_CUR_SP0) : VEC_LOWER_A64;
    const vbar = this.cpuF64[this.f0 + F.VBAR_EL1.index]!;
    this.cpuF64[this.f0 + F.ELR_EL1.index] = elr;
    this.cpu32[this.i0 + F.SPSR_EL1.index] = ps;
    if (esr >= 0) {
      this.cpu32[this.i0 + F.ESR_EL1.index] = esr | 0;
      this.cpuF64[this.f0 + F.FAR_EL1.index] = far;
    }
    let next = (ps & ~(PSR_MODE_MASK | PSR_DAIF | PSR_ALLINT)) | PSR_MODE_EL1H | PSR_DAIF;
    if (this.cfg.featNmi && !(this.cpu32[this.i0 + F.SCTLR_EL1.index]! & SCTLR_SPINTMASK)) next |= PSR_ALLINT;
    this.cpu32[this.iPstate] = next;
    this.pushTop();
    this.pushBoundary(B_EL1, elr, fromEl, this.cpuF64[this.fSp]!);
    const target = vbar + group + vecOff;
    const f = this.image.entryAt(target);
    if (!f) throw this.fault(`exception to VBAR_EL1+0x${(group + vecOff).toString(16)} (0x${target.toString(16)}) but no vector code is there`);
    this.trace?.emit(T.EXC_ENTRY, group + vecOff, elr);
    this.startFn(f);
    // Entry only sets PSTATE mask bits (D, A, I, F, ALLINT), so no interrupt is takeable at the next
    // boundary that was not at this one (the signalled HPPI was this exception or nothing; a GIC
    // change by another PE sets ATTN). Perf: so the next boundary re-evaluates only for a pending
    // SError or debug event, whose evaluation records that it found them masked.
    if (this.serrorEsr >= 0 || this.dbgEsr !== 0) this.recheck = true;
  }

  /**
   * ERET at EL1: PSTATE <- SPSR_EL1, PC <- ELR_EL1. The return address is
   * matched against the interrupted contexts saved at exception entry (the
   * innermost first); an ERET to a function entry instead abandons the
   * current context and starts that function.
   */
  private eretEl1(): void {
    const pc = this.cpuF64[this.f0 + F.ELR_EL1.index]!;
    const spsr = this.cpu32[this.i0 + F.SPSR_EL1.index]!;
    if (this.currentEl() !== 1) throw this.fault('ERET to EL1 rules used outside EL1');
    if (pstateEl(spsr) > 1) throw this.fault(`illegal exception return to EL${pstateEl(spsr)}`);
    this.cpu32[this.iPstate] = spsr;
    this.setEventRegister(); // an exception return sets the event register
    this.recheck = true;
    this.trace?.emit(T.ERET, pc, pstateEl(spsr));
    this.transferTo(pc, false);
  }

  /** Resumes the context that returns to `pc`, or starts the function at `pc`. */
  private transferTo(pc: number, fromEl3: boolean): void {
    if (fromEl3 && this.gen !== null && pc === this.currentPc()) return; // ordinary return from the SMC/FIQ
    const top = this.topBoundary();
    if (top >= 0 && this.stack[top]!.savedPc === pc) {
      this.unwindTo(top);
      return;
    }
    if (top >= 1 && this.stack[top]!.bKind === B_EL1 && this.stack[top]!.savedPc + 4 === pc && this.stack[top - 1]!.fn !== null &&
        this.stack[top - 1]!.fn!.base + this.stack[top - 1]!.slot * 4 === pc - 4) {
      // The handler skipped the instruction that raised a synchronous exception (ELR += 4, as
      // BRK and emulation handlers do): resume after it; a skipped access yields 0. Inside a run of
      // NOPs (a breakpoint on one of them) only that NOP is skipped: the rest of the run still executes.
      this.unwindTo(top);
      if (this.retryOp === R_NOPS) this.doRetry();
      else this.retryOp = 0;
      this.ret = 0;
      this.retire();
      return;
    }
    const f = this.image.entryAt(pc);
    if (f) {
      // The current context (above the innermost boundary) is abandoned.
      // The boundary stays, so a later ERET to its return address still resumes it.
      if (this.gen !== null) this.depth = top + 1;
      this.startFn(f);
      return;
    }
    for (let i = top - 1; i >= 0; i--) {
      const fr = this.stack[i]!;
      if (fr.kind === BOUNDARY && fr.savedPc === pc) {
        this.unwindTo(i);
        return;
      }
    }
    throw this.fault(`ERET to 0x${pc.toString(16)} (${this.image.symbolize(pc)}), which is neither an interrupted context nor a function entry`, 'guest-code');
  }

  // =====================================================================
  // EL3: SMC and FIQ entry, exits requested by the firmware
  // =====================================================================

  private enterEl3(elr: number, fid: number): void {
    const ps = this.cpu32[this.iPstate]!;
    this.cpuF64[this.f0 + F.ELR_EL3.index] = elr;
    this.cpu32[this.i0 + F.SPSR_EL3.index] = ps;
    this.cpu32[this.iPstate] = (ps & ~(PSR_MODE_MASK | PSR_DAIF | PSR_ALLINT)) | PSR_MODE_EL3H | PSR_DAIF;
    this.trace?.emit(T.EL3_ENTRY, fid, elr);
  }

  private el3Exit(exit: number): number {
    switch (exit) {
      case EL3_ERET:
        this.eretEl3();
        return -1;
      case EL3_STAY:
        this.waitKind = WAIT_EL3;
        return this.goToSleep();
      case EL3_OFF:
        this.powerDown();
        return RUN_OFF;
      case EL3_HALT:
        return this.stopNow();
      default:
        throw this.fault(`firmware returned unknown EL3 exit ${exit}`);
    }
  }

  private eretEl3(): void {
    const pc = this.cpuF64[this.f0 + F.ELR_EL3.index]!;
    const spsr = this.cpu32[this.i0 + F.SPSR_EL3.index]!;
    this.cpu32[this.iPstate] = spsr;
    this.setEventRegister();
    this.recheck = true;
    this.trace?.emit(T.EL3_EXIT, this.cpuF64[this.fX]!, pc);
    this.transferTo(pc, true);
  }

  /**
   * Firmware: keep the PE at EL3 until guest time `t` (Infinity: forever), or,
   * with `wakeOnInterrupt`, until an interrupt is signalled to it (WFI at EL3,
   * as CPU_SUSPEND does).
   */
  el3StayUntil(t: number, wakeOnInterrupt = false): void {
    this.waitDeadline = t;
    this.el3WakeOnIrq = wakeOnInterrupt;
  }

  /** Firmware: the PE lost its Non-secure context (power-down suspend): drop every frame. */
  el3DiscardContexts(): void {
    for (let k = 0; k < this.depth; k++) this.stack[k]!.gen = null;
    this.depth = 0;
    this.gen = null;
    this.fn = null;
    this.retryOp = 0;
  }

  /**
   * Firmware: save the interrupted Non-secure context (SDEI dispatch). The next
   * ERET from EL3 then starts the function at ELR_EL3. Returns a handle.
   */
  el3SaveContext(): number {
    const sp = this.cpuF64[this.fSp]!;
    const pc = this.cpuF64[this.f0 + F.ELR_EL3.index]!;
    this.pushTop();
    const h = this.nextHandle++;
    this.pushBoundary(B_EL3, pc, pstateEl(this.cpu32[this.i0 + F.SPSR_EL3.index]!), sp);
    this.stack[this.depth - 1]!.handle = h;
    this.gen = null;
    this.fn = null;
    return h;
  }

  private findHandle(h: number): number {
    for (let i = this.depth - 1; i >= 0; i--) {
      const fr = this.stack[i]!;
      if (fr.kind === BOUNDARY && fr.handle === h) return i;
    }
    return -1;
  }

  /** Firmware: drop everything above the context saved as `h` and make it current again (SDEI COMPLETE). */
  el3ResumeContext(h: number): boolean {
    const i = this.findHandle(h);
    if (i < 0) return false;
    this.unwindTo(i);
    return true;
  }

  /**
   * Firmware: turn the context saved as `h` into one interrupted by an
   * exception to EL1 (SDEI COMPLETE_AND_RESUME): an EL1 ERET to its PC will
   * resume it. The current context stays until the ERET from EL3 decides.
   */
  el3ConvertToEl1Exception(h: number, elr: number): boolean {
    const i = this.findHandle(h);
    if (i < 0) return false;
    const b = this.stack[i]!;
    b.bKind = B_EL1;
    b.savedPc = elr;
    b.handle = 0;
    return true;
  }

  /** Whether the saved context `h` still exists (it is lost when the PE powers off). */
  el3HasContext(h: number): boolean {
    return this.findHandle(h) >= 0;
  }

  // =====================================================================
  // Frames
  // =====================================================================

  private pushTop(): void {
    if (this.gen === null) return;
    const fr = this.slotFrame();
    fr.kind = FRAME;
    fr.gen = this.gen;
    fr.fn = this.fn;
    fr.slot = this.slot;
    fr.ret = this.ret;
    fr.viaBl = this.viaBl;
    fr.retryOp = this.retryOp;
    fr.retryA = this.retryA;
    fr.retryB = this.retryB;
    fr.retryC = this.retryC;
    this.retryOp = 0;
    this.gen = null;
    this.fn = null;
  }

  private pushBoundary(kind: number, pc: number, el: number, sp: number): void {
    const fr = this.slotFrame();
    fr.kind = BOUNDARY;
    fr.gen = null;
    fr.fn = null;
    fr.bKind = kind;
    fr.savedPc = pc;
    fr.savedEl = el;
    fr.savedSp = sp;
    fr.handle = 0;
  }

  private slotFrame(): Frame {
    if (this.depth >= (this.cfg.maxFrames ?? 512)) throw this.fault(`more than ${this.cfg.maxFrames ?? 512} nested frames (runaway recursion?)`);
    if (this.depth === this.stack.length) this.stack.push(new Frame());
    return this.stack[this.depth++]!;
  }

  private popTopFrom(fr: Frame): void {
    this.gen = fr.gen;
    this.fn = fr.fn;
    this.fnSize = fr.fn!.size;
    this.slot = fr.slot;
    this.ret = fr.ret;
    this.viaBl = fr.viaBl;
    this.retryOp = fr.retryOp;
    this.retryA = fr.retryA;
    this.retryB = fr.retryB;
    this.retryC = fr.retryC;
    fr.gen = null;
  }

  private topBoundary(): number {
    for (let i = this.depth - 1; i >= 0; i--) if (this.stack[i]!.kind === BOUNDARY) return i;
    return -1;
  }

  /** Pops down to boundary `i` and resumes the frame it interrupted. */
  private unwindTo(i: number): void {
    const below = this.stack[i - 1];
    if (!below || below.kind !== FRAME || below.gen === null) throw this.fault('exception boundary without an interrupted frame');
    for (let k = i; k < this.depth; k++) this.stack[k]!.gen = null;
    this.depth = i - 1;
    this.popTopFrom(below);
  }

  private startFn(f: PlacedFn): void {
    const x = this.cpuF64;
    this.fn = f;
    this.fnSize = f.size;
    this.slot = 0;
    this.viaBl = false;
    this.retryOp = 0;
    this.ret = 0;
    this.gen = f.body(this.ctx, x[this.fX]!, x[this.fX + 1]!, x[this.fX + 2]!, x[this.fX + 3]!);
  }

  /** BL: x30 = return address, frame record {x29, x30} pushed, x29 = sp; the callee starts at +0x8. */
  private doCall(): void {
    const f = this.callFn!;
    this.callFn = null;
    const lr = this.currentPc();
    const x = this.cpuF64;
    const sp = x[this.fSp]! - 16;
    const off = this.stackOff(sp, 16); // the frame record {x29, x30}
    this.storeDword(off >> 2, x[this.fX + 29]!);
    this.storeDword((off >> 2) + 2, lr);
    this.m.noteRamWrite(off, 16);
    x[this.fSp] = sp;
    x[this.fX + 29] = sp;
    x[this.fX + 30] = lr;
    this.pushTop();
    this.fn = f;
    this.fnSize = f.size;
    this.slot = PROLOGUE_SLOTS;
    this.viaBl = true;
    this.ret = 0;
    x[this.fX] = this.callA0;
    x[this.fX + 1] = this.callA1;
    x[this.fX + 2] = this.callA2;
    x[this.fX + 3] = this.callA3;
    this.gen = f.body(this.ctx, this.callA0, this.callA1, this.callA2, this.callA3);
    if (f.traced) this.trace?.emit(T.CALL, f.id, lr);
    if (this.bpAddr === f.base + PROLOGUE_SLOTS * 4) this.debugMatch('breakpoint', this.bpAddr, 0);
  }

  /** RET: the frame record is popped and the caller resumes with the return value (x0). */
  private doReturn(value: number | void): void {
    this.retired++;
    const fn = this.fn!;
    const below = this.depth > 0 ? this.stack[this.depth - 1]! : null;
    if (!this.viaBl || below === null || below.kind !== FRAME) {
      throw this.fault(`${fn.name} returned, but it was entered by an exception, ERET or CPU_ON and has no caller`, 'guest-code');
    }
    const x = this.cpuF64;
    const sp = x[this.fSp]!;
    const off = this.stackOff(sp, 16);
    x[this.fX + 29] = this.loadDword(off >> 2);
    x[this.fX + 30] = this.loadDword((off >> 2) + 2);
    x[this.fSp] = sp + 16;
    if (fn.traced) this.trace?.emit(T.RETURN, fn.id, 0);
    this.depth--;
    this.popTopFrom(below);
    const v = value === undefined ? 0 : value;
    x[this.fX] = v;
    this.ret = v;
  }

  // =====================================================================
  // EXT: task context switch (cpu_switch_to)
  // =====================================================================

  /**
   * cpu_switch_to(prev, next) (arch/arm64/kernel/entry.S) as one instruction:
   * it saves the callee-saved registers x19-x28, fp (x29), lr (x30) and SP
   * of the outgoing task into its thread.cpu_context and loads the incoming
   * task's. Part of a kernel stack's contents is host-side in the model (the
   * generator frames and exception boundaries of the frame stack), so the
   * whole frame stack (top frame included) is saved under `save` together with
   * SP and x19-x30, and the context saved under `restore`, or set up by
   * forkStack, becomes current in the same instruction: an interrupt can never
   * see one task's SP with the other's frames. Like arm64, it saves no PSTATE:
   * DAIF and PMR carry over to the incoming task. The resumed code receives
   * `save` in x0 (cpu_switch_to returns `last`, the task switched from).
   */
  switchStacks(save: number, restore: number): number {
    this.switchSave = save;
    this.switchRestore = restore;
    return OP_SWITCH;
  }

  /**
   * copy_thread() for a kernel thread: the saved context of `task` starts
   * `start` (ret_from_fork) at its entry on stack `sp`, with x19 and x20 (the
   * thread function and its argument), the first time it is switched to.
   */
  forkStack(task: number, start: PlacedFn, sp: number, x19: number, x20: number): number {
    const regs = new Float64Array(12);
    regs[0] = x19;
    regs[1] = x20;
    const frames: Frame[] = [];
    for (let i = 0; i < 16; i++) frames.push(new Frame());
    this.contexts.set(task, { frames, depth: 0, sp, regs, start });
    return OP_NONE;
  }

  private doSwitch(): void {
    const prev = this.switchSave;
    const next = this.contexts.get(this.switchRestore);
    if (!next) throw this.fault(`cpu_switch_to task 0x${this.switchRestore.toString(16)}, which has no saved context`, 'guest-code');
    this.contexts.delete(this.switchRestore);
    const x = this.cpuF64;
    this.pushTop();
    this.contexts.set(prev, { frames: this.stack, depth: this.depth, sp: x[this.fSp]!, regs: x.slice(this.fX + 19, this.fX + 31), start: null });
    this.stack = next.frames;
    this.depth = next.depth;
    x[this.fSp] = next.sp;
    x.set(next.regs, this.fX + 19);
    x[this.fX] = prev;
    if (next.start) {
      this.startFn(next.start);
    } else {
      this.depth = next.depth - 1;
      const top = this.stack[this.depth]!;
      if (top.kind !== FRAME || top.gen === null) throw this.fault('a saved task context without a top frame');
      this.popTopFrom(top);
      this.ret = prev;
    }
    this.recheck = true;
  }

  // =====================================================================
  // EXT: injected faults: SError, hardware breakpoint and watchpoint
  // =====================================================================

  /**
   * A physical SError becomes pending (the scenario's RAS error injection; a
   * real one comes from the RAS node's ERR<n>PFGCTL pseudo-fault generator).
   * SError is asynchronous: it is taken at EL1 only while PSTATE.A is clear
   * and stays pending while A is set (Arm DDI0487 D1.3.4 "Asynchronous
   * exception masking"). WFI wakes for it even when masked.
   */
  raiseSError(esr: number): void {
    this.serrorEsr = esr >>> 0;
    this.recheck = true;
    this.trace?.emit(T.INJECT, 1, 0);
  }

  /**
   * Arms breakpoint 0 on the instruction at `addr` (DBGBVR0_EL1, with
   * DBGBCR0_EL1.E and MDSCR_EL1.{KDE,MDE} set, as a perf hardware breakpoint
   * does); -1 disarms. The model matches it when a BL enters a function whose
   * first body instruction (after the frame-record prologue) is at `addr`.
   */
  armBreakpoint(addr: number): void {
    this.bpAddr = addr;
    this.trace?.emit(T.INJECT, 2, addr);
  }

  /** Arms watchpoint 0 on the word at `addr` (loads and stores; DBGWVR0_EL1/DBGWCR0_EL1); -1 disarms. */
  armWatchpoint(addr: number): void {
    this.wpAddr = addr;
    this.wpStepOver = false;
    this.trace?.emit(T.INJECT, 3, addr);
  }

  /**
   * A breakpoint or watchpoint matched. Debug exceptions from EL1 are
   * generated only while PSTATE.D is clear (Arm DDI0487 D2.1, "Enabling
   * debug exceptions from the current Exception level"); a masked
   * Breakpoint or Watchpoint exception is ignored, not pended (D2.10, D2.11).
   * Returns whether the exception is raised.
   */
  private debugMatch(kind: 'breakpoint' | 'watchpoint', addr: number, esr: number): boolean {
    const masked = (this.cpu32[this.iPstate]! & PSR_D) !== 0 || this.currentEl() !== 1;
    this.trace?.emit(T.DEBUG_EXC, (kind === 'breakpoint' ? 1 : 2) | (masked ? 0 : 0x10) | (this.exceptionDepth() << 8), addr);
    this.observer?.event(this, kind, !masked, addr);
    if (masked) return false;
    if (kind === 'breakpoint') {
      // ESR: EC Breakpoint (current EL), IFSC 0b100010 (debug exception).
      this.dbgEsr = ((EC_BREAKPT_CUR << ESR_EC_SHIFT) | ESR_IL | 0x22) >>> 0;
      this.dbgFar = 0;
      this.recheck = true;
    } else {
      this.excEsr = esr;
    }
    return true;
  }

  /**
   * A load or store to the watched word: raises the Watchpoint exception
   * before the access (it is retried after the handler returns, stepping over
   * the watchpoint once, as Linux does by single-stepping it).
   */
  private watchpointHit(op: number, addr: number, a: number, b: number): boolean {
    if (this.wpStepOver) {
      this.wpStepOver = false;
      return false;
    }
    // ESR: EC Watchpoint (current EL), WnR, DFSC 0b100010 (debug exception).
    if (!this.debugMatch('watchpoint', addr, ((EC_WATCHPT_CUR << ESR_EC_SHIFT) | ESR_IL | (WRITES[op] ? ISS_WNR : 0) | 0x22) >>> 0)) return false;
    this.abortAndRetry(op, addr, a, b);
    this.wpStepOver = true;
    return true;
  }

  /** Takes a pending debug exception, or an unmasked SError; returns whether an exception was taken. */
  private takeDebugOrSError(el: number): boolean {
    if (this.dbgEsr !== 0) {
      const esr = this.dbgEsr;
      this.dbgEsr = 0;
      this.takeEl1(VEC_SYNC, this.currentPc(), esr, this.dbgFar);
      return true;
    }
    if (el !== 1) return false; // an SError routed to EL1 is masked while at EL3
    const masked = (this.cpu32[this.iPstate]! & PSR_A) !== 0;
    this.trace?.emit(T.SERROR, (masked ? 1 : 2) | (this.exceptionDepth() << 8), this.cpu32[this.iPstate]!);
    this.observer?.event(this, 'serror', !masked, 0);
    if (masked) return false;
    const esr = this.serrorEsr;
    this.serrorEsr = -1;
    this.takeEl1(VEC_SERROR, this.currentPc(), esr, 0);
    return true;
  }

  // =====================================================================
  // Waiting, power
  // =====================================================================

  /** The guest time at which this CPU must wake even without an event. */
  wakeDeadline(): number {
    let d = this.alarm;
    if (this.waitKind === WAIT_OFF) return Infinity;
    if (this.waitKind === WAIT_EL3) return Math.min(d, this.waitDeadline);
    if (this.waitDeadline < d) d = this.waitDeadline;
    if (this.injectAt < d) d = this.injectAt;
    const t = this.timerDeadline();
    // A timer that has fired and drives its PPI already: whether that interrupt wakes the wait is the
    // GIC's and PSTATE's business, and waking again for a past deadline would spin a CPU that waits
    // with the timer interrupt masked. But in the threads engine guest time moves between
    // waitSatisfied's poll and this call: a deadline that passed in between has not driven the line
    // yet, and must still wake the CPU (at once) so that the poll raises it.
    if (t >= d) return d;
    return t > this.clock.now() || !ppiInputHigh(this.m, this.cpu, 27) ? t : d;
  }

  private goToSleep(): number {
    this.sleeping = true;
    this.publish();
    this.trace?.emit(T.SLEEP, this.waitKind, this.currentPc());
    return RUN_WAIT;
  }

  /** Re-evaluates the wait; returns -1 to continue executing, or a RUN_* code. */
  private resumeWait(): number {
    if (!this.waitSatisfied()) return this.waitKind === WAIT_OFF ? RUN_OFF : RUN_WAIT;
    // Stopped while asleep: keep the wait state so the final state says what the CPU was doing.
    if (this.stopRequested) return this.stopNow();
    this.sleeping = false;
    const kind = this.waitKind;
    this.waitKind = WAIT_NONE;
    this.cpu32[this.i0 + F.WAIT_KIND.index] = WAIT_NONE;
    this.trace?.emit(T.WAKE, kind, 0);
    switch (kind) {
      case WAIT_WFI:
      case WAIT_WFE:
        this.retire();
        return -1;
      case WAIT_EL3: {
        // Only an SMC stays at EL3: when it completes, its result (x0) goes to the caller, as in OP_SMC.
        const caller = this.gen;
        const r = this.el3Exit(this.el3.wedgeEnd(this));
        if (r < 0 && caller !== null && this.gen === caller) this.ret = this.cpuF64[this.fX]!;
        return r;
      }
      case WAIT_OFF:
        return this.powerOn();
      default:
        return -1;
    }
  }

  private waitSatisfied(): boolean {
    this.absorbAttention();
    if (this.stopRequested) return true;
    if (this.waitKind === WAIT_OFF) return this.powerRequested;
    const now = this.clock.now();
    if (now >= this.alarm) {
      this.alarm = Infinity;
      if (this.waitKind !== WAIT_EL3) return true;
    }
    if (this.waitKind === WAIT_EL3) {
      return now >= this.waitDeadline || (this.el3WakeOnIrq && this.gic.signalled(false) !== null);
    }
    this.pollTimer(now);
    if (now >= this.waitDeadline) return true;
    if (this.waitKind === WAIT_WFI) return this.gic.signalled(this.currentEl() === 3) !== null || this.serrorEsr >= 0;
    // WFE
    if (exchange32(this.plain, this.cpu32, this.i0 + F.EVENT_REG.index, 0) !== 0) return true;
    return this.takeableSignalled();
  }

  private powerDown(): void {
    for (let k = 0; k < this.depth; k++) this.stack[k]!.gen = null;
    this.depth = 0;
    this.gen = null;
    this.fn = null;
    this.retryOp = 0;
    this.sleeping = true;
    this.waitKind = WAIT_OFF;
    this.alarm = Infinity;
    this.cpu32[this.i0 + F.WAIT_KIND.index] = WAIT_OFF;
    this.trace?.emit(T.POWER_OFF, 0, 0);
    this.publish();
  }

  private powerOn(): number {
    this.powerRequested = false;
    this.cpu32[this.iPstate] = PSR_MODE_EL3H | PSR_DAIF;
    this.depth = 0;
    this.gen = null;
    this.fn = null;
    this.recheck = true;
    const exit = this.el3.warmBoot(this);
    this.trace?.emit(T.POWER_ON, this.cpuF64[this.f0 + F.ELR_EL3.index]!, 0);
    return this.el3Exit(exit);
  }

  private stopNow(): number {
    this.stopRequested = true;
    this.publish();
    return RUN_STOPPED;
  }

  /** Whether the core is asleep (WFI/WFE/EL3/OFF) and what for. */
  isSleeping(): boolean {
    return this.sleeping;
  }

  isOff(): boolean {
    return this.sleeping && this.waitKind === WAIT_OFF;
  }

  // =====================================================================
  // Generic timer (virtual timer, PPI 27)
  // =====================================================================

  private timerDeadline(): number {
    const ctl = this.cpu32[this.i0 + F.CNTV_CTL.index]!;
    if ((ctl & (CNTV_CTL_ENABLE | CNTV_CTL_IMASK)) !== CNTV_CTL_ENABLE) return Infinity;
    return this.cpuF64[this.f0 + F.CNTV_CVAL.index]!;
  }

  /** Drives the timer's level output into the redistributor (ISTATUS && !IMASK). Engines call it between slices. */
  pollTimer(now: number = this.clock.now()): void {
    const fire = now >= this.timerDeadline();
    if (setPpiInput(this.m, this.cpu, 27, fire)) this.recheck = true;
    if (now >= this.injectAt) this.injectAt = this.observer ? this.observer.inject(this, now) : Infinity;
  }

  // =====================================================================
  // Architectural state accessors
  // =====================================================================

  currentPc(): number {
    return this.fn !== null ? this.fn.base + this.slot * 4 : this.cpuF64[this.f0 + F.PC.index]!;
  }

  currentEl(): number {
    return (this.cpu32[this.iPstate]! >> 2) & 3;
  }

  get pstate(): number {
    return this.cpu32[this.iPstate]!;
  }
  set pstate(v: number) {
    this.cpu32[this.iPstate] = v;
    this.recheck = true;
  }

  /** Reads general-purpose register x<n> (free: part of the instruction that uses it). */
  x(n: number): number {
    return this.cpuF64[this.fX + n]!;
  }
  setX(n: number, v: number): void {
    this.cpuF64[this.fX + n] = v;
  }
  get sp(): number {
    return this.cpuF64[this.fSp]!;
  }

  /** Copies PC and the retired count into shared memory for other threads. */
  publish(): void {
    this.cpuF64[this.f0 + F.PC.index] = this.currentPc();
    this.cpuF64[this.f0 + F.RETIRED.index] = this.retired;
    this.cpu32[this.i0 + F.WAIT_KIND.index] = this.sleeping ? this.waitKind : WAIT_NONE;
  }

  /** Return addresses of the frames of the current context, innermost first (for reports). */
  backtrace(): string[] {
    const out: string[] = [this.image.symbolize(this.currentPc())];
    for (let i = this.depth - 1; i >= 0; i--) {
      const fr = this.stack[i]!;
      if (fr.kind === BOUNDARY) out.push(`<exception, return to ${this.image.symbolize(fr.savedPc)}>`);
      else if (fr.fn) out.push(this.image.symbolize(fr.fn.base + fr.slot * 4));
    }
    return out;
  }

  /** Number of exception boundaries currently stacked (nesting depth). */
  exceptionDepth(): number {
    let n = 0;
    for (let i = 0; i < this.depth; i++) if (this.stack[i]!.kind === BOUNDARY) n++;
    return n;
  }

  fault(msg: string, code: 'model' | 'guest-code' = 'model'): ModelError {
    return new ModelError(this.cpu, this.currentPc(), msg, code);
  }

  private setEventRegister(): void {
    store32(this.plain, this.cpu32, this.i0 + F.EVENT_REG.index, 1);
  }

  // =====================================================================
  // Guest memory
  // =====================================================================

  /** Word index into RAM, -1 if `addr` is not a 4-aligned RAM address. */
  private ramIdx(addr: number, align: number): number {
    const off = addr - this.ramBase;
    if (off >= 0 && off + align <= this.ramBytes && (off & (align - 1)) === 0) return off;
    return -1;
  }

  /**
   * Byte offset of `bytes` of stack at `addr` (8-aligned, all of it in RAM), for the multi-word
   * accesses the core makes itself (frame records, pt_regs): one check for the whole block.
   */
  private stackOff(addr: number, bytes: number): number {
    const off = addr - this.ramBase;
    if (off < 0 || off + bytes > this.ramBytes || (off & 7) !== 0) throw this.fault(`stack access at 0x${addr.toString(16)} outside RAM (stack overflow?)`);
    return off;
  }

  /** Stores a 64-bit value (a safe integer) as two words at RAM word index `w`; the caller checked and marks it. */
  private storeDword(w: number, v: number): void {
    const hi = Math.floor(v / TWO32);
    store32(this.plain, this.ram32, w, v - hi * TWO32);
    store32(this.plain, this.ram32, w + 1, hi);
  }

  private loadDword(w: number): number {
    return (load32(this.plain, this.ram32, w) >>> 0) + load32(this.plain, this.ram32, w + 1) * TWO32;
  }

  /** A store hit a RAM word: clear the exclusive monitors armed on it (WFE wake-up). */
  private monitorHit(addr: number): void {
    const b = monitorBucket(addr);
    if (load32(this.plain, this.m.ctl32, ControlLayout.fields.MONITOR_FILTER.index + b) === 0) return;
    for (let pe = 0; pe < this.m.ncpus; pe++) {
      const mi = this.m.cpuI(pe, F.MONITOR.index);
      // Perf: a load first (plain in the sim engine); the CAS still decides. A bucket shared by many
      // waiters made this loop's CAS per PE 5% of a 256-CPU run.
      if (load32(this.plain, this.cpu32, mi) !== addr) continue;
      if (Atomics.compareExchange(this.cpu32, mi, addr, 0) === addr) {
        // The CAS winner owns the filter count; the event register then wakes WFE.
        Atomics.sub(this.m.ctl32, ControlLayout.fields.MONITOR_FILTER.index + b, 1);
        Atomics.store(this.cpu32, this.m.cpuI(pe, F.EVENT_REG.index), 1);
        kick(this.m, pe, ATTN_EVENT);
      }
    }
  }

  private memOp(op: number, addr: number, a: number, b: number): number {
    if ((addr === this.wpAddr || (op === R_STPW && addr + 4 === this.wpAddr)) && this.watchpointHit(op, addr, a, b)) return OP_EXC;
    const align = op === R_LDR64 || op === R_STR64 ? 8 : op === R_LDRB || op === R_STRB ? 1 : 4;
    let off = this.ramIdx(addr, align);
    if (op === R_STPW && off + 8 > this.ramBytes) off = -1; // both words in RAM
    if (off < 0) return this.mmioOrAbort(op, addr, a, b);
    const i = off >> 2;
    const r = this.ram32;
    if (WRITES[op] === true) this.ramDirty[off >>> RAM_DIRTY_SHIFT] = 1; // aligned: one chunk
    switch (op) {
      case R_LDR: this.ret = load32(this.plain, r, i); break;
      case R_STR: store32(this.plain, r, i, a); this.monitorHit(addr); break;
      case R_CAS: this.ret = cas32(this.plain, r, i, a, b); this.monitorHit(addr); break;
      case R_LDADD: this.ret = add32(this.plain, r, i, a); this.monitorHit(addr); break;
      case R_LDCLR: this.ret = and32(this.plain, r, i, ~a); this.monitorHit(addr); break;
      case R_LDSET: this.ret = or32(this.plain, r, i, a); this.monitorHit(addr); break;
      case R_SWP: this.ret = exchange32(this.plain, r, i, a); this.monitorHit(addr); break;
      case R_LDR64: this.ret = this.loadDword(i); break;
      case R_STR64: this.storeDword(i, a); this.monitorHit(addr); break;
      case R_LDRB: this.ret = Atomics.load(this.ramU8, off); break;
      case R_STRB: Atomics.store(this.ramU8, off, a); this.monitorHit(addr & ~3); break;
      case R_STPW:
        store32(this.plain, r, i, a);
        store32(this.plain, r, i + 1, b);
        this.ramDirty[(off + 4) >>> RAM_DIRTY_SHIFT] = 1; // the second word may start the next chunk
        this.monitorHit(addr);
        this.monitorHit(addr + 4);
        break;
    }
    return OP_NONE;
  }

  private mmioOrAbort(op: number, addr: number, a: number, b: number): number {
    const ns = this.currentEl() !== 3;
    const width = op === R_LDRB || op === R_STRB ? 1 : 4;
    const misaligned = (addr & (width - 1)) !== 0;
    if (!misaligned && (op === R_LDR || op === R_STR || op === R_LDRB || op === R_STRB)) {
      if (addr >= GICD_BASE && addr < GICD_BASE + GICD_SIZE) {
        if (op === R_LDR || op === R_LDRB) this.ret = gicdRead(this.m, (addr - GICD_BASE) & ~3, ns, this.cfg.priBits) >>> (8 * (addr & 3)) & (width === 1 ? 0xff : 0xffffffff);
        else gicdWrite(this.m, addr - GICD_BASE, a, ns, this.cfg.priBits, width);
        return OP_NONE;
      }
      if (addr >= GICR_BASE && addr < this.m.map.gicrEnd) {
        const pe = Math.floor((addr - GICR_BASE) / GICR_STRIDE);
        const off = addr - GICR_BASE - pe * GICR_STRIDE;
        if (op === R_LDR || op === R_LDRB) this.ret = gicrRead(this.m, pe, off & ~3, ns) >>> (8 * (off & 3)) & (width === 1 ? 0xff : 0xffffffff);
        else gicrWrite(this.m, pe, off, a, ns, this.cfg.priBits, width);
        return OP_NONE;
      }
    }
    // Synchronous data abort (reference section 5.2; DDI0487 D17.2.37): ESR.EC = DABT_CUR, FAR = address.
    const inRam = addr - this.ramBase >= 0 && addr - this.ramBase < this.ramBytes;
    this.excEsr = esrDataAbort(WRITES[op]!, inRam ? DFSC_ALIGNMENT : DFSC_TRANSLATION_L0);
    this.abortAndRetry(op, addr, a, b);
    this.trace?.emit(T.DATA_ABORT, addr, this.currentPc());
    return OP_EXC;
  }

  /**
   * The memory access `op` at `addr` takes a synchronous exception (ESR already set, FAR = addr)
   * and is retried once the handler returns to it (ELR = the access).
   */
  private abortAndRetry(op: number, addr: number, a: number, b: number): void {
    this.excFar = addr;
    this.excOff = VEC_SYNC;
    this.retryOp = op;
    this.retryA = addr;
    this.retryB = a;
    this.retryC = b;
  }

  private doRetry(): number {
    const op = this.retryOp;
    if (op === R_NOPS) {
      if (--this.retryA <= 0) this.retryOp = 0;
      return OP_NONE;
    }
    this.retryOp = 0;
    return this.memOp(op, this.retryA, this.retryB, this.retryC);
  }

  // =====================================================================
  // Instruction methods (guest code yields their results)
  // =====================================================================

  /** NOP (also ISB, DMB, DSB: the model's memory is sequentially consistent). */
  nop(): number { return OP_NONE; }
  isb(): number { return OP_NONE; }
  dsb(): number { return OP_NONE; }
  dmb(): number { return OP_NONE; }
  /** YIELD (cpu_relax). */
  yield_(): number { return OP_NONE; }

  /**
   * `n` NOPs in a row (a straight run of computation), yielded once: exactly
   * `n` instructions, each an instruction boundary where an interrupt can be
   * taken, each advancing the PC, as `for (i < n) yield c.nop()` is. Perf:
   * the step loop retires them without resuming the guest function (R_NOPS).
   */
  nops(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw this.fault(`nops(${n}): the NOP count must be an integer of at least 1`, 'guest-code');
    if (n > 1) {
      this.retryOp = R_NOPS;
      this.retryA = n - 1;
    }
    return OP_NONE;
  }

  /**
   * Byte offset of an access of `align` bytes at `addr` that memOp would carry out as a plain RAM
   * access (in RAM, aligned, no watchpoint on it), else -1. Perf: the four common accesses below
   * take this path inline and skip memOp's dispatch; anything else goes through memOp.
   */
  private plainRamOff(addr: number, align: number): number {
    const off = addr - this.ramBase;
    return off >= 0 && off + align <= this.ramBytes && (off & (align - 1)) === 0 && addr !== this.wpAddr ? off : -1;
  }

  /** LDR (32-bit). */
  ldr(addr: number): number {
    const off = this.plainRamOff(addr, 4);
    if (off < 0) return this.memOp(R_LDR, addr, 0, 0);
    this.ret = load32(this.plain, this.ram32, off >> 2);
    return OP_NONE;
  }
  /** STR (32-bit). */
  str(addr: number, v: number): number {
    const off = this.plainRamOff(addr, 4);
    if (off < 0) return this.memOp(R_STR, addr, v, 0);
    this.ramDirty[off >>> RAM_DIRTY_SHIFT] = 1;
    store32(this.plain, this.ram32, off >> 2, v);
    this.monitorHit(addr);
    return OP_NONE;
  }
  /** LDR (64-bit); the value must be a safe integer. */
  ldr64(addr: number): number {
    const off = this.plainRamOff(addr, 8);
    if (off < 0) return this.memOp(R_LDR64, addr, 0, 0);
    this.ret = this.loadDword(off >> 2);
    return OP_NONE;
  }
  str64(addr: number, v: number): number {
    const off = this.plainRamOff(addr, 8);
    if (off < 0) return this.memOp(R_STR64, addr, v, 0);
    this.ramDirty[off >>> RAM_DIRTY_SHIFT] = 1;
    this.storeDword(off >> 2, v);
    this.monitorHit(addr);
    return OP_NONE;
  }
  /** STP (32-bit pair, STP Wt1, Wt2, [addr]): two words at addr and addr + 4 in one instruction (memcpy's wide stores). */
  stpw(addr: number, w0: number, w1: number): number { return this.memOp(R_STPW, addr, w0, w1); }
  ldrb(addr: number): number { return this.memOp(R_LDRB, addr, 0, 0); }
  strb(addr: number, v: number): number { return this.memOp(R_STRB, addr, v & 0xff, 0); }
  /** CAS: returns the old value; stores `v` if it equalled `expected`. */
  cas(addr: number, expected: number, v: number): number { return this.memOp(R_CAS, addr, expected, v); }
  /** LDADD: atomic add, returns the old value. */
  ldadd(addr: number, v: number): number { return this.memOp(R_LDADD, addr, v, 0); }
  /** LDCLR: atomic bit clear, returns the old value (test_and_clear_bit). */
  ldclr(addr: number, bits: number): number { return this.memOp(R_LDCLR, addr, bits, 0); }
  /** LDSET: atomic bit set, returns the old value (test_and_set_bit). */
  ldset(addr: number, bits: number): number { return this.memOp(R_LDSET, addr, bits, 0); }
  swp(addr: number, v: number): number { return this.memOp(R_SWP, addr, v, 0); }

  /** LDXR: load and arm this PE's exclusive monitor on `addr` (a later store to it sets the event register). */
  ldxr(addr: number): number {
    this.disarmMonitor();
    const off = this.ramIdx(addr, 4);
    if (off >= 0) {
      add32(this.plain, this.m.ctl32, ControlLayout.fields.MONITOR_FILTER.index + monitorBucket(addr), 1);
      store32(this.plain, this.cpu32, this.i0 + F.MONITOR.index, addr);
    }
    return this.memOp(R_LDR, addr, 0, 0);
  }

  /** CLREX. */
  clrex(): number {
    this.disarmMonitor();
    return OP_NONE;
  }

  private disarmMonitor(): void {
    const mi = this.i0 + F.MONITOR.index;
    const old = load32(this.plain, this.cpu32, mi);
    if (old !== 0 && cas32(this.plain, this.cpu32, mi, old, 0) === old) {
      add32(this.plain, this.m.ctl32, ControlLayout.fields.MONITOR_FILTER.index + monitorBucket(old), -1);
    }
  }

  /** B to `label` (a slot obtained from `label()`): loops keep meaningful PCs. */
  b(label: number): number {
    this.slot = label - 1; // the retirement increment lands on `label`
    return OP_NONE;
  }

  /** The slot of the next instruction, for `b()` (not an instruction). */
  label(): number {
    return this.slot;
  }

  /** BL to a placed guest function with up to four arguments (x0-x3). */
  bl(fn: PlacedFn, a0 = 0, a1 = 0, a2 = 0, a3 = 0): number {
    this.callFn = fn;
    this.callA0 = a0;
    this.callA1 = a1;
    this.callA2 = a2;
    this.callA3 = a3;
    return OP_CALL;
  }

  /** ERET (at EL1). */
  eret(): number { return OP_ERET; }

  /** SMC #0 with function id in x0 and arguments in x1-x7 (unspecified ones keep their values). */
  smc(fid: number, a1?: number, a2?: number, a3?: number, a4?: number, a5?: number, a6?: number, a7?: number): number {
    const x = this.cpuF64;
    const b = this.fX;
    x[b] = fid;
    if (a1 !== undefined) x[b + 1] = a1;
    if (a2 !== undefined) x[b + 2] = a2;
    if (a3 !== undefined) x[b + 3] = a3;
    if (a4 !== undefined) x[b + 4] = a4;
    if (a5 !== undefined) x[b + 5] = a5;
    if (a6 !== undefined) x[b + 6] = a6;
    if (a7 !== undefined) x[b + 7] = a7;
    if (this.currentEl() !== 1) throw this.fault(`SMC from EL${this.currentEl()}`);
    return OP_SMC;
  }

  /** WFI: wait until an interrupt is signalled to the PE, even if PSTATE masks it (reference 5.3). */
  wfi(): number {
    this.waitKind = WAIT_WFI;
    this.waitDeadline = Infinity;
    return OP_WAIT;
  }

  /** WFE: wait for the event register (SEV, monitor, ERET) or an interrupt the PE would take. */
  wfe(): number {
    this.waitKind = WAIT_WFE;
    this.waitDeadline = Infinity;
    return OP_WAIT;
  }

  /**
   * EXT: a polling loop (udelay, cpu_relax spin) fast-forwarded: wait like
   * WFE but also until guest time `deadline`. A loop that polls memory with no
   * other side effect observes exactly what it would observe by polling, since
   * anything that can change its next step wakes it: a store to the monitored
   * address (arm it with `ldxr`), an interrupt it would take, SEV, the deadline.
   */
  waitUntil(deadline: number): number {
    this.waitKind = WAIT_WFE;
    this.waitDeadline = deadline;
    return OP_WAIT;
  }

  /** SEV: set the event register of every PE. */
  sev(): number {
    for (let pe = 0; pe < this.m.ncpus; pe++) {
      Atomics.store(this.cpu32, this.m.cpuI(pe, F.EVENT_REG.index), 1);
      if (pe !== this.cpu) kick(this.m, pe, ATTN_EVENT);
    }
    return OP_NONE;
  }

  /** SEVL: set the local event register. */
  sevl(): number {
    Atomics.store(this.cpu32, this.i0 + F.EVENT_REG.index, 1);
    return OP_NONE;
  }

  /** BRK #imm: a software breakpoint, synchronous exception EC 0x3c. */
  brk(imm: number): number {
    this.excEsr = ((EC_BRK64 << ESR_EC_SHIFT) | ESR_IL | (imm & 0xffff)) >>> 0;
    this.excFar = 0;
    this.excOff = VEC_SYNC;
    return OP_EXC;
  }

  /** An UNDEFINED instruction (EC 0). */
  undef(): number {
    this.excEsr = ((EC_UNKNOWN << ESR_EC_SHIFT) | ESR_IL) >>> 0;
    this.excFar = 0;
    this.excOff = VEC_SYNC;
    return OP_EXC;
  }

  /** MSR DAIFSet, #imm. */
  daifSet(imm: number): number {
    this.cpu32[this.iPstate] = this.cpu32[this.iPstate]! | daifImmToBits(imm);
    return OP_NONE;
  }

  /**
   * After a write to an interrupt mask (PSTATE.DAIF or ALLINT, ICC_PMR_EL1):
   * only a write that `unmasked` something can make an interrupt takeable at
   * the next boundary; one that only keeps or adds masking cannot (whatever was
   * signalled and unmasked before was taken then, and a GIC change by another
   * PE sets ATTN). Perf: so only an unmasking write re-evaluates the GIC,
   * which spin_lock_irqsave-style code does at every lock. A pending SError or
   * debug event is re-evaluated anyway, since that evaluation records that it
   * found them masked (as exception entry does).
   */
  private maskChanged(unmasked: boolean): void {
    if (unmasked || this.serrorEsr >= 0 || this.dbgEsr !== 0) this.recheck = true;
  }

  /** MSR DAIFClr, #imm: may unmask a pending interrupt, taken at the next boundary. */
  daifClr(imm: number): number {
    this.cpu32[this.iPstate] = this.cpu32[this.iPstate]! & ~daifImmToBits(imm);
    this.recheck = true;
    return OP_NONE;
  }

  /** MOV SP, x: set the current stack pointer (SP_EL1 at EL1h). */
  setSp(v: number): number {
    this.cpuF64[this.fSp] = v;
    return OP_NONE;
  }

  /** MOV x<n>, #v (for code that must leave a value in a register, e.g. before ERET or for EVENT_CONTEXT). */
  mov(n: number, v: number): number {
    this.cpuF64[this.fX + n] = v;
    return OP_NONE;
  }

  /**
   * kernel_entry (arch/arm64/kernel/entry.S) as one multi-register store:
   * pushes a struct pt_regs (cpus/ptregs.ts) holding x0-x30, the interrupted
   * SP, ELR_EL1, SPSR_EL1 and ICC_PMR_EL1 (Non-secure view); SP drops by
   * PT_REGS_SIZE and the result (also left in x0) is the frame's address.
   */
  saveRegs(): number {
    const x = this.cpuF64;
    const oldSp = x[this.fSp]!;
    const sp = oldSp - PT_REGS.SIZE;
    const off = this.stackOff(sp, PT_REGS.SIZE);
    const w = off >> 2;
    for (let i = 0; i < 31; i++) this.storeDword(w + 2 * i, x[this.fX + i]!);
    this.storeDword(w + PT_REGS.SP / 4, oldSp);
    this.storeDword(w + PT_REGS.PC / 4, x[this.f0 + F.ELR_EL1.index]!);
    this.storeDword(w + PT_REGS.PSTATE / 4, this.cpu32[this.i0 + F.SPSR_EL1.index]! >>> 0);
    this.storeDword(w + PT_REGS.ORIG_X0 / 4, x[this.fX]!);
    store32(this.plain, this.ram32, w + PT_REGS.PMR / 4, this.gic.readPmr(true));
    this.m.noteRamWrite(off, PT_REGS.SIZE);
    x[this.fSp] = sp;
    x[this.fX] = sp;
    this.ret = sp;
    return OP_NONE;
  }

  /**
   * kernel_exit: reloads x0-x30, ELR_EL1 and SPSR_EL1 from the pt_regs at
   * `regs`, and ICC_PMR_EL1 when `restorePmr` (pseudo-NMI); SP = the saved SP.
   */
  restoreRegs(regs: number, restorePmr: boolean): number {
    const x = this.cpuF64;
    const w = this.stackOff(regs, PT_REGS.SIZE) >> 2;
    for (let i = 0; i < 31; i++) x[this.fX + i] = this.loadDword(w + 2 * i);
    x[this.f0 + F.ELR_EL1.index] = this.loadDword(w + PT_REGS.PC / 4);
    this.cpu32[this.i0 + F.SPSR_EL1.index] = this.loadDword(w + PT_REGS.PSTATE / 4) | 0;
    if (restorePmr) {
      this.gic.writePmr(load32(this.plain, this.ram32, w + PT_REGS.PMR / 4), true);
      this.recheck = true;
    }
    x[this.fSp] = this.loadDword(w + PT_REGS.SP / 4);
    return OP_NONE;
  }

  /**
   * EXT: leave the modelled world: ends the machine run with `outcome` (the
   * jump of cpu_soft_restart into the capture kernel ends a kdump run).
   * Returns false to the caller's next instruction only if the run had already
   * ended for another reason.
   */
  halt(outcome: 'kexec' | 'reset' | 'poweroff', detail = 0): number {
    this.endRun(outcome, detail);
    return OP_HALT;
  }

  /** ADR x, . : the address of this instruction. */
  adr(): number {
    this.ret = this.currentPc();
    return OP_NONE;
  }

  /** Guest time (CNTVCT_EL0 at 1 GHz = ns); reading it is an instruction (MRS). */
  now(): number {
    this.ret = this.clock.now();
    return OP_NONE;
  }

  /** MRS <reg>. */
  mrs(reg: number): number {
    const el = this.currentEl();
    if (el3Only(reg) && el !== 3) return this.undef();
    const ns = el !== 3;
    const x = this.cpuF64;
    const c = this.cpu32;
    const i0 = this.i0;
    const f0 = this.f0;
    let v: number;
    switch (reg) {
      case SYS.DAIF: v = c[this.iPstate]! & PSR_DAIF; break;
      case SYS.ALLINT: v = c[this.iPstate]! & PSR_ALLINT; break;
      case SYS.CURRENTEL: v = el << 2; break;
      case SYS.NZCV: v = 0; break;
      case SYS.ELR_EL1: v = x[f0 + F.ELR_EL1.index]!; break;
      case SYS.SPSR_EL1: v = c[i0 + F.SPSR_EL1.index]! >>> 0; break;
      case SYS.ESR_EL1: v = c[i0 + F.ESR_EL1.index]! >>> 0; break;
      case SYS.FAR_EL1: v = x[f0 + F.FAR_EL1.index]!; break;
      case SYS.VBAR_EL1: v = x[f0 + F.VBAR_EL1.index]!; break;
      case SYS.TPIDR_EL1: v = x[f0 + F.TPIDR_EL1.index]!; break;
      case SYS.SP_EL0: v = x[f0 + F.SP_EL0.index]!; break;
      case SYS.SP_EL1: v = x[this.fSp]!; break;
      case SYS.MPIDR_EL1: v = this.mpidr; break;
      case SYS.SCTLR_EL1: v = c[i0 + F.SCTLR_EL1.index]!; break;
      case SYS.CNTVCT_EL0: v = this.clock.now(); break;
      case SYS.CNTFRQ_EL0: v = CNTFRQ; break;
      case SYS.CNTV_CVAL_EL0: v = x[f0 + F.CNTV_CVAL.index]!; break;
      case SYS.CNTV_CTL_EL0: {
        const ctl = c[i0 + F.CNTV_CTL.index]!;
        v = ctl | (this.clock.now() >= x[f0 + F.CNTV_CVAL.index]! && (ctl & CNTV_CTL_ENABLE) ? 4 : 0); // ISTATUS
        break;
      }
      case SYS.ICC_PMR_EL1: v = this.gic.readPmr(ns); break;
      case SYS.ICC_RPR_EL1: v = this.gic.readRpr(ns); break;
      case SYS.ICC_IAR1_EL1: {
        v = this.gic.acknowledge(GROUP1NS, !ns, !ns);
        this.recheck = true;
        if (v < 1020) this.trace?.emit(T.IRQ_ACK, v, this.gic.readRpr(ns));
        break;
      }
      case SYS.ICC_IAR0_EL1: {
        v = this.gic.acknowledge(GROUP0, true, true);
        this.recheck = true;
        if (v < 1020) this.trace?.emit(T.FIQ_EL3, v, 0);
        break;
      }
      case SYS.ICC_HPPIR1_EL1: v = this.gic.readHppir(GROUP1NS); break;
      case SYS.ICC_HPPIR0_EL1: v = this.gic.readHppir(GROUP0); break;
      case SYS.ICC_CTLR_EL1: v = this.gic.readCtlr(); break;
      case SYS.ICC_IGRPEN1_EL1: v = ns ? c[i0 + F.ICC_IGRPEN1.index]! & 1 : c[i0 + F.ICC_IGRPEN1.index]!; break;
      case SYS.ICC_IGRPEN0_EL1: v = c[i0 + F.ICC_IGRPEN0_EL1.index]!; break;
      case SYS.ICC_BPR1_EL1: v = c[i0 + F.ICC_BPR1_EL1.index]!; break;
      case SYS.ICC_SRE_EL1: v = 7; break; // SRE, DFB, DIB: system-register interface only
      case SYS.SCR_EL3: v = c[i0 + F.SCR_EL3.index]!; break;
      case SYS.ELR_EL3: v = x[f0 + F.ELR_EL3.index]!; break;
      case SYS.SPSR_EL3: v = c[i0 + F.SPSR_EL3.index]! >>> 0; break;
      default:
        return this.undef();
    }
    this.ret = v;
    return OP_NONE;
  }

  /** MSR <reg>, v. */
  msr(reg: number, v: number): number {
    const el = this.currentEl();
    if (el3Only(reg) && el !== 3) return this.undef();
    const ns = el !== 3;
    const x = this.cpuF64;
    const c = this.cpu32;
    const i0 = this.i0;
    const f0 = this.f0;
    switch (reg) {
      case SYS.DAIF: {
        const old = c[this.iPstate]!;
        c[this.iPstate] = (old & ~PSR_DAIF) | (v & PSR_DAIF);
        this.maskChanged((old & ~v & PSR_DAIF) !== 0);
        break;
      }
      case SYS.ALLINT: {
        const old = c[this.iPstate]!;
        c[this.iPstate] = (old & ~PSR_ALLINT) | (v & PSR_ALLINT);
        this.maskChanged((old & ~v & PSR_ALLINT) !== 0);
        break;
      }
      case SYS.ELR_EL1: x[f0 + F.ELR_EL1.index] = v; break;
      case SYS.SPSR_EL1: c[i0 + F.SPSR_EL1.index] = v | 0; break;
      case SYS.ESR_EL1: c[i0 + F.ESR_EL1.index] = v | 0; break;
      case SYS.FAR_EL1: x[f0 + F.FAR_EL1.index] = v; break;
      case SYS.VBAR_EL1: x[f0 + F.VBAR_EL1.index] = v; break;
      case SYS.TPIDR_EL1: x[f0 + F.TPIDR_EL1.index] = v; break;
      case SYS.SP_EL0: x[f0 + F.SP_EL0.index] = v; break;
      case SYS.SP_EL1: x[this.fSp] = v; break;
      case SYS.SCTLR_EL1: c[i0 + F.SCTLR_EL1.index] = v & 3; this.recheck = true; break;
      case SYS.CNTV_CVAL_EL0: x[f0 + F.CNTV_CVAL.index] = v; this.pollTimer(); break;
      case SYS.CNTV_CTL_EL0: c[i0 + F.CNTV_CTL.index] = v & 3; this.pollTimer(); break;
      case SYS.ICC_PMR_EL1: {
        // A PE signals an interrupt whose priority is below (numerically) the PMR: only a higher PMR unmasks.
        const old = this.gic.readPmr(false);
        this.gic.writePmr(v, ns);
        this.maskChanged(this.gic.readPmr(false) > old);
        break;
      }
      case SYS.ICC_EOIR1_EL1:
        this.gic.endOfInterrupt(v, GROUP1NS, !ns);
        this.recheck = true;
        this.trace?.emit(T.EOI, v, 0);
        break;
      case SYS.ICC_EOIR0_EL1:
        this.gic.endOfInterrupt(v, GROUP0, true);
        this.recheck = true;
        this.trace?.emit(T.EOI, v, 0);
        break;
      case SYS.ICC_DIR_EL1: this.gic.deactivate(v); this.recheck = true; this.trace?.emit(T.EOI, v, 1); break;
      case SYS.ICC_CTLR_EL1: this.gic.writeCtlr(v); break;
      case SYS.ICC_IGRPEN1_EL1:
        c[i0 + F.ICC_IGRPEN1.index] = ns ? (c[i0 + F.ICC_IGRPEN1.index]! & ~1) | (v & 1) : v & 3;
        this.recheck = true;
        break;
      case SYS.ICC_IGRPEN0_EL1: c[i0 + F.ICC_IGRPEN0_EL1.index] = v & 1; this.recheck = true; break;
      case SYS.ICC_BPR1_EL1: c[i0 + F.ICC_BPR1_EL1.index] = Math.max(v & 7, 8 - this.cfg.priBits); this.recheck = true; break;
      case SYS.ICC_SRE_EL1: break;
      case SYS.ICC_SGI1R_EL1: this.sendSgi(v, GROUP1NS); break;
      case SYS.ICC_SGI0R_EL1:
        // From Non-secure a Group 0 SGI needs GICR_NSACR permission, which the model never grants: dropped.
        if (!ns) this.sendSgi(v, GROUP0);
        break;
      case SYS.SCR_EL3: c[i0 + F.SCR_EL3.index] = v | 0; this.recheck = true; break;
      case SYS.ELR_EL3: x[f0 + F.ELR_EL3.index] = v; break;
      case SYS.SPSR_EL3: c[i0 + F.SPSR_EL3.index] = v | 0; break;
      default:
        return this.undef();
    }
    return OP_NONE;
  }

  /** Firmware-side SGI generation (ICC_SGI0R_EL1 at EL3), also used by `msr`. */
  sendSgi(value: number, group: number): number {
    // The send is stamped before delivery so that a receiver's IRQ_ACK never precedes it.
    this.sgiTime = -1;
    return generateSgi(this.m, this.cpu, value, group, this.sgiStamp);
  }

  /** Ends the machine run from guest or firmware code on this CPU. */
  endRun(outcome: Parameters<typeof endRun>[1], detail: number): boolean {
    return endRun(this.m, outcome, this.cpu, detail, () => this.clock.now());
  }

  /** CPU number of an MPIDR affinity value, -1 if none. */
  cpuOfMpidr(mpidr: number): number {
    return cpuOfAffinity(mpidrAffinity(mpidr), this.m.ncpus);
  }

  /** Name of a system register, for messages. */
  static sysName(reg: number): string {
    return SYS_NAMES[reg] ?? `sysreg#${reg}`;
  }
}

/**
 * Firmware at EL3 (issue 3): SMCCC dispatch, PSCI 1.1, SDEI 1.1 and the
 * firmware quirks, against reference/firmware-and-gic.md sections 1-3 (and
 * TF-A where the reference defers to it).
 *
 * Cases are rows: guest "SMC scripts" (test/programs/fw-runtime.ts) run on
 * the machine and every recorded x0 is compared with the return code in the
 * row. Tables run in the sim engine (deterministic, fast); the delivery cases
 * also run in the threads engine, where only outcomes that hold under every
 * interleaving are asserted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runMachine, T, type EngineName, type MachineResult } from './helpers/machine.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';
import { distFile } from '../dist/src/paths.js';
import { PC as RT } from '../dist/test/programs/runtime.js';
import { FW, LOGREC, locAddr, type FwCase, type FwProgram, type Step, type Arg, type HandlerSpec } from '../dist/test/programs/fw-tests.js';
import { PSCI, PSCI_RET, PSCI_VERSION_1_1, TOS_NOT_PRESENT_MP } from '../dist/firmware/psci.js';
import { SDEI, SDEI_RET, SDEI_VERSION_1_0, SDEI_VERSION_1_1, RM_ANY, RM_PE, INFO } from '../dist/firmware/sdei/main.js';
import { TABLE, A, DENY, NOP, PEND, nextState, STATE_NAMES } from '../dist/firmware/sdei/state.js';
import { SMC_UNK, SMCCC_VERSION, SMCCC_ARCH_FEATURES, SMCCC_VERSION_1_5, arg32, mpidrAffinityBits, decodeFid } from '../dist/firmware/smccc.js';
import { SIP_SMPSTOP_STALL } from '../dist/firmware/el3.js';
import { QUIRK_NAMES, type Quirk } from '../dist/firmware/quirks.js';

afterAll(async () => {
  await shutdownThreadsEngine();
});

const FW_TESTS = distFile('test/programs/fw-tests.ts');
const ENGINES: EngineName[] = ['sim', 'threads'];

// ---------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------

type Case = FwCase;

interface Cfg {
  readonly ncpus?: number;
  readonly engine?: EngineName;
  readonly seed?: number;
  readonly quirks?: readonly Quirk[];
  readonly sdei?: boolean;
  readonly featNmi?: boolean;
  /** Sim scheduler mean quantum (a large one keeps a CPU running until it waits). */
  readonly quantum?: number;
}

interface Dispatch {
  readonly ev: number;
  readonly arg: number;
  readonly pc: number;
  readonly pstate: number;
  readonly nest: number;
  readonly daif: number;
  readonly allint: number;
  readonly sp: number;
  readonly el: number;
  readonly ctx: number[];
}

class FwRun {
  readonly base: number;
  constructor(readonly r: MachineResult, readonly c: Case) {
    this.base = (r.program as unknown as FwProgram).fwBase;
  }
  private pcpu(cpu: number): number {
    return this.base + FW.PERCPU + cpu * FW.PERCPU_SIZE;
  }
  private list(cpu: number, nOff: number, off: number): number[] {
    const n = Math.min(this.r.peek32(this.pcpu(cpu) + nOff), FW.MAX_RES);
    return Array.from({ length: n }, (_, i) => this.r.peek64(this.pcpu(cpu) + off + 8 * i));
  }
  /** x0 of every recording step of the main (and restart/resume) scripts of `cpu`. */
  res(cpu: number): number[] {
    return this.list(cpu, FW.RES_N, FW.RES);
  }
  /** Results recorded by handler and IRQ scripts on `cpu`. */
  hres(cpu: number): number[] {
    return this.list(cpu, FW.HRES_N, FW.HRES);
  }
  dispatches(cpu: number): Dispatch[] {
    const n = Math.min(this.r.peek32(this.pcpu(cpu) + FW.NDISP), FW.LOG_MAX);
    return Array.from({ length: n }, (_, k) => {
      const rec = this.pcpu(cpu) + FW.LOG + k * FW.LOG_SIZE;
      const s = (i: number): number => this.r.peek64(rec + 8 * i);
      return {
        ev: s(LOGREC.EV), arg: s(LOGREC.ARG), pc: s(LOGREC.PC), pstate: s(LOGREC.PSTATE), nest: s(LOGREC.NEST),
        daif: s(LOGREC.DAIF), allint: s(LOGREC.ALLINT), sp: s(LOGREC.SP), el: s(LOGREC.EL),
        ctx: Array.from({ length: 18 }, (_, i) => s(LOGREC.CTX + i)),
      };
    });
  }
  /** A word of the test region (fw-runtime.ts Loc), e.g. `c0@1`. */
  at(loc: string): number {
    return this.r.peek32(locAddr(this.base, loc, 0));
  }
  entryX0(cpu: number): number {
    return this.r.peek64(this.pcpu(cpu) + FW.ENTRY_X0);
  }
  /** A word of the base runtime's per-CPU block (runtime.ts PC). */
  rt(cpu: number, off: number): number {
    return this.r.peek64(this.r.image.textEnd + 0x1000 + cpu * 0x400 + off);
  }
  sym(addr: number): string {
    return this.r.image.symbolize(addr);
  }
  trace(cpu: number, kind: number): { time: number; a: number; b: number }[] {
    return this.r.trace().filter((x) => x.cpu === cpu && x.kind === kind);
  }
}

function cpusOf(c: Case): number {
  const keys = [c.cpus, c.restart ?? {}, c.resume ?? {}].flatMap((o) => Object.keys(o)).map(Number);
  return Math.max(1, ...keys.map((k) => k + 1));
}

async function run(c: Case, cfg: Cfg = {}): Promise<FwRun> {
  const r = await runMachine({
    cpus: cfg.ncpus ?? cpusOf(c),
    engine: cfg.engine ?? 'sim',
    seed: cfg.seed ?? 1,
    program: { module: FW_TESTS, options: { test: 'script', ...c } },
    firmware: { sdei: cfg.sdei ?? true, quirks: [...(cfg.quirks ?? [])] },
    featNmi: cfg.featNmi ?? false,
    ...(cfg.quantum ? { scheduler: { kind: 'random' as const, quantum: cfg.quantum } } : {}),
    limits: { hostTimeoutMs: 20_000, guestTimeNs: 2e9 },
    traceRecords: 8192,
  });
  return new FwRun(r, c);
}

/** The run ended by SYSTEM_OFF with no fault and no unexpected synchronous exception. */
function expectClean(f: FwRun, outcome = 'poweroff'): void {
  expect(f.r.fault?.message ?? null).toBeNull();
  expect(f.r.outcome).toBe(outcome);
  for (let cpu = 0; cpu < f.r.cpus.length; cpu++) expect(f.rt(cpu, RT.ESR) % 0x1_0000_0000, `ESR_EL1 of CPU ${cpu}`).toBe(0);
}

function records(s: Step): boolean {
  return ('smc' in s && !s.noret) || 'poll' in s || 'load' in s || 'checkRegs' in s || 'mrs' in s || 'now' in s;
}
function expectOf(s: Step): number | undefined {
  return 'expect' in s ? s.expect : undefined;
}

/** Steps a CPU's main, restart and resume scripts record, in order (a `noret` SMC ends its script). */
function recordingSteps(c: Case, cpu: number): Step[] {
  const out: Step[] = [];
  for (const script of [c.cpus[cpu], c.restart?.[cpu], c.resume?.[cpu]]) {
    for (const s of script ?? []) {
      if ('smc' in s && s.noret) break;
      if (records(s)) out.push(s);
    }
  }
  return out;
}

/** Every recorded x0 equals the `expect` of its step (steps without one are not compared). */
function expectScripts(f: FwRun): void {
  const cpus = new Set([...Object.keys(f.c.cpus), ...Object.keys(f.c.restart ?? {}), ...Object.keys(f.c.resume ?? {})].map(Number));
  for (const cpu of cpus) {
    const steps = recordingSteps(f.c, cpu);
    const got = f.res(cpu);
    const want = steps.map((s, i) => expectOf(s) ?? got[i]);
    expect(got, `results of CPU ${cpu}`).toEqual(want);
  }
}

/** Expected handler results: the `expect` of every recording step, in order. */
function expectHandler(f: FwRun, cpu: number, want: (number | undefined)[]): void {
  const got = f.hres(cpu);
  expect(got, `handler results of CPU ${cpu}`).toEqual(want.map((w, i) => w ?? got[i]));
}

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

const ARG = 0x5d5d;
const call = (fid: number, ...a: Arg[]): Step => ({ smc: [fid, ...a] });
const want = (expect: number, s: Step): Step => ({ ...s, expect }) as Step;
const ok = (fid: number, ...a: Arg[]): Step => want(0, call(fid, ...a));
const noret = (fid: number, ...a: Arg[]): Step => ({ smc: [fid, ...a], noret: true });

const register = (ev: number, flags = RM_ANY, aff: Arg = 0): Step => ok(SDEI.EVENT_REGISTER, ev, 'handler', ARG, flags, aff);
const enable = (ev: number): Step => ok(SDEI.EVENT_ENABLE, ev);
const disable = (ev: number): Step => ok(SDEI.EVENT_DISABLE, ev);
const unregister = (ev: number): Step => ok(SDEI.EVENT_UNREGISTER, ev);
const unmask: Step = ok(SDEI.PE_UNMASK);
const signal = (cpu: number): Step => ok(SDEI.EVENT_SIGNAL, 0, `mpidr:${cpu}`);
const status = (ev: number, st: number): Step => want(st, call(SDEI.EVENT_STATUS, ev));
const bind = (intid: number, ev: number): Step => want(ev, call(SDEI.INTERRUPT_BIND, intid));
const release = (ev: number): Step => ok(SDEI.INTERRUPT_RELEASE, ev);
const info = (ev: number, what: number, v: number): Step => want(v, call(SDEI.EVENT_GET_INFO, ev, what));
const affinityInfo = (cpu: number, v: number): Step => want(v, call(PSCI.AFFINITY_INFO64, `mpidr:${cpu}`, 0));
const cpuOn = (cpu: number, v: number, ctx = 0): Step => want(v, call(PSCI.CPU_ON64, `mpidr:${cpu}`, 'fn:fw_restart', ctx));
/** Event 0 registered, enabled, and the PE unmasked: ready to take a signal. */
const ready0: Step[] = [register(0), enable(0), unmask];
const DAIF_ALL = 0x3c0;
const GICD_ISENABLER1 = 0x0800_0104;
const GICR0_SGI = 0x080b_0000; // GICR_BASE + GICR_SGI_OFFSET for CPU 0

const { INVALID_PARAMETERS: INVALID, DENIED, PENDING, OUT_OF_RESOURCE, NOT_SUPPORTED } = SDEI_RET;

/** A table row: name, setup (each step expected to succeed unless it says otherwise), the call, its expected x0. */
type Row = [name: string, setup: Step[], call: Step, expected: number, ncpus?: number];

async function runRow(setup: readonly Step[], c: Step, expected: number, ncpus = 1, cfg: Cfg = {}): Promise<FwRun> {
  const f = await run({ cpus: { 0: [...setup, want(expected, c)] } }, { ncpus, ...cfg });
  expectClean(f);
  expectScripts(f);
  return f;
}

// ---------------------------------------------------------------------------
// SMCCC
// ---------------------------------------------------------------------------

describe('SMCCC dispatch (reference section 1)', () => {
  const rows: Row[] = [
    ['SMCCC_VERSION is 1.5', [], call(SMCCC_VERSION), SMCCC_VERSION_1_5],
    ['SMCCC_ARCH_FEATURES(SMCCC_VERSION) is implemented', [], call(SMCCC_ARCH_FEATURES, SMCCC_VERSION), 0],
    ['SMCCC_ARCH_FEATURES(SMCCC_ARCH_FEATURES) is implemented', [], call(SMCCC_ARCH_FEATURES, SMCCC_ARCH_FEATURES), 0],
    ['SMCCC_ARCH_FEATURES(ARCH_WORKAROUND_1): not needed, NOT_SUPPORTED', [], call(SMCCC_ARCH_FEATURES, 0x8000_8000), SMC_UNK],
    ['an unknown Arm-architecture call', [], call(0x8000_00ff), SMC_UNK],
    ['a yielding call (bit 31 clear)', [], call(0x0400_0000), SMC_UNK],
    ['a fast call with reserved bits 23:17 set', [], call(PSCI.VERSION | 0x0002_0000), SMC_UNK],
    ['the SVE hint (bit 16) is ignored: PSCI_VERSION', [], call(PSCI.VERSION | 0x0001_0000), PSCI_VERSION_1_1],
    ['an unknown SiP call', [], call(0x8200_0001), SMC_UNK],
    ['an OEM call', [], call(0x8300_0000), SMC_UNK],
    ['a Trusted OS call', [], call(0xb200_0000), SMC_UNK],
    ['an SDEI function id as SMC32', [], call(0x8400_0021), SMC_UNK],
    ['an unknown standard-service call', [], call(0xc400_0040), SMC_UNK],
  ];
  it.each(rows)('%s', async (_n, setup, c, expected) => {
    await runRow(setup, c, expected);
  });

  it('w<n> and the MPIDR affinity fields of a register value are what BigInt arithmetic gives', () => {
    const bigW32 = (v: number): number => Number(BigInt.asUintN(32, BigInt(Math.trunc(v))));
    const bigAff = (v: number): number => Number(BigInt.asUintN(64, BigInt(Math.trunc(v))) & 0xff00ffffffn);
    const value = fc.oneof(fc.maxSafeNat(), fc.maxSafeInteger(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true, min: -(2 ** 70), max: 2 ** 70 }),
      fc.constantFrom(0, -0, 2 ** 32, 2 ** 32 - 1, 2 ** 53 - 1, 0xff_ffff_ffff, 0x80_8000_0101, -1, 0.5, -0.5));
    fc.assert(fc.property(value, (v) => {
      expect(arg32(v)).toBe(bigW32(v));
      expect(mpidrAffinityBits(v)).toBe(bigAff(v));
      expect(Object.is(decodeFid(v).fid, bigW32(v))).toBe(true);
    }), { numRuns: 2000 });
    for (const v of [NaN, Infinity, -Infinity]) expect(() => arg32(v)).toThrow(RangeError);
  });

  it('x1-x28 and SP are preserved by an SMC that returns only x0 (SMCCC 1.1+)', async () => {
    const f = await run({
      cpus: { 0: [{ mrs: 'SP_EL1' }, { regs: true }, { smc: [PSCI.VERSION] }, { checkRegs: true, expect: 0b1 }, { regs: true }, { smc: [SDEI.VERSION] }, { checkRegs: true, expect: 0b1 }, { mrs: 'SP_EL1' }] },
    });
    expectClean(f);
    expectScripts(f);
    const r = f.res(0);
    expect(r[1]).toBe(PSCI_VERSION_1_1);
    expect(r[5]).toBe(r[0]); // SP
  });
});

// ---------------------------------------------------------------------------
// PSCI
// ---------------------------------------------------------------------------

describe('PSCI 1.1: one row per function and error path (reference section 2)', () => {
  const rows: Row[] = [
    ['PSCI_VERSION is 1.1', [], call(PSCI.VERSION), PSCI_VERSION_1_1],
    ['PSCI_FEATURES(CPU_ON64)', [], call(PSCI.FEATURES, PSCI.CPU_ON64), 0],
    ['PSCI_FEATURES(CPU_SUSPEND): no OS-initiated mode, original power_state format', [], call(PSCI.FEATURES, PSCI.CPU_SUSPEND), 0],
    ['PSCI_FEATURES(SYSTEM_RESET2)', [], call(PSCI.FEATURES, PSCI.SYSTEM_RESET2), 0],
    ['PSCI_FEATURES(SMCCC_VERSION) is SUCCESS', [], call(PSCI.FEATURES, SMCCC_VERSION), 0],
    ['PSCI_FEATURES(MIGRATE): not implemented', [], call(PSCI.FEATURES, PSCI.MIGRATE), PSCI_RET.NOT_SUPPORTED],
    ['PSCI_FEATURES(SYSTEM_SUSPEND64): not implemented', [], call(PSCI.FEATURES, 0xc400_000e), PSCI_RET.NOT_SUPPORTED],
    ['PSCI_FEATURES(CPU_OFF as SMC64): no such function', [], call(PSCI.FEATURES, 0xc400_0002), PSCI_RET.NOT_SUPPORTED],
    ['PSCI_FEATURES(an SDEI function): not PSCI', [], call(PSCI.FEATURES, SDEI.VERSION), PSCI_RET.NOT_SUPPORTED],
    ['an unimplemented PSCI function (MEM_PROTECT)', [], call(0x8400_0013), PSCI_RET.NOT_SUPPORTED],
    ['MIGRATE: no Trusted OS', [], call(PSCI.MIGRATE64, 'mpidr:0'), PSCI_RET.NOT_SUPPORTED],
    ['MIGRATE_INFO_UP_CPU: no Trusted OS', [], call(PSCI.MIGRATE_INFO_UP_CPU64), PSCI_RET.NOT_SUPPORTED],
    ['MIGRATE_INFO_TYPE: no Trusted OS needing migration', [], call(PSCI.MIGRATE_INFO_TYPE), TOS_NOT_PRESENT_MP],
    ['CPU_ON of a CPU that does not exist', [], call(PSCI.CPU_ON64, 'mpidr:5', 'fn:fw_restart', 0), PSCI_RET.INVALID_PARAMETERS, 2],
    ['CPU_ON with Aff2 set', [], call(PSCI.CPU_ON64, 0x1_0001, 'fn:fw_restart', 0), PSCI_RET.INVALID_PARAMETERS, 2],
    ['CPU_ON with Aff0 16', [], call(PSCI.CPU_ON64, 0x10, 'fn:fw_restart', 0), PSCI_RET.INVALID_PARAMETERS, 2],
    ['CPU_ON with entry point 0', [], call(PSCI.CPU_ON64, 'mpidr:1', 0, 0), PSCI_RET.INVALID_ADDRESS, 2],
    ['CPU_ON with an unaligned entry point', [], call(PSCI.CPU_ON64, 'mpidr:1', 'text+2', 0), PSCI_RET.INVALID_ADDRESS, 2],
    ['CPU_ON with an entry point outside RAM', [], call(PSCI.CPU_ON64, 'mpidr:1', 'ramend', 0), PSCI_RET.INVALID_ADDRESS, 2],
    ['CPU_ON with a bad target and a bad entry: the target is checked first', [], call(PSCI.CPU_ON64, 'mpidr:5', 0, 0), PSCI_RET.INVALID_PARAMETERS, 2],
    ['CPU_ON of the calling CPU', [], call(PSCI.CPU_ON64, 'mpidr:0', 'fn:fw_restart', 0), PSCI_RET.ALREADY_ON],
    ['CPU_ON of another CPU that is ON', [], cpuOn(1, PSCI_RET.ALREADY_ON), PSCI_RET.ALREADY_ON, 2],
    ['AFFINITY_INFO of the calling CPU: ON', [], call(PSCI.AFFINITY_INFO64, 'mpidr:0', 0), 0],
    ['AFFINITY_INFO (SMC32) ignores the upper half of its arguments', [], call(PSCI.AFFINITY_INFO, 'hi32:mpidr:0', 0x1_0000_0000), 0],
    ['AFFINITY_INFO with lowest affinity level 1', [], call(PSCI.AFFINITY_INFO64, 'mpidr:0', 1), PSCI_RET.INVALID_PARAMETERS],
    ['AFFINITY_INFO of a CPU that does not exist', [], call(PSCI.AFFINITY_INFO64, 'mpidr:3', 0), PSCI_RET.INVALID_PARAMETERS, 2],
    ['CPU_SUSPEND to power level 1', [], call(PSCI.CPU_SUSPEND64, 0x0100_0000, 'fn:fw_resume', 0), PSCI_RET.INVALID_PARAMETERS],
    ['CPU_SUSPEND power-down with entry point 0', [], call(PSCI.CPU_SUSPEND64, 0x1_0000, 0, 0), PSCI_RET.INVALID_ADDRESS],
    ['CPU_SUSPEND power-down with an unaligned entry point', [], call(PSCI.CPU_SUSPEND64, 0x1_0000, 'text+2', 0), PSCI_RET.INVALID_ADDRESS],
    ['CPU_SUSPEND power-down with an entry point outside RAM', [], call(PSCI.CPU_SUSPEND64, 0x1_0000, 'ramend', 0), PSCI_RET.INVALID_ADDRESS],
    ['CPU_SUSPEND standby with an interrupt already pending returns at once', [{ daif: DAIF_ALL }, { sgi: 1, cpu: 0 }], call(PSCI.CPU_SUSPEND64, 0, 0, 0), 0],
    ['SYSTEM_RESET2 with architectural reset type 1', [], call(PSCI.SYSTEM_RESET2_64, 1, 0), PSCI_RET.INVALID_PARAMETERS],
    ['SYSTEM_RESET2 with a vendor reset type: the platform has none', [], call(PSCI.SYSTEM_RESET2, 0x8000_0000, 0), PSCI_RET.INVALID_PARAMETERS],
  ];
  it.each(rows)('%s', async (_n, setup, c, expected, ncpus) => {
    await runRow(setup, c, expected, ncpus ?? 1);
  });

  it('CPU_ON (SMC32) ignores the upper half of the entry point and context id', async () => {
    const f = await run({
      cpus: {
        0: [{ poll: [PSCI.AFFINITY_INFO64, 'mpidr:1', 0], until: 1, expect: 1 }, ok(PSCI.CPU_ON, 'hi32:mpidr:1', 'hi32:fn:fw_restart', 0x1_0000_0033)],
        1: [noret(PSCI.CPU_OFF)],
      },
      restart: { 1: [] },
      done: 2,
    });
    expectClean(f);
    expectScripts(f);
    expect(f.at('b1')).toBe(1);
    expect(f.entryX0(1)).toBe(0x33);
  });

  it('a CPU moves OFF -> ON_PENDING -> ON: AFFINITY_INFO reports each state, CPU_ON answers ON_PENDING then ALREADY_ON', async () => {
    const f = await run(onPendingCase(), { quantum: 1_000_000 });
    expectClean(f);
    expectScripts(f);
    expect(f.entryX0(2)).toBe(0x42); // x0 = context_id at the entry point
    expect(f.r.cpus[2]!.power).toBe('on');
  });

  it.each(ENGINES)('CPU_OFF, CPU_ON and AFFINITY_INFO give a consistent story under any interleaving (%s engine)', async (engine) => {
    for (let seed = 1; seed <= (engine === 'sim' ? 6 : 2); seed++) {
      const f = await run(onPendingCase(), { engine, seed });
      expectClean(f);
      const [off, on, a1, again, a2, again2] = f.res(0);
      expect([off, on]).toEqual([1, 0]);
      // Between CPU_ON and the target's warm boot, AFFINITY_INFO says ON_PENDING and CPU_ON says ON_PENDING;
      // afterwards ON and ALREADY_ON. The second answer can only move forward.
      expect([2, 0]).toContain(a1);
      expect(again).toBe(a1 === 0 ? PSCI_RET.ALREADY_ON : again);
      expect([PSCI_RET.ON_PENDING, PSCI_RET.ALREADY_ON]).toContain(again);
      expect([a2, again2]).toEqual([0, PSCI_RET.ALREADY_ON]);
      expect(f.entryX0(2)).toBe(0x42);
    }
  });

  it('CPU_SUSPEND standby waits at EL3 until an interrupt is signalled, then returns SUCCESS', async () => {
    const f = await run({
      cpus: {
        0: [{ daif: DAIF_ALL }, { now: true }, { set: 's1' }, want(0, call(PSCI.CPU_SUSPEND64, 0, 0, 0)), { now: true }, { load: 'i1', expect: 0 }],
        1: [{ wait: 's1' }, { delay: 100_000 }, affinityInfo(0, 0), { sgi: 1, cpu: 0 }],
      },
    });
    expectClean(f);
    expectScripts(f);
    const [t0, , t1] = f.res(0);
    expect(t1! - t0!).toBeGreaterThanOrEqual(100_000);
  });

  it.each([
    ['CPU_SUSPEND64', noret(PSCI.CPU_SUSPEND64, 0x1_0000, 'fn:fw_resume', 0x77)],
    ['CPU_SUSPEND (SMC32, upper halves ignored)', noret(PSCI.CPU_SUSPEND, 0x1_0001_0000, 'hi32:fn:fw_resume', 0x1_0000_0077)],
  ])('%s power-down resumes at the entry point with x0 = context_id, SDEI-masked', async (_n, suspend) => {
    const f = await run({
      cpus: {
        0: [unmask, { set: 's1' }, suspend],
        1: [{ wait: 's1' }, { delay: 50_000 }, { sgi: 1, cpu: 0 }],
      },
      resume: { 0: [want(0, call(SDEI.PE_MASK))] }, // 0: it was masked already (TF-A sdei_cpu_wakeup_init)
      done: 2,
    });
    expectClean(f);
    expectScripts(f);
    expect(f.entryX0(0)).toBe(0x77);
    expect(f.at('b0')).toBe(1);
  });

  it('CPU_SUSPEND power-down abandoned for a pending interrupt does not resume at the entry point', async () => {
    const f = await runRow([{ daif: DAIF_ALL }, { sgi: 1, cpu: 0 }], call(PSCI.CPU_SUSPEND64, 0x1_0000, 'fn:fw_resume', 7), 0);
    expect(f.at('b0')).toBe(0);
  });

  it.each([
    ['SYSTEM_OFF', [PSCI.SYSTEM_OFF], 'poweroff', 0],
    ['SYSTEM_RESET', [PSCI.SYSTEM_RESET], 'reset', 0],
    ['SYSTEM_RESET2(SYSTEM_WARM_RESET)', [PSCI.SYSTEM_RESET2, 0, 0], 'reset', 1],
    ['SYSTEM_RESET2_64(SYSTEM_WARM_RESET)', [PSCI.SYSTEM_RESET2_64, 0, 0], 'reset', 1],
  ] as const)('%s ends the run whatever the other CPUs do, recording the CPUs still executing', async (_n, fid, outcome, detail) => {
    for (const engine of ENGINES) {
      const f = await run({
        cpus: {
          0: [{ wait: 's1' }, { wait: 's2' }, signal(2), { wait: 'c0@2' }, noret(fid[0], ...fid.slice(1))],
          1: [{ set: 's1' }, { spin: 's9' }],
          2: [...ready0, { set: 's2' }, { spin: 's9' }],
        },
        handlers: { 0: { steps: [{ spin: 's9' }] } },
        off: false,
      }, { engine });
      expect(f.r.fault?.message ?? null).toBeNull();
      expect([f.r.outcome, f.r.endCpu, f.r.endDetail]).toEqual([outcome, 0, detail]);
      expect([f.r.cpus[1]!.activity, f.r.cpus[1]!.symbol]).toEqual(['running', expect.stringMatching(/^test_main\+/)]);
      expect([f.r.cpus[2]!.activity, f.r.cpus[2]!.symbol]).toEqual(['running', expect.stringMatching(/^fw_sdei_handler\+/)]);
    }
  });
});

/** CPU 2 powers itself off; CPU 0 watches it go OFF, turns it on, and asks again while it comes up. */
function onPendingCase(): Case {
  return {
    cpus: {
      0: [
        { poll: [PSCI.AFFINITY_INFO64, 'mpidr:2', 0], until: 1, expect: 1 }, // OFF
        cpuOn(2, 0, 0x42),
        affinityInfo(2, 2), // ON_PENDING
        cpuOn(2, PSCI_RET.ON_PENDING),
        { wait: 'b2' },
        affinityInfo(2, 0), // ON
        cpuOn(2, PSCI_RET.ALREADY_ON),
      ],
      2: [noret(PSCI.CPU_OFF)],
    },
    restart: { 2: [] },
    done: 2,
  };
}

// ---------------------------------------------------------------------------
// SDEI: calls and their error paths
// ---------------------------------------------------------------------------

describe('SDEI 1.1: one row per function and error path (reference section 3)', () => {
  const rows: Row[] = [
    ['SDEI_VERSION is 1.1', [], call(SDEI.VERSION), SDEI_VERSION_1_1],
    ['SDEI_FEATURES(BIND_SLOTS): 3 private and 3 shared dynamic slots', [], call(SDEI.FEATURES, 0), 3 | (3 << 16)],
    ['SDEI_FEATURES of an unknown feature', [], call(SDEI.FEATURES, 1), INVALID],
    ['an unknown SDEI function', [], call(0xc400_0033), NOT_SUPPORTED],
    // EVENT_REGISTER
    ['EVENT_REGISTER with entry point 0', [], call(SDEI.EVENT_REGISTER, 0, 0, ARG, RM_ANY, 0), INVALID],
    ['EVENT_REGISTER with an unaligned entry point', [], call(SDEI.EVENT_REGISTER, 0, 'text+2', ARG, RM_ANY, 0), INVALID],
    ['EVENT_REGISTER with an entry point outside RAM', [], call(SDEI.EVENT_REGISTER, 0, 'ramend', ARG, RM_ANY, 0), INVALID],
    ['EVENT_REGISTER with routing flags 2', [], call(SDEI.EVENT_REGISTER, 200, 'handler', ARG, 2, 0), INVALID],
    ['EVENT_REGISTER RM_PE with an invalid MPIDR (shared event)', [], call(SDEI.EVENT_REGISTER, 200, 'handler', ARG, RM_PE, 'mpidr:15'), INVALID],
    ['EVENT_REGISTER RM_PE with an invalid MPIDR (private event: flags are validated first)', [], call(SDEI.EVENT_REGISTER, 0, 'handler', ARG, RM_PE, 'mpidr:15'), INVALID],
    ['EVENT_REGISTER of an unknown event', [], call(SDEI.EVENT_REGISTER, 999, 'handler', ARG, RM_ANY, 0), INVALID],
    ['EVENT_REGISTER of a registered event', [register(0)], call(SDEI.EVENT_REGISTER, 0, 'handler', ARG, RM_ANY, 0), DENIED],
    ['EVENT_REGISTER of a dynamic event not bound yet', [], call(SDEI.EVENT_REGISTER, 1000, 'handler', ARG, RM_ANY, 0), DENIED],
    ['EVENT_REGISTER of a private event ignores routing (RM_PE to another PE)', [], call(SDEI.EVENT_REGISTER, 0, 'handler', ARG, RM_PE, 'mpidr:1'), 0, 2],
    // ENABLE, DISABLE
    ['EVENT_ENABLE of an unknown event', [], call(SDEI.EVENT_ENABLE, 999), INVALID],
    ['EVENT_ENABLE of an unregistered event', [], call(SDEI.EVENT_ENABLE, 0), DENIED],
    ['EVENT_DISABLE of an unknown event', [], call(SDEI.EVENT_DISABLE, 999), INVALID],
    ['EVENT_DISABLE of an unregistered event', [], call(SDEI.EVENT_DISABLE, 0), DENIED],
    // CONTEXT, COMPLETE, COMPLETE_AND_RESUME outside a handler
    ['EVENT_CONTEXT of register 18', [], call(SDEI.EVENT_CONTEXT, 18), INVALID],
    ['EVENT_CONTEXT with no dispatch outstanding', [], call(SDEI.EVENT_CONTEXT, 0), DENIED],
    ['EVENT_COMPLETE with no dispatch outstanding', [], call(SDEI.EVENT_COMPLETE, 0), DENIED],
    ['EVENT_COMPLETE_AND_RESUME with no dispatch outstanding', [], call(SDEI.EVENT_COMPLETE_AND_RESUME, 'irqvec'), DENIED],
    // UNREGISTER, STATUS
    ['EVENT_UNREGISTER of an unknown event', [], call(SDEI.EVENT_UNREGISTER, 999), INVALID],
    ['EVENT_UNREGISTER of an unregistered event', [], call(SDEI.EVENT_UNREGISTER, 0), DENIED],
    ['EVENT_STATUS of an unknown event', [], call(SDEI.EVENT_STATUS, 999), INVALID],
    ['EVENT_STATUS of an unregistered event', [], call(SDEI.EVENT_STATUS, 0), 0],
    ['EVENT_STATUS of a registered event', [register(0)], call(SDEI.EVENT_STATUS, 0), 1],
    ['EVENT_STATUS of a registered and enabled event', [register(0), enable(0)], call(SDEI.EVENT_STATUS, 0), 3],
    // GET_INFO
    ['EVENT_GET_INFO of an unknown event', [], call(SDEI.EVENT_GET_INFO, 999, INFO.TYPE), INVALID],
    ['EVENT_GET_INFO with an unknown selector', [], call(SDEI.EVENT_GET_INFO, 0, 5), INVALID],
    ['EVENT_GET_INFO TYPE of event 0: private', [], call(SDEI.EVENT_GET_INFO, 0, INFO.TYPE), 0],
    ['EVENT_GET_INFO TYPE of event 200: shared', [], call(SDEI.EVENT_GET_INFO, 200, INFO.TYPE), 1],
    ['EVENT_GET_INFO SIGNALED of event 0: signalable (IMPDEF: the spec meaning)', [], call(SDEI.EVENT_GET_INFO, 0, INFO.SIGNALED), 1],
    ['EVENT_GET_INFO SIGNALED of event 100: not signalable', [], call(SDEI.EVENT_GET_INFO, 100, INFO.SIGNALED), 0],
    ['EVENT_GET_INFO PRIORITY of event 0: normal', [], call(SDEI.EVENT_GET_INFO, 0, INFO.PRIORITY), 0],
    ['EVENT_GET_INFO PRIORITY of event 100: critical', [], call(SDEI.EVENT_GET_INFO, 100, INFO.PRIORITY), 1],
    ['EVENT_GET_INFO ROUTING_MODE of a private event', [], call(SDEI.EVENT_GET_INFO, 0, INFO.ROUTING_MODE), INVALID],
    ['EVENT_GET_INFO ROUTING_MODE of an unregistered shared event', [], call(SDEI.EVENT_GET_INFO, 200, INFO.ROUTING_MODE), DENIED],
    ['EVENT_GET_INFO ROUTING_AFF of an unregistered shared event', [], call(SDEI.EVENT_GET_INFO, 200, INFO.ROUTING_AFF), DENIED],
    ['EVENT_GET_INFO ROUTING_MODE of an RM_ANY event', [register(200)], call(SDEI.EVENT_GET_INFO, 200, INFO.ROUTING_MODE), RM_ANY],
    ['EVENT_GET_INFO ROUTING_AFF of an RM_ANY event', [register(200)], call(SDEI.EVENT_GET_INFO, 200, INFO.ROUTING_AFF), INVALID],
    ['EVENT_GET_INFO ROUTING_MODE of an RM_PE event', [register(200, RM_PE, 'mpidr:1')], call(SDEI.EVENT_GET_INFO, 200, INFO.ROUTING_MODE), RM_PE, 2],
    ['EVENT_GET_INFO ROUTING_AFF of an RM_PE event', [register(200, RM_PE, 'mpidr:1')], call(SDEI.EVENT_GET_INFO, 200, INFO.ROUTING_AFF), 1, 2],
    // ROUTING_SET
    ['EVENT_ROUTING_SET of a private event', [register(0)], call(SDEI.EVENT_ROUTING_SET, 0, RM_ANY, 0), INVALID],
    ['EVENT_ROUTING_SET of an unknown event', [], call(SDEI.EVENT_ROUTING_SET, 999, RM_ANY, 0), INVALID],
    ['EVENT_ROUTING_SET with mode 2', [register(200)], call(SDEI.EVENT_ROUTING_SET, 200, 2, 0), INVALID],
    ['EVENT_ROUTING_SET RM_PE with an invalid MPIDR', [register(200)], call(SDEI.EVENT_ROUTING_SET, 200, RM_PE, 'mpidr:15'), INVALID],
    ['EVENT_ROUTING_SET of an unbound dynamic shared event', [], call(SDEI.EVENT_ROUTING_SET, 2001, RM_ANY, 0), INVALID],
    ['EVENT_ROUTING_SET of an unregistered event', [], call(SDEI.EVENT_ROUTING_SET, 200, RM_ANY, 0), DENIED],
    ['EVENT_ROUTING_SET of an enabled event', [register(200), enable(200)], call(SDEI.EVENT_ROUTING_SET, 200, RM_ANY, 0), DENIED],
    ['EVENT_ROUTING_SET then GET_INFO reads the new affinity', [register(200), ok(SDEI.EVENT_ROUTING_SET, 200, RM_PE, 'mpidr:1')], call(SDEI.EVENT_GET_INFO, 200, INFO.ROUTING_AFF), 1, 2],
    // PE_MASK, PE_UNMASK
    ['PE_MASK of a PE that starts masked returns 0', [], call(SDEI.PE_MASK), 0],
    ['PE_MASK of an unmasked PE returns 1', [unmask], call(SDEI.PE_MASK), 1],
    ['PE_UNMASK returns 0', [], call(SDEI.PE_UNMASK), 0],
    // INTERRUPT_BIND
    ['INTERRUPT_BIND of an SGI', [], call(SDEI.INTERRUPT_BIND, 5), INVALID],
    ['INTERRUPT_BIND of the SDEI SGI 8', [], call(SDEI.INTERRUPT_BIND, 8), INVALID],
    ['INTERRUPT_BIND of INTID 1020', [], call(SDEI.INTERRUPT_BIND, 1020), INVALID],
    ['INTERRUPT_BIND of the PPI statically bound to event 100', [], call(SDEI.INTERRUPT_BIND, 23), INVALID],
    ['INTERRUPT_BIND of the SPI statically bound to event 200', [], call(SDEI.INTERRUPT_BIND, 48), INVALID],
    ['INTERRUPT_BIND of a Non-secure PPI: the first private slot', [], call(SDEI.INTERRUPT_BIND, 20), 1000],
    ['INTERRUPT_BIND of an interrupt already bound returns its event', [bind(20, 1000)], call(SDEI.INTERRUPT_BIND, 20), 1000],
    ['INTERRUPT_BIND with every private slot taken', [bind(20, 1000), bind(21, 1001), bind(22, 1002)], call(SDEI.INTERRUPT_BIND, 24), OUT_OF_RESOURCE],
    ['INTERRUPT_BIND of a Non-secure SPI: the first shared slot', [], call(SDEI.INTERRUPT_BIND, 40), 2000],
    ['INTERRUPT_BIND with every shared slot taken', [bind(40, 2000), bind(41, 2001), bind(42, 2002)], call(SDEI.INTERRUPT_BIND, 43), OUT_OF_RESOURCE],
    // INTERRUPT_RELEASE
    ['INTERRUPT_RELEASE of event 0: not dynamic', [], call(SDEI.INTERRUPT_RELEASE, 0), INVALID],
    ['INTERRUPT_RELEASE of event 100: not dynamic', [], call(SDEI.INTERRUPT_RELEASE, 100), INVALID],
    ['INTERRUPT_RELEASE of an unknown event', [], call(SDEI.INTERRUPT_RELEASE, 999), INVALID],
    ['INTERRUPT_RELEASE of a dynamic event that is not bound', [], call(SDEI.INTERRUPT_RELEASE, 1000), INVALID],
    ['INTERRUPT_RELEASE of a registered event', [bind(20, 1000), register(1000)], call(SDEI.INTERRUPT_RELEASE, 1000), DENIED],
    ['INTERRUPT_RELEASE frees the slot', [bind(20, 1000), register(1000), unregister(1000), release(1000)], call(SDEI.INTERRUPT_BIND, 21), 1000],
    // EVENT_SIGNAL
    ['EVENT_SIGNAL of event 1: only event 0 is signalable', [], call(SDEI.EVENT_SIGNAL, 1, 'mpidr:0'), INVALID],
    ['EVENT_SIGNAL of event 100', [], call(SDEI.EVENT_SIGNAL, 100, 'mpidr:0'), INVALID],
    ['EVENT_SIGNAL to a PE that does not exist', [], call(SDEI.EVENT_SIGNAL, 0, 'mpidr:3'), INVALID, 2],
    ['EVENT_SIGNAL to the calling PE', ready0, call(SDEI.EVENT_SIGNAL, 0, 'self'), 0],
    // PRIVATE_RESET, SHARED_RESET
    ['PRIVATE_RESET with nothing registered', [], call(SDEI.PRIVATE_RESET), 0],
    ['PRIVATE_RESET unregisters every private event', [register(0), enable(0), bind(20, 1000), register(1000), ok(SDEI.PRIVATE_RESET), status(0, 0)], status(1000, 0), 0],
    ['SHARED_RESET with nothing registered', [], call(SDEI.SHARED_RESET), 0],
    ['SHARED_RESET unregisters shared events and releases every binding', [bind(40, 2000), register(2000), register(200), ok(SDEI.SHARED_RESET), status(2000, 0), status(200, 0)], call(SDEI.INTERRUPT_BIND, 41), 2000],
    ['SHARED_RESET with a private dynamic event still registered', [bind(20, 1000), register(1000)], call(SDEI.SHARED_RESET), DENIED],
  ];
  it.each(rows)('%s', async (_n, setup, c, expected, ncpus) => {
    await runRow(setup, c, expected, ncpus ?? 1);
  });

  it('SDEI calls are NOT_SUPPORTED when the firmware has no SDEI dispatcher', async () => {
    await runRow([], call(SDEI.VERSION), NOT_SUPPORTED, 1, { sdei: false });
    await runRow([], call(SDEI.EVENT_REGISTER, 0, 'handler', ARG, RM_ANY, 0), NOT_SUPPORTED, 1, { sdei: false });
  });

  it('INTERRUPT_RELEASE of an event registered on another PE only', async () => {
    const f = await run({
      cpus: {
        0: [{ wait: 's1' }, want(DENIED, call(SDEI.INTERRUPT_RELEASE, 1000))],
        1: [bind(20, 1000), register(1000), { set: 's1' }],
      },
    });
    expectClean(f);
    expectScripts(f);
  });

  it('EVENT_REGISTER and INTERRUPT_RELEASE are DENIED while the bound interrupt is active (a Non-secure IRQ being handled)', async () => {
    const f = await run({
      cpus: { 0: [bind(40, 2000), { daif: 0 }, { str: [GICD_ISENABLER1, 1 << 8] }, { poke: 40 }, { wait: 'i40' }, register(2000)] },
      irq: { 40: [want(DENIED, call(SDEI.EVENT_REGISTER, 2000, 'handler', ARG, RM_ANY, 0)), want(DENIED, call(SDEI.INTERRUPT_RELEASE, 2000))] },
    });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [DENIED, DENIED]);
  });

  it('EVENT_UNREGISTER hands a bound interrupt back to the Non-secure world (TF-A sdei_event_unregister)', async () => {
    const f = await run({
      cpus: {
        0: [
          bind(20, 1000), register(1000), enable(1000), unregister(1000),
          { str: [GICR0_SGI + 0x414, 0xa0] }, // IPRIORITYR: PPI 20 at 0xa0 (TF-A leaves it at the lowest priority)
          { str: [GICR0_SGI + 0x100, 1 << 20] }, // ISENABLER0
          { daif: 0 }, { poke: 20 }, { delay: 20_000 }, { load: 'i20', expect: 1 }, { load: 'c1000', expect: 0 },
        ],
      },
    });
    expectClean(f);
    expectScripts(f);
  });

  it('EVENT_CONTEXT, PRIVATE_RESET and SHARED_RESET inside a running handler', async () => {
    const f = await run({
      cpus: { 0: [...ready0, bind(40, 2000), register(2000, RM_PE, 'mpidr:0'), enable(2000), bind(41, 2001), { regs: true }, { poke: 40 }, { wait: 'd2000' }, status(2000, 0), bind(42, 2002)] },
      handlers: {
        2000: {
          steps: [
            want(0x1000 + 5, call(SDEI.EVENT_CONTEXT, 5)),
            want(INVALID, call(SDEI.EVENT_CONTEXT, 18)),
            want(DENIED, call(SDEI.SHARED_RESET)), // 2000 is running: unregistration pending, nothing released
            status(2000, 4),
            want(0, call(SDEI.PRIVATE_RESET)), // event 0 is not running here
            status(0, 0),
          ],
        },
      },
    });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [0x1005, INVALID, DENIED, 4, 0, 0]);
  });

  it('PRIVATE_RESET inside the handler of a private event is DENIED, and the unregistration completes with COMPLETE', async () => {
    const f = await run({
      cpus: { 0: [...ready0, signal(0), { wait: 'd0' }, status(0, 0)] },
      handlers: { 0: { steps: [want(DENIED, call(SDEI.PRIVATE_RESET)), status(0, 4), want(PENDING, call(SDEI.EVENT_UNREGISTER, 0))] } },
    });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [DENIED, 4, PENDING]);
  });
});

// ---------------------------------------------------------------------------
// SDEI: the handler state machine
// ---------------------------------------------------------------------------

/**
 * Reference section 3.4 (TF-A sdei_state.c), transcribed: next state, '=' for
 * allowed without change, '-' refused (DENIED), 'P' refused with PENDING.
 */
const REF_COLUMNS = ['REGISTER', 'RELEASE', 'ENABLE', 'DISABLE', 'UNREGISTER', 'ROUTING', 'CONTEXT', 'COMPLETE', 'COMPLETE_AND_RESUME', 'dispatch'] as const;
const REF: Record<string, readonly string[]> = {
  reg: ['reG', '=', '-', '-', '-', '-', '-', '-', '-', '-'],
  reG: ['-', '-', 'rEG', '=', 'reg', '=', '-', '-', '-', '-'],
  rEg: ['-', '-', '-', '-', '-', '-', '-', '-', '-', '-'],
  rEG: ['-', '-', '=', 'reG', 'reg', '-', '-', '-', '-', 'REG'],
  Reg: ['-', '-', '-', '-', 'P', '-', '=', 'reg', 'reg', '-'],
  ReG: ['-', '-', 'REG', '=', 'Reg', '-', '=', 'reG', 'reG', '-'],
  REg: ['-', '-', '-', '-', '-', '-', '-', '-', '-', '-'],
  REG: ['-', '-', '=', 'ReG', 'Reg', '-', '=', 'rEG', 'rEG', '-'],
};
const STATE_CODE: Record<string, number> = { reg: 0, reG: 1, rEg: 2, rEG: 3, Reg: 4, ReG: 5, REg: 6, REG: 7 };
const ACTION_OF: Record<(typeof REF_COLUMNS)[number], number> = {
  REGISTER: A.REGISTER, RELEASE: A.RELEASE, ENABLE: A.ENABLE, DISABLE: A.DISABLE, UNREGISTER: A.UNREGISTER,
  ROUTING: A.ROUTING, CONTEXT: A.CONTEXT, COMPLETE: A.COMPLETE, COMPLETE_AND_RESUME: A.COMPLETE_RESUME, dispatch: A.DISPATCH,
};

describe('SDEI handler state machine (reference section 3.4)', () => {
  it('the table has one row per state and one column per action', () => {
    expect(TABLE.length).toBe(8);
    for (const row of TABLE) expect(row.length).toBe(REF_COLUMNS.length);
    expect([...STATE_NAMES]).toEqual(Object.keys(STATE_CODE));
  });

  it.each(Object.keys(REF))('nextState row %s matches the reference table', (state) => {
    const got = REF_COLUMNS.map((col) => nextState(STATE_CODE[state]!, ACTION_OF[col] as never));
    const expected = REF[state]!.map((cell) => (cell === '-' ? DENY : cell === '=' ? NOP : cell === 'P' ? PEND : STATE_CODE[cell]!));
    expect(got).toEqual(expected);
  });

  // Through real calls, on event 2000 (dynamic shared, bound to SPI 40, routed to CPU 0).
  const EV = 2000;
  const SPI = 40;
  const CALLS = ['REGISTER', 'RELEASE', 'ENABLE', 'DISABLE', 'UNREGISTER', 'ROUTING', 'CONTEXT', 'COMPLETE', 'COMPLETE_AND_RESUME'] as const;
  const callStep = (c: (typeof CALLS)[number]): Step => {
    switch (c) {
      case 'REGISTER': return call(SDEI.EVENT_REGISTER, EV, 'handler', ARG, RM_PE, 'mpidr:0');
      case 'RELEASE': return call(SDEI.INTERRUPT_RELEASE, EV);
      case 'ENABLE': return call(SDEI.EVENT_ENABLE, EV);
      case 'DISABLE': return call(SDEI.EVENT_DISABLE, EV);
      case 'UNREGISTER': return call(SDEI.EVENT_UNREGISTER, EV);
      case 'ROUTING': return call(SDEI.EVENT_ROUTING_SET, EV, RM_PE, 'mpidr:0');
      case 'CONTEXT': return call(SDEI.EVENT_CONTEXT, 0);
      case 'COMPLETE': return call(SDEI.EVENT_COMPLETE, 0);
      case 'COMPLETE_AND_RESUME': return call(SDEI.EVENT_COMPLETE_AND_RESUME, 'irqvec');
    }
  };
  const running = (s: string): boolean => s.startsWith('R');
  /** Expected x0 and the state afterwards, from the reference table. */
  const expectation = (state: string, c: (typeof CALLS)[number]): { code: number; next: string; completes: boolean } => {
    const cell = REF[state]![REF_COLUMNS.indexOf(c)]!;
    if (cell === '-') return { code: DENIED, next: state, completes: false };
    if (cell === 'P') return { code: PENDING, next: state, completes: false };
    const next = cell === '=' ? state : cell;
    if (c === 'COMPLETE' || c === 'COMPLETE_AND_RESUME') return { code: 0, next, completes: true };
    if (c === 'UNREGISTER' && running(state)) return { code: PENDING, next, completes: false };
    if (c === 'CONTEXT') return { code: 0x1000, next, completes: false }; // the interrupted x0
    return { code: 0, next, completes: false };
  };
  const cells = (['reg', 'reG', 'rEG', 'REG', 'ReG', 'Reg'] as const).flatMap((s) => CALLS.map((c) => [s, c] as const));

  it.each(cells)('through real calls: %s + %s', async (state, c) => {
    const e = expectation(state, c);
    const reach: Record<string, Step[]> = {
      reg: [], reG: [register(EV, RM_PE, 'mpidr:0')], rEG: [register(EV, RM_PE, 'mpidr:0'), enable(EV)],
      REG: [], ReG: [disable(EV)], Reg: [want(PENDING, call(SDEI.EVENT_UNREGISTER, EV))],
    };
    let f: FwRun;
    if (!running(state)) {
      f = await run({ cpus: { 0: [bind(SPI, EV), ...reach[state]!, want(e.code, callStep(c)), status(EV, STATE_CODE[e.next]!)] } });
    } else {
      const completed = e.completes ? e.next : REF[e.next]![REF_COLUMNS.indexOf('COMPLETE')]!;
      const handler: HandlerSpec = { steps: [status(EV, STATE_CODE.REG!), ...reach[state]!, want(e.code, callStep(c)), status(EV, STATE_CODE[e.next]!)] };
      f = await run({
        cpus: { 0: [bind(SPI, EV), register(EV, RM_PE, 'mpidr:0'), enable(EV), unmask, { regs: true }, { poke: SPI }, { wait: `c${EV}` }, status(EV, STATE_CODE[completed]!)] },
        handlers: { [EV]: handler },
      });
      const hsteps = handler.steps!.filter(records);
      const shown = e.completes ? hsteps.slice(0, -2) : hsteps; // a successful COMPLETE does not return
      expectHandler(f, 0, shown.map(expectOf));
      expect(f.dispatches(0).length).toBe(1);
    }
    expectClean(f);
    expectScripts(f);
  });
});

// ---------------------------------------------------------------------------
// SDEI delivery
// ---------------------------------------------------------------------------

describe.each(ENGINES)('SDEI delivery, %s engine', (engine) => {
  it('event 0 signalled at a CPU spinning with DAIF all set is dispatched; x0-x3, EVENT_CONTEXT and COMPLETE are exact', async () => {
    const f = await run({
      cpus: {
        0: [...ready0, { daif: DAIF_ALL }, { mrs: 'SP_EL1' }, { regs: true }, { set: 's1' }, { wait: 'c0' }, { checkRegs: true, expect: 0 }, { mrs: 'DAIF', expect: DAIF_ALL }, { mrs: 'SP_EL1' }],
        1: [{ wait: 's1' }, signal(0)],
      },
      handlers: { 0: { ctx: true } },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    const [d, ...more] = f.dispatches(0);
    expect(more).toEqual([]);
    expect([d!.ev, d!.arg, d!.pstate, d!.nest, d!.el, d!.daif]).toEqual([0, ARG, 0x3c5, 0, 1, DAIF_ALL]); // x0, x1, x3; handler at EL1h, DAIF set
    expect(f.sym(d!.pc)).toMatch(/^test_main\+/); // x2: the interrupted PC, in the spin
    expect(d!.ctx).toEqual(Array.from({ length: 18 }, (_, n) => 0x1000 + n)); // EVENT_CONTEXT: the interrupted x0-x17
    const sp = f.res(0);
    expect(sp[sp.length - 1]).toBe(sp[3]); // SP unchanged
    expect(d!.sp).toBe(sp[3]); // the handler ran on the interrupted SP_EL1 (no stack switch at EL3)
    // COMPLETE returned exactly to the interrupted instruction.
    const disp = f.trace(0, T.SDEI_DISPATCH);
    const comp = f.trace(0, T.SDEI_COMPLETE);
    expect(disp.map((x) => x.b)).toEqual([d!.pc]);
    expect(comp.length).toBe(1);
    const exit = f.r.trace().find((x) => x.cpu === 0 && x.kind === T.EL3_EXIT && x.time >= comp[0]!.time && x.b === d!.pc);
    expect(exit).toBeDefined();
  });

  it('the interrupt stays active during the handler: a Non-secure SGI waits for COMPLETE even with PSTATE.I clear', async () => {
    const f = await run({
      cpus: {
        0: [...ready0, { daif: 0 }, { set: 's1' }, { wait: 'd0' }, { wait: 'i1' }, { load: 'i1', expect: 1 }],
        1: [{ wait: 's1' }, signal(0), { wait: 's2' }, { sgi: 1, cpu: 0 }, { set: 's3' }],
      },
      handlers: { 0: { steps: [{ daif: 0 }, { set: 's2' }, { wait: 's3' }, { delay: 20_000 }, { load: 'i1', expect: 0 }] } },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [0]);
  });

  it('a PE-masked CPU does not take the event until PE_UNMASK, then takes it exactly once', async () => {
    const f = await run({
      cpus: {
        0: [register(0), enable(0), { daif: DAIF_ALL }, { set: 's1' }, { wait: 's2' }, { delay: 50_000 }, { load: 'c0', expect: 0 }, unmask, { wait: 'c0' }, { delay: 50_000 }, { load: 'c0', expect: 1 }],
        1: [{ wait: 's1' }, signal(0), signal(0), { set: 's2' }],
      },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    expect(f.dispatches(0).length).toBe(1);
  });

  it('a critical event preempts a running normal handler', async () => {
    const f = await run({
      cpus: {
        0: [...ready0, register(100), enable(100), { daif: DAIF_ALL }, { set: 's1' }, { wait: 'd0' }, { load: 'd100', expect: 1 }],
        1: [{ wait: 's1' }, signal(0), { wait: 's2' }, { poke: 23, cpu: 0 }],
      },
      handlers: {
        0: { steps: [{ set: 's2' }, { wait: 'c100' }, { load: 'd100' }] },
        100: { steps: [{ load: 'c0' }, { load: 'd0' }] },
      },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [1, 0, 1]); // in the critical handler: event 0 entered, not finished; then the normal one sees it done
    const [n, c] = f.dispatches(0);
    expect([n!.ev, n!.nest, c!.ev, c!.nest]).toEqual([0, 0, 100, 1]);
    expect(f.sym(c!.pc)).toMatch(/^fw_sdei_handler\+/); // it interrupted the normal handler
    expect(c!.pstate).toBe(0x3c5);
  });

  it('a normal event signalled during a normal handler waits for COMPLETE (event 0 again)', async () => {
    const f = await run({
      cpus: {
        0: [...ready0, { daif: DAIF_ALL }, { set: 's1' }, { wait: 'd0', v: 2 }],
        1: [{ wait: 's1' }, signal(0), { wait: 's2' }, signal(0), { set: 's3' }],
      },
      handlers: { '0#0': { steps: [{ set: 's2' }, { wait: 's3' }, { delay: 20_000 }, { load: 'c0', expect: 1 }] } },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [1]);
    const ds = f.dispatches(0);
    expect(ds.map((d) => [d.ev, d.nest])).toEqual([[0, 0], [0, 0]]);
    expect(f.sym(ds[1]!.pc)).toMatch(/^test_main\+/); // taken after the first completed, not inside it
  });

  it('a normal event signalled during a normal handler waits for COMPLETE (another normal event)', async () => {
    const f = await run({
      cpus: {
        0: [bind(20, 1000), register(1000), enable(1000), ...ready0, { daif: DAIF_ALL }, { set: 's1' }, { wait: 'd1000' }],
        1: [{ wait: 's1' }, signal(0), { wait: 's2' }, { poke: 20, cpu: 0 }, { set: 's3' }],
      },
      handlers: { 0: { steps: [{ set: 's2' }, { wait: 's3' }, { delay: 20_000 }, { load: 'c1000', expect: 0 }] } },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [0]);
    const ds = f.dispatches(0);
    expect(ds.map((d) => [d.ev, d.nest])).toEqual([[0, 0], [1000, 0]]);
    expect(f.sym(ds[1]!.pc)).toMatch(/^test_main\+/);
  });

  it('COMPLETE_AND_RESUME to the IRQ vector: as if an IRQ had been taken at the interrupted PC', async () => {
    const f = await run({
      cpus: {
        0: [...ready0, { daif: DAIF_ALL }, { regs: true }, { set: 's1' }, { wait: 'd0' }, { wait: 'i1' }, { checkRegs: true, expect: 0 }, { mrs: 'DAIF', expect: DAIF_ALL }],
        1: [{ wait: 's1' }, { sgi: 1, cpu: 0 }, signal(0)],
      },
      handlers: { 0: { end: [{ resume: 0x1000 }, { resume: 'irqvec' }] } },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    expectHandler(f, 0, [DENIED]); // a resume address the platform rejects
    const [d] = f.dispatches(0);
    expect(f.rt(0, RT.ELR)).toBe(d!.pc); // the IRQ vector saw ELR_EL1 = the interrupted PC
    expect(f.at('i1@0')).toBe(1); // and handled the SGI that PSTATE.I was holding off
    const erets = f.trace(0, T.ERET).filter((x) => x.a === d!.pc);
    expect(erets.length).toBe(1); // the vector's ERET went back to the interrupted context
  });

  it('a signal to a PE at EL3 is not dispatched until it returns to EL1', async () => {
    const f = await run({
      cpus: {
        0: [{ wait: 's1' }, { delay: 10_000 }, signal(1)],
        1: [...ready0, { set: 's1' }, { now: true }, ok(SIP_SMPSTOP_STALL, 100_000), { wait: 'c0' }],
      },
    }, { engine });
    expectClean(f);
    expectScripts(f);
    const t0 = f.res(1)[3]!;
    const [disp, ...more] = f.trace(1, T.SDEI_DISPATCH);
    expect(more).toEqual([]);
    // Never while the PE is at EL3 (reference section 3.6); in the sim engine the signal lands in the stall.
    expect(disp!.time <= t0 || disp!.time >= t0 + 100_000).toBe(true);
    if (engine === 'sim') expect(disp!.time).toBeGreaterThanOrEqual(t0 + 100_000);
  });
});

describe('SDEI delivery details (sim engine)', () => {
  it('the handler is entered with ALLINT set when FEAT_NMI is implemented (SCTLR_EL1.SPINTMASK clear)', async () => {
    const f = await run({ cpus: { 0: [...ready0, signal(0), { wait: 'd0' }] } }, { featNmi: true });
    expectClean(f);
    expect(f.dispatches(0)[0]!.allint).toBe(0x2000);
  });

  it('a normal event signalled during a critical handler waits for COMPLETE', async () => {
    const f = await run({
      cpus: { 0: [...ready0, register(100), enable(100), { poke: 23 }, { wait: 'd0' }] },
      handlers: { 100: { steps: [signal(0), { delay: 20_000 }, { load: 'c0', expect: 0 }] } },
    });
    expectClean(f);
    expectHandler(f, 0, [0, 0]);
    expect(f.dispatches(0).map((d) => [d.ev, d.nest])).toEqual([[100, 0], [0, 0]]);
  });

  it('EVENT_COMPLETE with status FAILED completes like HANDLED (the status is ignored)', async () => {
    const f = await run({ cpus: { 0: [...ready0, signal(0), { wait: 'd0' }, status(0, 3), signal(0), { wait: 'c0', v: 2 }] }, handlers: { 0: { status: 1 } } });
    expectClean(f);
    expectScripts(f);
    expect(f.dispatches(0).length).toBe(2);
  });

  it('a bound event can be registered again after EVENT_UNREGISTER and is dispatched', async () => {
    const f = await run({ cpus: { 0: [bind(20, 1000), register(1000), enable(1000), unregister(1000), register(1000), enable(1000), unmask, { poke: 20 }, { wait: 'd1000' }, status(1000, 3)] } });
    expectClean(f);
    expectScripts(f);
    expect(f.dispatches(0).map((d) => d.ev)).toEqual([1000]);
  });

  it('a registered but disabled event keeps its signal pending until EVENT_ENABLE', async () => {
    const f = await run({ cpus: { 0: [register(0), unmask, signal(0), { delay: 20_000 }, { load: 'c0', expect: 0 }, enable(0), { delay: 20_000 }, { load: 'c0', expect: 1 }] } });
    expectClean(f);
    expectScripts(f);
  });

  it('a signal to an unregistered event is dropped', async () => {
    const f = await run({ cpus: { 0: [unmask, signal(0), { delay: 20_000 }, register(0), enable(0), { delay: 20_000 }, { load: 'c0', expect: 0 }] } });
    expectClean(f);
    expectScripts(f);
  });

  it('a shared event routed RM_PE to a masked PE is taken after PE_UNMASK (TF-A sdei_pe_unmask re-enables it)', async () => {
    const f = await run({ cpus: { 0: [register(200, RM_PE, 'mpidr:0'), enable(200), { poke: 48 }, { delay: 20_000 }, { load: 'c200', expect: 0 }, unmask, { delay: 20_000 }, { load: 'c200', expect: 1 }] } });
    expectClean(f);
    expectScripts(f);
  });

  it('a shared RM_ANY event is left pending by a masked PE and taken by an unmasked one', async () => {
    const f = await run({
      cpus: {
        0: [register(200, RM_ANY), enable(200), { wait: 's2' }, { poke: 48 }, { wait: 'c200@1' }, { delay: 20_000 }],
        1: [unmask, { set: 's2' }],
      },
    });
    expectClean(f);
    expectScripts(f);
    expect([f.at('c200@0'), f.at('c200@1')]).toEqual([0, 1]);
  });

  it('a signal sent to a powered-off PE is taken after CPU_ON once event 0 is registered, enabled and unmasked again', async () => {
    const f = await run({
      cpus: {
        0: [{ poll: [PSCI.AFFINITY_INFO64, 'mpidr:1', 0], until: 1, expect: 1 }, signal(1), cpuOn(1, 0), { wait: 'c0@1' }],
        1: [noret(PSCI.CPU_OFF)],
      },
      restart: { 1: [{ delay: 20_000 }, { load: 'c0', expect: 0 }, status(0, 0), ...ready0, { wait: 'c0' }] },
      done: 2,
    });
    expectClean(f);
    expectScripts(f);
  });

  it('CPU_OFF inside a handler (clean model): the dispatch is closed, the CPU powers off, and event 0 works after CPU_ON', async () => {
    const f = await run(cpuOffInHandlerCase());
    expectClean(f);
    expectScripts(f);
    expect(f.at('c0@1')).toBe(2);
  });
});

// ---------------------------------------------------------------------------
// Quirks: each changes behaviour only when enabled
// ---------------------------------------------------------------------------

function cpuOffInHandlerCase(): Case {
  return {
    cpus: {
      0: [{ wait: 's1' }, signal(1), { poll: [PSCI.AFFINITY_INFO64, 'mpidr:1', 0], until: 1, expect: 1 }, cpuOn(1, 0), { wait: 's2' }, signal(1), { delay: 100_000 }],
      1: [...ready0, { set: 's1' }],
    },
    handlers: { '0@1#0': { steps: [noret(PSCI.CPU_OFF)] } },
    restart: { 1: [...ready0, { set: 's2' }] },
    done: 3,
  };
}

describe('firmware quirks: each changes behaviour only when enabled (firmware/quirks.ts)', () => {
  const tested: Quirk[] = [];
  const quirkIt = (q: Quirk, name: string, fn: (on: boolean) => Promise<void>): void => {
    tested.push(q);
    it.each([false, true])(`${q}: ${name} (quirk enabled: %s)`, fn);
  };

  quirkIt('cpu-off-denied', 'CPU_OFF returns DENIED instead of powering the CPU off', async (on) => {
    const f = await run({
      cpus: { 0: [{ wait: 's1' }, { poll: [PSCI.AFFINITY_INFO64, 'mpidr:1', 0], until: 1, max: 100 }], 1: [{ set: 's1' }, { smc: [PSCI.CPU_OFF] }] },
      done: 1,
    }, { quirks: on ? ['cpu-off-denied'] : [] });
    expectClean(f);
    expect(f.res(0)).toEqual([on ? 0 : 1]); // AFFINITY_INFO: ON / OFF
    expect(f.res(1)).toEqual(on ? [PSCI_RET.DENIED] : []);
  });

  quirkIt('cpu-off-in-sdei-wedges', 'CPU_OFF inside an SDEI handler leaves the PE at EL3 forever', async (on) => {
    const f = await run({
      cpus: { 0: [{ wait: 's1' }, signal(1), { wait: 'c0@1' }, { poll: [PSCI.AFFINITY_INFO64, 'mpidr:1', 0], until: 1, max: 100 }], 1: [...ready0, { set: 's1' }] },
      handlers: { '0@1': { steps: [noret(PSCI.CPU_OFF)] } },
      done: 1,
    }, { quirks: on ? ['cpu-off-in-sdei-wedges'] : [] });
    expectClean(f);
    expect(f.res(0)[1]).toBe(on ? 0 : 1);
    expect(f.r.cpus[1]!.activity).toBe(on ? 'el3' : 'off');
  });

  quirkIt('cpu-off-abandons-sdei', 'CPU_OFF inside a handler abandons the dispatch: event 0 is never taken on that PE again', async (on) => {
    const f = await run(cpuOffInHandlerCase(), { quirks: on ? ['cpu-off-abandons-sdei'] : [] });
    expectClean(f);
    expectScripts(f);
    expect(f.at('c0@1')).toBe(on ? 1 : 2);
  });

  describe.each([false, true])('signal-masked-target-denied (quirk enabled: %s)', (on) => {
    if (!on) tested.push('signal-masked-target-denied');
    const rows: [string, Step[], number][] = [
      ['target PE masked', [register(0), enable(0)], on ? INVALID : 0],
      ['event 0 not registered on the target', [unmask], on ? INVALID : 0],
      ['event 0 registered but disabled on the target', [register(0), unmask], on ? INVALID : 0],
      ['target ready', ready0, 0],
    ];
    it.each(rows)('EVENT_SIGNAL, %s', async (_n, setup, expected) => {
      const f = await run({
        cpus: { 0: [{ wait: 's1' }, want(expected, call(SDEI.EVENT_SIGNAL, 0, 'mpidr:1')), { set: 's2' }], 1: [...setup, { set: 's1' }, { wait: 's2' }] },
      }, { quirks: on ? ['signal-masked-target-denied'] : [] });
      expectClean(f);
      expectScripts(f);
    });
  });

  quirkIt('masked-sgi-never-eoid', 'the event-0 SGI taken on a masked PE stays active and blocks Non-secure interrupts', async (on) => {
    const f = await run({
      cpus: {
        0: [{ wait: 's1' }, signal(1), { sgi: 1, cpu: 1 }, { set: 's2' }],
        1: [register(0), enable(0), { daif: 0 }, { set: 's1' }, { wait: 's2' }, { delay: 50_000 }, { load: 'i1', expect: on ? 0 : 1 }, unmask, { delay: 50_000 }, { load: 'c0', expect: on ? 0 : 1 }],
      },
    }, { quirks: on ? ['masked-sgi-never-eoid'] : [] });
    expectClean(f);
    expectScripts(f);
  });

  quirkIt('disabled-event-repends', 'event 0 registered but disabled bounces the target between EL3 and EL1', async (on) => {
    const f = await run({
      cpus: {
        0: [{ wait: 's1' }, signal(1), { set: 's2' }],
        1: [register(0), unmask, { set: 's1' }, { wait: 's2' }, { nops: 200 }, enable(0), { wait: 'c0' }, { delay: 20_000 }, { load: 'c0', expect: 1 }],
      },
    }, { quirks: on ? ['disabled-event-repends'] : [] });
    expectClean(f);
    expectScripts(f);
    const fiqs = f.trace(1, T.FIQ_EL3).filter((x) => x.a === 8).length;
    if (on) expect(fiqs).toBeGreaterThan(100);
    else expect(fiqs).toBe(2); // one while disabled (kept pending), one dispatch after ENABLE
  });

  quirkIt('sdei-version-1.0', 'SDEI_VERSION reports 1.0.0', async (on) => {
    await runRow([], call(SDEI.VERSION), on ? SDEI_VERSION_1_0 : SDEI_VERSION_1_1, 1, { quirks: on ? ['sdei-version-1.0'] : [] });
  });

  it('every quirk has a with/without test', () => {
    expect([...new Set(tested)].sort()).toEqual([...QUIRK_NAMES].sort());
  });

  it('event delivery is unchanged with every quirk enabled', async () => {
    const f = await run({
      cpus: { 0: [...ready0, { daif: DAIF_ALL }, { regs: true }, { set: 's1' }, { wait: 'c0' }, { checkRegs: true, expect: 0 }], 1: [{ wait: 's1' }, signal(0)] },
      handlers: { 0: { ctx: true } },
    }, { quirks: QUIRK_NAMES });
    expectClean(f);
    expectScripts(f);
    expect(f.dispatches(0)[0]!.ctx).toEqual(Array.from({ length: 18 }, (_, n) => 0x1000 + n));
  });
});

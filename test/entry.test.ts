/**
 * Entry-code, scheduler and interrupt-pipeline models (issue 6): the entry
 * variants on the preempt-da-masked reproduction (reference 6.6-6.9) in both
 * engines, the ordering checkers on synthetic orderings (the seed-004 rules
 * of 6.4), the pipeline's merged flags, the pipeline rows of the outcome
 * table, and the new scenario fields and flags.
 */
import { afterAll, describe, it, expect } from 'vitest';
import { runScenario } from '../dist/src/scenarios/run.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';
import { parseScenario } from '../dist/src/scenarios/schema.js';
import { getPreset } from '../dist/src/scenarios/presets.js';
import { ENTRY_ROWS, PIPELINE_ROWS, pipelineScenario, entryTableMarkdown, type EntryRow, type WedgeRow } from '../dist/src/scenarios/outcome-table.js';
import { checkEntryTrace, checkPipelineTrace, ENTRY_ORDER_RULES } from '../dist/src/check/entry-checkers.js';
import { STEP, PATH, NMI_OFFSET, HARDIRQ_OFFSET, encodeState, decodeState } from '../dist/src/kernel/entry-common.js';
import { PIPE, irqs_merge_flags, irqs_split_flags, arch_irqs_virtual_to_native_flags, arch_irqs_native_to_virtual_flags } from '../dist/src/kernel/pipeline.js';
import { SAMPLE } from '../dist/src/kernel/observe.js';
import { T } from '../dist/src/trace/events.js';
import { scenarioFromArgs } from '../dist/src/cli/run.js';
import type { RunResult } from '../dist/src/check/result.js';
import type { TraceRecord } from '../dist/src/trace/ring.js';
import { checkWedgeRow } from './helpers/outcome.js';

afterAll(async () => {
  await shutdownThreadsEngine();
});

/** Seeds per sim row: the rows' runs are deterministic, so these are fixed cases, not samples. */
const SIM_SEEDS = 3;

function where(r: RunResult): string {
  return `${r.replay}\noutcome ${r.outcome}; entry ${JSON.stringify(r.entry)}; violations ${JSON.stringify(r.violations)}${r.fault ? `; fault ${r.fault.message}` : ''}`;
}

function checkEntryRow(row: EntryRow, r: RunResult, must: readonly string[], may: readonly string[]): void {
  const w = where(r);
  expect(r.fault, w).toBeUndefined();
  expect(r.outcome, w).toBe('poweroff');
  const ids = new Set(r.violations.map((v) => v.id));
  for (const id of must) expect(ids.has(id), `${w}\nmissing ${id}`).toBe(true);
  for (const id of ids) expect([...must, ...may], `${w}\nunexpected ${id}`).toContain(id);
  expect(r.entry, w).toBeDefined();
  if (row.syncPreempt === 'never') expect(r.entry!.preemptions.sync, w).toBe(0);
  // The D|A-masked preemptions are exactly the bug's.
  if (!must.includes('preempt-with-da-masked') && !may.includes('preempt-with-da-masked')) expect(r.entry!.preemptions.daMasked, w).toBe(0);
  // Exception entries and exits never break the seed-004 order, in any variant.
  for (const id of ['entry-order', 'instrumentation-without-rcu', 'nmi-preempted', 'pipeline-epilogue']) expect(ids.has(id), w).toBe(false);
}

describe('entry variants on the preempt-da-masked reproduction (sim)', () => {
  it.each(ENTRY_ROWS.map((r) => [r.name, r] as const))('%s', async (_n, row) => {
    let syncSeen = 0;
    for (let seed = 1; seed <= SIM_SEEDS; seed++) {
      const r = await runScenario(row.scenario, { engine: 'sim', seed });
      checkEntryRow(row, r, row.mustFind, row.mayFind);
      expect(r.entry!.contextSwitches, where(r)).toBeGreaterThan(100);
      if (r.entry!.preemptions.sync > 0) syncSeen++;
    }
    if (row.syncPreempt === 'yes') expect(syncSeen).toBe(SIM_SEEDS);
  });
});

describe('entry variants on the preempt-da-masked reproduction (threads: what holds under every interleaving)', () => {
  it.each(ENTRY_ROWS.map((r) => [r.name, r] as const))('%s', async (_n, row) => {
    checkEntryRow(row, await runScenario(row.scenario, { engine: 'threads' }), row.threads.mustFind, row.threads.mayFind);
  });
});

describe('the preempt-da-masked preset', () => {
  const preset = getPreset('preempt-da-masked')!;
  it('reports exactly preempt-with-da-masked with generic-preempt and no pseudo-NMI: P1 at a synchronous exception exit, P2 in a task', async () => {
    const r = await runScenario(preset.scenario, { engine: 'sim', seed: 1 });
    expect([...new Set(r.violations.map((v) => v.id))], where(r)).toEqual(['preempt-with-da-masked']);
    expect(r.violations.some((v) => /synchronous exception's exit with PSTATE EL1h DAIF/.test(v.message)), where(r)).toBe(true);
    expect(r.violations.some((v) => /ran in process context with PSTATE EL1h DAif/.test(v.message)), where(r)).toBe(true);
    expect(r.entry!.preemptions.daMasked, where(r)).toBe(r.entry!.preemptions.sync);
  });

  it.each([['own-irq-preemption'], ['split-exit']])('reports nothing with %s', async (entry) => {
    const s = parseScenario(preset.scenario);
    const r = await runScenario({ ...s, kernel: { ...s.kernel, entry } }, { engine: 'sim', seed: 1 });
    expect(r.violations, where(r)).toEqual([]);
    expect(r.outcome).toBe('poweroff');
  });

  it('--entry and --irq-pipeline set the scenario fields; a bad --entry names the flag', () => {
    const base = { engine: 'sim' as const, scenario: 'preempt-da-masked' };
    expect(scenarioFromArgs({ ...base, entry: 'split-exit' }).kernel.entry).toBe('split-exit');
    expect(scenarioFromArgs({ ...base, 'irq-pipeline': true }).kernel.irqPipeline).toBe(true);
    expect(() => scenarioFromArgs({ ...base, entry: 'bogus' })).toThrow(/^--entry: 'bogus' is not an entry variant: expected one of generic-preempt, own-irq-preemption, split-exit$/);
  });
});

// =====================================================================
// The ordering checkers on synthetic orderings
// =====================================================================

let seq = 0;
function rec(cpu: number, time: number, kind: number, a: number, b = 0): TraceRecord {
  return { cpu, seq: seq++, time, kind, a, b };
}
/** A CPU's entry steps, one per ns from `t0`: [step, value] pairs. */
function steps(cpu: number, t0: number, list: readonly (readonly [number, number])[]): TraceRecord[] {
  return list.map(([a, b], i) => rec(cpu, t0 + i, T.ENTRY, a, b));
}
const NMI = NMI_OFFSET + HARDIRQ_OFFSET;
const NMI_ENTER: readonly (readonly [number, number])[] = [
  [STEP.PATH_BEGIN, PATH.NMI_ENTER], [STEP.PREEMPT, NMI], [STEP.LOCKDEP_HARDIRQS_OFF, 0], [STEP.LOCKDEP_HARDIRQ_ENTER, 1],
  [STEP.CT_NMI_ENTER, 1], [STEP.INSTR_BEGIN, 0], [STEP.TRACE_HARDIRQS_OFF_FINISH, 1], [STEP.FTRACE_NMI_ENTER, 1], [STEP.INSTR_END, 0],
  [STEP.PATH_END, PATH.NMI_ENTER],
];
const NMI_EXIT: readonly (readonly [number, number])[] = [
  [STEP.PATH_BEGIN, PATH.NMI_EXIT], [STEP.INSTR_BEGIN, 0], [STEP.FTRACE_NMI_EXIT, -1], [STEP.TRACE_HARDIRQS_ON_PREPARE, 0],
  [STEP.LOCKDEP_HARDIRQS_ON_PREPARE, 0], [STEP.INSTR_END, 0], [STEP.CT_NMI_EXIT, 0], [STEP.LOCKDEP_HARDIRQ_EXIT, -1],
  [STEP.LOCKDEP_HARDIRQS_ON, 1], [STEP.PREEMPT, -NMI], [STEP.PATH_END, PATH.NMI_EXIT],
];
const swap = <X>(l: readonly X[], i: number, j: number): X[] => {
  const c = [...l];
  [c[i], c[j]] = [c[j]!, c[i]!];
  return c;
};
const ids = (v: readonly { id: string }[]): string[] => v.map((x) => x.id);

describe('ordering rules (seed 004) on synthetic orderings', () => {
  it('the rule table names every rule of reference 6.4 the model records', () => {
    expect(ENTRY_ORDER_RULES.map((r) => r.id)).toEqual(
      ['nmi-entry', 'nmi-exit', 'dbg-entry', 'dbg-exit', 'irq-entry', 'irq-exit', 'irq-enter-rcu', 'irq-exit-rcu', 'pipeline-entry']);
    expect(ENTRY_ORDER_RULES.find((r) => r.id === 'nmi-entry')!.order).toEqual(['preempt', 'lockdep', 'rcu', 'tracing']);
    expect(ENTRY_ORDER_RULES.find((r) => r.id === 'nmi-exit')!.order).toEqual(['tracing', 'rcu', 'lockdep', 'preempt']);
  });

  it('an NMI entered and left in the kernel\'s order passes', () => {
    expect(checkEntryTrace([...steps(0, 0, NMI_ENTER), ...steps(0, 100, NMI_EXIT)])).toEqual([]);
  });

  it('lockdep before the preempt count on NMI entry is reported', () => {
    const v = checkEntryTrace(steps(0, 0, swap(NMI_ENTER, 1, 2)));
    expect(ids(v)).toEqual(['entry-order']);
    expect(v[0]!.message).toMatch(/nmi-enter changed preempt after lockdep \(rule nmi-entry/);
  });

  it('tracing before RCU on NMI entry is reported', () => {
    expect(checkEntryTrace(steps(0, 0, swap(NMI_ENTER, 4, 6)))[0]!.message).toMatch(/nmi-enter changed rcu after tracing/);
  });

  it('the preempt count restored before RCU on NMI exit (not the exact reverse) is reported', () => {
    const exit = [...NMI_EXIT];
    const [p] = exit.splice(9, 1);
    exit.splice(6, 0, p!);
    const v = checkEntryTrace([...steps(0, 0, NMI_ENTER), ...steps(0, 100, exit)]);
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/nmi-exit changed rcu after preempt \(rule nmi-exit/)]);
  });

  it('an NMI entry that never tells RCU is reported as missing a step', () => {
    const v = checkEntryTrace(steps(0, 0, NMI_ENTER.filter(([a]) => a !== STEP.CT_NMI_ENTER)));
    expect(v[0]!.message).toMatch(/nmi-enter did not change rcu/);
  });

  it('instrumentable code while RCU does not watch (an idle CPU\'s NMI tracing before ct_nmi_enter) is reported', () => {
    const idle = steps(0, 0, [[STEP.CT_IDLE_ENTER, -1]]);
    const early = steps(0, 10, swap(NMI_ENTER, 4, 7)); // ftrace_nmi_enter before ct_nmi_enter
    const v = checkEntryTrace([...idle, ...early]);
    expect(new Set(ids(v))).toEqual(new Set(['entry-order', 'instrumentation-without-rcu']));
    expect(v.find((x) => x.id === 'instrumentation-without-rcu')!.message).toMatch(/ftrace_nmi_enter\) while RCU was not watching/);
    // the same NMI with RCU told first is clean
    expect(checkEntryTrace([...idle, ...steps(0, 10, NMI_ENTER)])).toEqual([]);
  });

  it('a preemption inside an NMI is reported (a pseudo-NMI never preempts)', () => {
    const preempt = rec(0, 50, T.SCHED_SAMPLE, (SAMPLE.PREEMPT_IRQ * 2 ** 24) | 2000, 0x3c5);
    expect(ids(checkEntryTrace([...steps(0, 0, NMI_ENTER), preempt]))).toEqual(['nmi-preempted']);
    expect(checkEntryTrace([...steps(0, 0, NMI_ENTER), ...steps(0, 20, NMI_EXIT), { ...preempt, time: 60 }])).toEqual([]);
  });

  it('a routine switched out in the middle is finished by its own task (per-task stacks)', () => {
    const exitA = [[STEP.PATH_BEGIN, PATH.IRQ_EXIT], [STEP.TRACE_HARDIRQS_ON, 0]] as const;
    const restA = [[STEP.LOCKDEP_HARDIRQS_ON, 1], [STEP.PATH_END, PATH.IRQ_EXIT]] as const;
    const entryB = [[STEP.PATH_BEGIN, PATH.IRQ_ENTER], [STEP.LOCKDEP_HARDIRQS_OFF, 0], [STEP.TRACE_HARDIRQS_OFF_FINISH, 1], [STEP.PATH_END, PATH.IRQ_ENTER]] as const;
    const trace = [
      rec(1, 0, T.SCHED_SWITCH, 1, 2000), ...steps(1, 1, exitA),
      rec(1, 10, T.SCHED_SWITCH, 2000, 2001), ...steps(1, 11, entryB),
      rec(1, 20, T.SCHED_SWITCH, 2001, 2000), ...steps(1, 21, restA),
    ];
    expect(checkEntryTrace(trace)).toEqual([]);
    // A's routine judged on its own steps: had B's lockdep step been attributed to it before A's tracing, it would fail.
    const wrong = [...steps(1, 1, exitA.slice(0, 1)), ...steps(1, 2, [[STEP.LOCKDEP_HARDIRQS_ON, 1], [STEP.TRACE_HARDIRQS_ON, 0], [STEP.PATH_END, PATH.IRQ_EXIT]])];
    expect(ids(checkEntryTrace(wrong))).toEqual(['entry-order']);
  });

  it('a ring that starts in the middle of a routine is not judged on the missing part', () => {
    expect(checkEntryTrace(steps(0, 0, NMI_ENTER.slice(3)))).toEqual([]);
  });

  it('the pipeline epilogue: over oob code, or after an IRQ over a stalled in-band stage, is reported; a fault over stalled in-band code is not', () => {
    const epi = (b: number): TraceRecord => rec(2, 5, T.PIPELINE, PIPE.EPILOGUE, b);
    expect(checkPipelineTrace([epi(0)])).toEqual([]);
    expect(checkPipelineTrace([epi(1 | 4)])).toEqual([]);
    expect(checkPipelineTrace([epi(4)])[0]!.message).toMatch(/interrupt epilogue over a stalled in-band stage/);
    expect(checkPipelineTrace([epi(1 | 2)])[0]!.message).toMatch(/fault epilogue over out-of-band code/);
  });

  it('the entry state token round-trips through a register', () => {
    for (const s of [
      { kind: 'irq', exitRcu: true, stage: 'none' }, { kind: 'irq', exitRcu: false, stage: 'oob' },
      { kind: 'irq', exitRcu: false, stage: 'inband-stalled' }, { kind: 'nmi', lockdep: true }, { kind: 'nmi', lockdep: false },
    ] as const) expect(decodeState(encodeState(s))).toEqual(s);
  });
});

// =====================================================================
// The interrupt pipeline
// =====================================================================

describe('interrupt pipeline: merged flags (arch/arm64 irq_pipeline.h)', () => {
  it('virtual <-> native: the stall bit at PSR_I (bit 7), the hardware I bit in the free bit 31', () => {
    expect(arch_irqs_virtual_to_native_flags(true)).toBe(0x80);
    expect(arch_irqs_virtual_to_native_flags(false)).toBe(0);
    expect(arch_irqs_native_to_virtual_flags(0x3c0)).toBe(2 ** 31);
    expect(arch_irqs_native_to_virtual_flags(0x300)).toBe(0);
    for (const hard of [0, 0x80, 0x3c0]) {
      for (const stalled of [false, true]) {
        const combo = irqs_merge_flags(hard, stalled);
        expect(irqs_split_flags(combo)).toEqual({ hardFlags: hard & 0x80, stalled });
      }
    }
  });

  it('the pipeline-entry-test preset: epilogues only where allowed, faults from oob code skip it, latency per stage reported', async () => {
    const r = await runScenario(getPreset('pipeline-entry-test')!.scenario, { engine: 'sim', seed: 1 });
    expect(r.violations, where(r)).toEqual([]);
    const p = r.entry!.pipeline!;
    expect(p.oob.count, where(r)).toBeGreaterThan(5); // the oob timer
    expect(p.inband.count, where(r)).toBeGreaterThan(10); // reschedule IPIs, replayed
    expect(p.fastExits, where(r)).toBeGreaterThan(5); // the oob timer handler's faults
    expect(p.oob.maxUs).toBeLessThanOrEqual(p.inband.maxUs + 1);
  });
});

describe('outcome table, interrupt-pipeline rows (sim)', () => {
  it.each(PIPELINE_ROWS.map((r) => [r.join(' '), r] as const))('%s', async (_n, row) => {
    for (let seed = 1; seed <= SIM_SEEDS; seed++) checkWedgeRow(row, await runScenario(pipelineScenario(row), { engine: 'sim', seed }));
  });
});

/**
 * Threads engine: as checkWedgeRow, except where an idle CPU's registers
 * are captured. With the pipeline an in-band handler (a boot-time
 * call-function IPI still being replayed on a slow-starting thread) runs
 * with hard IRQs on, so the out-of-band stop IPI can interrupt it there.
 */
function checkPipelineRowThreads(row: WedgeRow, r: RunResult): void {
  const relaxed: RunResult = {
    ...r,
    cpus: r.cpus.map((c) => (c.cpu >= 2 && c.crashNote && !/^(default_idle_call|cpu_do_idle|do_idle|secondary_start_kernel|secondary_entry)\+/.test(c.crashNote.symbol)
      ? { ...c, crashNote: { ...c.crashNote, symbol: 'cpu_do_idle+0x0' } } : c)),
  };
  checkWedgeRow(row, relaxed);
}

describe('outcome table, interrupt-pipeline rows (threads)', () => {
  it.each(PIPELINE_ROWS.map((r) => [r.join(' '), r] as const))('%s', async (_n, row) => {
    checkPipelineRowThreads(row, await runScenario(pipelineScenario(row), { engine: 'threads' }));
  });

  it('the Markdown lists every pipeline and entry row', () => {
    const md = entryTableMarkdown().join('\n');
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| wedge') && !l.startsWith('| entry run'));
    expect(rows.length).toBe(PIPELINE_ROWS.length + ENTRY_ROWS.length);
  });
});

// =====================================================================
// Scenario fields
// =====================================================================

describe('scenario fields kernel.entry, kernel.irqPipeline, entryTest, injections', () => {
  const bad = (doc: unknown): string => {
    try {
      parseScenario(doc);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  it.each([
    ['an unknown entry variant', { kernel: { entry: 'generic' } }, /^scenario: kernel\.entry: "generic": expected one of "generic-preempt", "own-irq-preemption", "split-exit"/],
    ['the pipeline with pseudo-NMI', { kernel: { irqPipeline: true, pseudoNmi: true } }, /^scenario: kernel\.irqPipeline: true: true is not accepted together with kernel\.pseudoNmi/],
    ['an entry-test CPU that does not exist', { cpus: 2, entryTest: { cpus: [2] } }, /^scenario: entryTest\.cpus\[0\]: 2: CPU 2 does not exist/],
    ['a waker that is a test CPU', { entryTest: { cpus: [1], wakers: [1] } }, /^scenario: entryTest\.wakers\[0\]: 1: CPU 1 is an entry-test CPU/],
    ['too many threads', { entryTest: { cpus: [1], tasks: 7 } }, /^scenario: entryTest\.tasks: 7: /],
    ['an unknown injection', { faults: [{ cpu: 1, inject: 'nmi' }] }, /^scenario: faults\[0\]: .*injection \{cpu, inject: breakpoint\|watchpoint\|serror/],
    ['a symbol on an SError', { faults: [{ cpu: 1, inject: 'serror', symbol: 'panic' }] }, /^scenario: faults\[0\]\.symbol: "panic": symbol applies only to inject 'breakpoint'/],
  ])('rejects %s, naming the field', (_n, doc, re) => {
    expect(bad(doc)).toMatch(re);
  });

  it('defaults: the final fix, no pipeline, no entry test', () => {
    const s = parseScenario({});
    expect(s.kernel.entry).toBe('split-exit');
    expect(s.kernel.irqPipeline).toBe(false);
    expect(s.entryTest).toBeUndefined();
    expect(parseScenario({ entryTest: { cpus: [1] } }).entryTest).toEqual({ cpus: [1], tasks: 3, wakers: [], wakeIntervalUs: 2, fault: 'uaccess' });
  });

  it('a breakpoint on a function the kernel does not have is rejected before the run', async () => {
    await expect(runScenario({ cpus: 2, faults: [{ cpu: 1, inject: 'breakpoint', symbol: 'no_such_function' }] })).rejects.toThrow(/^faults\[\]\.symbol: 'no_such_function' is not a function/);
  });

  it('an SError injected into an idle CPU is taken at once and handled (do_serror returns for a corrected error)', async () => {
    const r = await runScenario({ cpus: 2, faults: [{ cpu: 1, inject: 'serror', atUs: 50 }], triggers: [{ kind: 'poweroff', cpu: 0, atUs: 100 }] });
    expect(r.outcome, where(r)).toBe('poweroff');
    expect(r.violations, where(r)).toEqual([]);
  });
});

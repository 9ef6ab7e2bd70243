/**
 * Trace export (issue 5 item 4): Chrome trace-event JSON for Perfetto and the
 * per-CPU text timeline, from real machine runs and from synthetic records
 * that exercise the repairs (overwritten ring, open slices at the end,
 * abandoned contexts, power-off).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineTest, T, type EngineName, type MachineResult, type TraceRecord } from './helpers/machine.js';
import {
  toChromeTrace, toTextTimeline, writeChromeTrace, chromeTraceChunks, defaultFidName, buildTracks,
  type ChromeTrace, type ChromeTraceEvent, type TraceExportContext,
} from '../dist/src/trace/export.js';
import { KernelImage } from '../dist/cpus/image.js';
import { CHANNEL_OF } from '../dist/src/trace/events.js';
import { guestFn, WAIT_WFI, WAIT_WFE, WAIT_OFF } from '../dist/cpus/isa.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';

afterAll(async () => {
  await shutdownThreadsEngine();
});

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function ctxOf(r: MachineResult, extra: Partial<TraceExportContext> = {}): TraceExportContext {
  return { image: r.image, endTime: r.guestTimeNs, ncpus: r.cpus.length, ...extra };
}

/** Parses the JSON text back, as Perfetto would. */
function roundTrip(t: ChromeTrace): ChromeTrace {
  return JSON.parse(JSON.stringify(t)) as ChromeTrace;
}

function eventsOf(t: ChromeTrace, tid: number): ChromeTraceEvent[] {
  return t.traceEvents.filter((e) => e.ph !== 'M' && e.tid === tid);
}

/**
 * Every track: B/E balanced and properly nested (each E names the innermost
 * open B), timestamps non-decreasing, nothing left open.
 */
function expectBalanced(t: ChromeTrace): void {
  const problems: string[] = [];
  const stacks = new Map<number, string[]>();
  const lastTs = new Map<number, number>();
  for (const e of t.traceEvents) {
    if (e.ph === 'M') continue;
    const tid = e.tid;
    if (e.pid !== 1) problems.push(`cpu ${tid}: pid ${e.pid}`);
    if (e.ts < (lastTs.get(tid) ?? -Infinity)) problems.push(`cpu ${tid}: ${e.ph} ${e.name} at ${e.ts} goes back in time`);
    lastTs.set(tid, e.ts);
    let stack = stacks.get(tid);
    if (!stack) stacks.set(tid, (stack = []));
    if (e.ph === 'B') stack.push(e.name);
    else if (e.ph === 'E') {
      const open = stack.pop();
      if (open !== e.name) problems.push(`cpu ${tid}: E ${e.name} at ${e.ts} closes ${open ?? 'nothing'}`);
    } else if (e.ph !== 'i') problems.push(`cpu ${tid}: phase ${e.ph}`);
  }
  for (const [tid, stack] of stacks) if (stack.length > 0) problems.push(`cpu ${tid}: left open: ${stack.join(', ')}`);
  expect(problems.slice(0, 10)).toEqual([]);
}

/**
 * A track as a compact tree: `name{ ... }` for a slice, `.name` for an
 * instant (its first word), so a row of a table can state the whole nesting.
 */
function shape(t: ChromeTrace, tid: number): string {
  const parts: string[] = [];
  for (const e of eventsOf(t, tid)) {
    if (e.ph === 'B') parts.push(`${e.name}{`);
    else if (e.ph === 'E') parts.push('}');
    else parts.push(`.${e.name.split(' ')[0]}`);
  }
  return parts.join(' ');
}

/** The text timeline without the time column: `cpuN  <indented event>`. */
function timelineBody(text: string): string[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^\s*\d+\.\d{3}us /, ''));
}

function instants(t: ChromeTrace, prefix: string): ChromeTraceEvent[] {
  return t.traceEvents.filter((e) => e.ph === 'i' && e.name.startsWith(`${prefix} `));
}

// ---------------------------------------------------------------------------
// Real machine runs
// ---------------------------------------------------------------------------

describe.each<EngineName>(['sim', 'threads'])('Chrome trace of a real run, %s engine', (engine) => {
  it('sgi-all on 4 CPUs: valid JSON, one named track per CPU, balanced slices, every SGI sent and received', async () => {
    const n = 4;
    const r = await machineTest('sgi-all', n, engine);
    expect(r.outcome).toBe('poweroff');
    const t = roundTrip(toChromeTrace(r.trace(), ctxOf(r)));
    expect(t.displayTimeUnit).toBe('ns');
    const names = t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    expect(names.map((e) => [e.tid, e.args!.name])).toEqual([[0, 'cpu 0'], [1, 'cpu 1'], [2, 'cpu 2'], [3, 'cpu 3']]);
    expectBalanced(t);
    // Each CPU sends SGI 1 to every other CPU exactly once.
    const sends = instants(t, 'sgi-send');
    expect(sends.length).toBe(n * (n - 1));
    for (let cpu = 0; cpu < n; cpu++) {
      const targets = sends.filter((e) => e.tid === cpu).map((e) => e.args!.target).sort();
      expect(targets).toEqual([0, 1, 2, 3].filter((c) => c !== cpu));
      expect(sends.filter((e) => e.tid === cpu).every((e) => e.args!.intid === 1)).toBe(true);
      // Received: at least one IRQ ack of SGI 1, each inside an el1h_64_irq slice.
      const acks = instants(t, 'irq-ack').filter((e) => e.tid === cpu);
      expect(acks.length).toBeGreaterThanOrEqual(1);
      expect(acks.every((e) => e.args!.intid === 1)).toBe(true);
      expect(shape(t, cpu)).toMatch(/el1h_64_irq\{( \.irq-ack \.eoi)+ \}/);
    }
    // The guest time of the last event is the run's end.
    const last = Math.max(...t.traceEvents.map((e) => e.ts));
    expect(last).toBeCloseTo(r.guestTimeNs / 1000, 6);
    expect(t.otherData.ncpus).toBe(n);
    expect(t.otherData.cpus.every((c) => c.droppedEnds === 0 && c.overwritten === 0)).toBe(true);
  });

  it('group0 on 2 CPUs: SDEI signal on the sender; FIQ, dispatch, handler slice and COMPLETE on the target', async () => {
    const r = await machineTest('group0', 2, engine);
    expect(r.outcome).toBe('poweroff');
    const t = roundTrip(toChromeTrace(r.trace(), ctxOf(r)));
    expectBalanced(t);
    const sig = instants(t, 'sdei-signal');
    expect(sig.map((e) => [e.tid, e.args!.event, e.args!.target])).toEqual([[1, 0, 0]]);
    expect(instants(t, 'sgi-send').map((e) => [e.tid, e.args!.intid, e.args!.target])).toEqual([[1, 8, 0]]);
    expect(instants(t, 'psci').find((e) => e.args!.fn === 'PSCI_CPU_ON')?.args!.target).toBe(1);
    expect(shape(t, 1)).toContain('SDEI_EVENT_SIGNAL{ .sdei-signal .sgi-send }');
    const cpu0 = shape(t, 0);
    expect(cpu0).toContain('FIQ{ .fiq-el3 .sdei-dispatch } sdei_event 0{ SDEI_EVENT_CONTEXT{ }');
    expect(cpu0).toContain('SDEI_EVENT_COMPLETE{ .sdei-complete .eoi } }');
    // The machine powered off from inside SYSTEM_OFF: that slice is closed at the run's end.
    expect(cpu0.endsWith('PSCI_SYSTEM_OFF{ .psci }')).toBe(true);
    expect(t.otherData.cpus[0]!.closedAtEnd).toBe(1);
  });
});

describe('text timeline of a real run', () => {
  it('group0: the SDEI path reads top to bottom, nested under the EL3 visits and the handler', async () => {
    const r = await machineTest('group0', 2, 'sim');
    const text = toTextTimeline(r.trace(), ctxOf(r));
    expect(text).toMatch(/^ +\d+\.\d{3}us cpu0 {2}wake off$/m);
    const body = timelineBody(text);
    const cpu1 = body.filter((l) => l.startsWith('cpu1'));
    expect(cpu1).toEqual(expect.arrayContaining([
      'cpu1  el3-entry SDEI_EVENT_SIGNAL from test_main+0x24',
      'cpu1    sdei-signal event 0 -> cpu0',
      'cpu1    sgi-send SGI 8 -> cpu0',
    ]));
    const cpu0 = body.filter((l) => l.startsWith('cpu0'));
    const from = cpu0.findIndex((l) => l.includes('el3-entry FIQ'));
    expect(cpu0.slice(from, from + 6)).toEqual([
      expect.stringMatching(/^cpu0 {2}el3-entry FIQ from spin_masked\+0x/),
      'cpu0    fiq-el3 SGI 8',
      expect.stringMatching(/^cpu0 {4}sdei-dispatch event 0, interrupted spin_masked\+0x/),
      'cpu0  el3-exit x0=0 to test_sdei_handler',
      'cpu0  sdei-handler event 0',
      expect.stringMatching(/^cpu0 {4}el3-entry SDEI_EVENT_CONTEXT from test_sdei_handler\+0x/),
    ]);
    const done = cpu0.findIndex((l) => l.includes('sdei-complete'));
    expect(cpu0.slice(done, done + 4)).toEqual([
      'cpu0      sdei-complete event 0',
      'cpu0      eoi SGI 8', // the firmware's Group 0 EOI after restoring the context
      expect.stringMatching(/^cpu0 {4}el3-exit x0=0 to spin_masked\+0x/),
      'cpu0  sdei-handler-end event 0',
    ]);
    // Sorted by time across CPUs.
    const times = text.split('\n').filter((l) => /us cpu/.test(l)).map((l) => Number.parseFloat(l));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('`last` keeps the last N events of each CPU and says how many were left out', async () => {
    const r = await machineTest('group0', 2, 'sim');
    const all = timelineBody(toTextTimeline(r.trace(), ctxOf(r)));
    const text = toTextTimeline(r.trace(), ctxOf(r), { last: 3 });
    const body = timelineBody(text);
    for (const cpu of ['cpu0', 'cpu1']) {
      const mine = all.filter((l) => l.startsWith(`${cpu} `));
      expect(body.filter((l) => l.startsWith(`${cpu} `))).toEqual(mine.slice(-3));
      expect(text).toContain(`# ${cpu}: ${mine.length - 3} earlier events not shown`);
    }
    expect(timelineBody(toTextTimeline(r.trace(), ctxOf(r), { cpus: [1] })).every((l) => l.startsWith('cpu1'))).toBe(true);
  });

  it('a run whose rings wrapped keeps, per CPU and channel, the newest records of the same run with rings that did not', async () => {
    // Trace size does not change what the sim engine runs: the same seed gives the same records.
    // The small rings wrap (readTraceTable copies what they keep); the large ones do not (it reads them in place).
    const small = await machineTest('sgi-all', 4, 'sim', 1, { traceRecords: 6 });
    const large = await machineTest('sgi-all', 4, 'sim', 1);
    const key = (x: TraceRecord): string => `${x.cpu}/${CHANNEL_OF[x.kind & 255]}`;
    const byRing = (recs: readonly TraceRecord[]): Map<string, TraceRecord[]> => {
      const m = new Map<string, TraceRecord[]>();
      for (const x of recs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
      return m;
    };
    const s = byRing(small.trace());
    const l = byRing(large.trace());
    expect([...s.keys()].sort()).toEqual([...l.keys()].sort());
    let wrapped = 0;
    for (const [k, recs] of l) {
      expect(s.get(k)).toEqual(recs.slice(-6));
      if (recs.length > 6) wrapped++;
    }
    expect(wrapped).toBeGreaterThan(0);
    expect(large.traceOverwritten().every((d) => d === 0)).toBe(true);
    expect(small.traceOverwritten()).toEqual([...Array(4).keys()].map((cpu) => Math.max(0, (l.get(`${cpu}/0`)?.length ?? 0) - 6)));
  });

  it('a ring that overwrote its oldest records: the trace starts mid-slice and is still balanced', async () => {
    const r = await machineTest('sgi-all', 4, 'sim', 1, { traceRecords: 6 });
    expect(r.outcome).toBe('poweroff');
    const recs = r.trace();
    expect(recs.some((x) => x.seq > 0 && x.seq === recs.filter((y) => y.cpu === x.cpu)[0]!.seq)).toBe(true);
    const t = roundTrip(toChromeTrace(recs, ctxOf(r)));
    expectBalanced(t);
    expect(t.otherData.cpus.some((c) => c.overwritten > 0)).toBe(true);
    const text = toTextTimeline(recs, ctxOf(r));
    expect(text).toMatch(/^# cpu\d: \d+ older records overwritten/m);
  });
});

// ---------------------------------------------------------------------------
// Synthetic records
// ---------------------------------------------------------------------------

const TEXT = 0x4020_0000;
const image = new KernelImage({
  textBase: TEXT,
  functions: [
    guestFn('smp_send_stop', function* () {}, { size: 16, traced: true }), // id 0
    guestFn('crash_save_cpu', function* () {}, { size: 16, traced: true }), // id 1
    guestFn('cpu_park_loop', function* () {}, { size: 16 }), // id 2
    guestFn('sdei_handler', function* () {}, { size: 16 }), // id 3
  ],
});
const fn = (name: string, off = 0): number => image.fn(name).base + off;
const PARK = fn('cpu_park_loop', 8);
const STOP = fn('smp_send_stop', 0x10);
const SAVE = fn('crash_save_cpu', 0xc);
const HANDLER = fn('sdei_handler');
const COMPLETE = 0xc400_0025;
const COMPLETE_AND_RESUME = 0xc400_0026;

type Rec = [time: number, kind: number, a?: number, b?: number];

/** Records of one CPU; `firstSeq` > 0 says the ring overwrote that many before them. */
function recs(cpu: number, rows: Rec[], firstSeq = 0): TraceRecord[] {
  return rows.map(([time, kind, a = 0, b = 0], i) => ({ cpu, seq: firstSeq + i, time, kind, a, b }));
}

const sctx: TraceExportContext = { image, endTime: 1000 };

describe('repairs of unbalanced records (synthetic, one CPU)', () => {
  it.each<[string, Rec[], number, string]>([
    ['nothing to repair',
      [[10, T.EXC_ENTRY, 0x280, PARK], [11, T.IRQ_ACK, 2, 0x80], [12, T.EOI, 2], [13, T.ERET, PARK, 1]], 0,
      'el1h_64_irq{ .irq-ack .eoi }'],
    ['ring overwrote the begins: leading ends are dropped',
      [[10, T.RETURN, 0], [11, T.ERET, PARK, 1], [12, T.EL3_EXIT, 0, PARK], [13, T.SGI_SEND, 2, 1]], 100,
      '.sgi-send'],
    ['the run ends inside an exception and a call: both closed at the end',
      [[10, T.EXC_ENTRY, 0x200, PARK], [11, T.CALL, 1, PARK], [12, T.MARK, 1, 2]], 0,
      'el1h_64_sync{ crash_save_cpu{ .mark } }'],
    ['ERET to an address no exception saved abandons the innermost handler only',
      [[10, T.EXC_ENTRY, 0x280, PARK], [11, T.EXC_ENTRY, 0x280, STOP], [12, T.ERET, HANDLER, 1], [13, T.ERET, PARK, 1]], 0,
      'el1h_64_irq{ el1h_64_irq{ } }'],
    ['ERET to the outer ELR closes the nested handler with it',
      [[10, T.EXC_ENTRY, 0x280, PARK], [11, T.CALL, 0, PARK], [12, T.EXC_ENTRY, 0x280, STOP], [13, T.ERET, PARK, 1]], 0,
      'el1h_64_irq{ smp_send_stop{ el1h_64_irq{ } } }'],
    ['a return past a call that never returned closes it',
      [[10, T.CALL, 0, PARK], [11, T.CALL, 1, STOP], [12, T.RETURN, 0]], 0,
      'smp_send_stop{ crash_save_cpu{ } }'],
    ['CPU_OFF: power-off closes everything; CPU_ON wakes it through warm boot',
      [[10, T.CALL, 0, PARK], [11, T.EL3_ENTRY, 0x8400_0002, STOP], [12, T.PSCI, 0x8400_0002], [13, T.POWER_OFF],
        [50, T.WAKE, WAIT_OFF], [51, T.POWER_ON, PARK], [52, T.EL3_EXIT, 0, PARK]], 0,
      'smp_send_stop{ PSCI_CPU_OFF{ .psci } } off{ } warm_boot{ }'],
    ['a CPU that starts off: its first WAKE(off) opens "off" at time 0',
      [[40, T.WAKE, WAIT_OFF], [40, T.POWER_ON, PARK], [41, T.EL3_EXIT, 1, PARK], [42, T.SLEEP, WAIT_WFI, PARK]], 0,
      'off{ } warm_boot{ } wfi{ }'],
    ['the same WAKE(off) after an overwrite is just dropped',
      [[40, T.WAKE, WAIT_OFF], [40, T.POWER_ON, PARK], [41, T.EL3_EXIT, 1, PARK]], 7,
      'warm_boot{ }'],
    ['a wait inside EL3 (a wedged firmware call) nests in the EL3 slice',
      [[10, T.EL3_ENTRY, 0xc200_ff00, PARK], [10, T.SLEEP, 3, PARK], [90, T.WAKE, 3], [90, T.EL3_EXIT, 0, PARK]], 0,
      'SIP_SMPSTOP_STALL{ el3{ } }'],
    ['WAKE of another wait kind than the open one is dropped',
      [[10, T.SLEEP, WAIT_WFE, PARK], [11, T.WAKE, WAIT_WFI], [12, T.WAKE, WAIT_WFE]], 0,
      'wfe{ }'],
    ['SDEI dispatch and COMPLETE: the handler slice runs from the dispatching EL3 exit to the COMPLETE exit',
      [[10, T.EXC_ENTRY, 0x280, PARK], [20, T.EL3_ENTRY, -1, STOP], [20, T.FIQ_EL3, 8], [20, T.SDEI_DISPATCH, 0, STOP],
        [21, T.EL3_EXIT, 0, HANDLER], [30, T.EL3_ENTRY, COMPLETE, HANDLER + 8], [30, T.SDEI_COMPLETE, 0, 0],
        [31, T.EL3_EXIT, 0, STOP], [40, T.ERET, PARK, 1]], 0,
      'el1h_64_irq{ FIQ{ .fiq-el3 .sdei-dispatch } sdei_event 0{ SDEI_EVENT_COMPLETE{ .sdei-complete } } }'],
    ['COMPLETE_AND_RESUME: the resume code is an exception that the ERET to the interrupted PC ends',
      [[10, T.EXC_ENTRY, 0x280, PARK], [20, T.EL3_ENTRY, -1, STOP], [20, T.SDEI_DISPATCH, 0, STOP],
        [21, T.EL3_EXIT, 0, HANDLER], [30, T.EL3_ENTRY, COMPLETE_AND_RESUME, HANDLER + 8], [30, T.SDEI_COMPLETE, 0, 1],
        [31, T.EL3_EXIT, 0, fn('cpu_park_loop')], [35, T.ERET, STOP, 1], [40, T.ERET, PARK, 1]], 0,
      'el1h_64_irq{ FIQ{ .sdei-dispatch } sdei_event 0{ SDEI_EVENT_COMPLETE_AND_RESUME{ .sdei-complete } } sdei_resume{ } }'],
    ['a dispatch whose EL3 entry was overwritten starts the handler at once',
      [[20, T.SDEI_DISPATCH, 1, STOP], [21, T.EL3_EXIT, 0, HANDLER], [22, T.MARK, 0, 0]], 5,
      '.sdei-dispatch sdei_event 1{ .mark }'],
    ['a kind the table does not know yet is an instant with its raw arguments',
      [[10, 99, 7, 8]], 0,
      '.kind#99'],
  ])('%s', (_name, rows, firstSeq, expected) => {
    const t = roundTrip(toChromeTrace(recs(0, rows, firstSeq), sctx));
    expectBalanced(t);
    expect(shape(t, 0)).toBe(expected);
  });

  it('times that go backwards are clamped so the track never goes back', () => {
    const t = toChromeTrace(recs(0, [[10, T.EXC_ENTRY, 0x280, PARK], [9, T.IRQ_ACK, 1], [8, T.ERET, PARK, 1]]), sctx);
    expectBalanced(t);
    expect(eventsOf(t, 0).map((e) => e.ts)).toEqual([0.01, 0.01, 0.01]);
    expect(t.otherData.cpus[0]!.clampedTimes).toBe(2);
  });

  it('counts every repair in otherData', () => {
    const rows: Rec[] = [[5, T.ERET, PARK, 1], [10, T.CALL, 0, PARK], [11, T.CALL, 1, STOP], [12, T.RETURN, 0], [13, T.EXC_ENTRY, 0x200, PARK]];
    const t = toChromeTrace(recs(0, rows, 3), sctx);
    expect(t.otherData.cpus[0]).toEqual({
      cpu: 0, records: 5, overwritten: 3, droppedEnds: 1, abandoned: 1, poweredOff: 0, closedAtEnd: 1, openedAtStart: 0, clampedTimes: 0,
    });
    // Closed at the context's end time (1000 ns = 1 us).
    expect(eventsOf(t, 0).at(-1)).toMatchObject({ ph: 'E', name: 'el1h_64_sync', ts: 1, args: { end: '(run-end)' } });
  });
});

describe('rendering', () => {
  it.each<[number, string]>([
    [0xc400_0003, 'PSCI_CPU_ON'],
    [0x8400_0003, 'PSCI_CPU_ON'],
    [0x8400_0002, 'PSCI_CPU_OFF'],
    [0x8400_0008, 'PSCI_SYSTEM_OFF'],
    [0xc400_0012, 'PSCI_SYSTEM_RESET2'],
    [0xc400_002f, 'SDEI_EVENT_SIGNAL'],
    [0xc400_0026, 'SDEI_EVENT_COMPLETE_AND_RESUME'],
    [0x8000_0000, 'SMCCC_VERSION'],
    [-1, 'FIQ'],
    [0xc400_00ff, 'SMC 0xc40000ff'],
  ])('fid 0x%s is %s', (fid, name) => {
    expect(defaultFidName(fid)).toBe(name);
  });

  it.each<[string, Rec, string]>([
    ['exception', [1, T.EXC_ENTRY, 0x280, PARK], 'exception el1h_64_irq from cpu_park_loop+0x8'],
    ['SGI send', [1, T.SGI_SEND, 1, 3], 'sgi-send SGI 1 -> cpu3'],
    ['IRQ ack', [1, T.IRQ_ACK, 2, 0xa0], 'irq-ack SGI 2'],
    ['PSCI CPU_ON', [1, T.PSCI, 0xc400_0003, 5], 'psci PSCI_CPU_ON cpu5'],
    ['SDEI signal', [1, T.SDEI_SIGNAL, 0, 2], 'sdei-signal event 0 -> cpu2'],
    ['data abort', [1, T.DATA_ABORT, 0, STOP], 'data-abort FAR 0x0 at smp_send_stop+0x10'],
    ['panic', [1, T.PANIC, 1], 'panic won panic_cpu'],
    ['kernel log line', [1, T.LOG, 4, 0], 'log Kernel panic - not syncing: sysrq'],
    ['run end', [1, T.RUN_END, 2], 'run-end poweroff'],
  ])('%s', (_name, row, line) => {
    const text = toTextTimeline(recs(0, [row]), { ...sctx, logLine: (i) => (i === 4 ? 'Kernel panic - not syncing: sysrq' : undefined) });
    expect(timelineBody(text)).toEqual([`cpu0  ${line}`]);
  });

  it('lines are `<time>us cpuN  <event>`, sorted by time across CPUs, nesting by indentation', () => {
    const records = [
      ...recs(0, [[12_345, T.EXC_ENTRY, 0x280, PARK], [12_400, T.IRQ_ACK, 2, 0x80], [12_500, T.ERET, PARK, 1]]),
      ...recs(2, [[12_000, T.SGI_SEND, 2, 0], [12_345, T.CALL, 0, PARK]]),
    ];
    expect(toTextTimeline(records, sctx)).toBe([
      '  12.000us cpu2  sgi-send SGI 2 -> cpu0',
      '  12.345us cpu0  exception el1h_64_irq from cpu_park_loop+0x8',
      '  12.345us cpu2  call smp_send_stop from cpu_park_loop+0x8',
      '  12.400us cpu0    irq-ack SGI 2',
      '  12.500us cpu0  eret to cpu_park_loop+0x8 EL1',
      '',
    ].join('\n'));
  });

  it('an end without a begin shows in the text as [no begin]', () => {
    expect(timelineBody(toTextTimeline(recs(0, [[1, T.ERET, PARK, 1]], 9), sctx))).toEqual(['cpu0  eret to cpu_park_loop+0x8 EL1 [no begin]']);
  });

  it('every CPU up to ncpus gets a named track, even without records', () => {
    const t = toChromeTrace([], { image, ncpus: 3 });
    expect(t.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args!.name)).toEqual(['cpu 0', 'cpu 1', 'cpu 2']);
    expect(t.traceEvents.every((e) => e.ph === 'M')).toBe(true);
    expect([...buildTracks([], { image, ncpus: 3 })].map((tr) => tr.items.length)).toEqual([0, 0, 0]);
  });
});

describe('writeChromeTrace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smpstop-trace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes exactly what toChromeTrace returns', async () => {
    const r = await machineTest('group0', 2, 'sim');
    const file = join(dir, 'group0.json');
    const { bytes } = await writeChromeTrace(file, r.trace(), ctxOf(r));
    const text = readFileSync(file, 'utf8');
    expect(Buffer.byteLength(text)).toBe(bytes);
    expect(JSON.parse(text)).toEqual(roundTrip(toChromeTrace(r.trace(), ctxOf(r))));
  });

  it('streams a 64-CPU x 4096-record trace in bounded chunks', async () => {
    const ncpus = 64;
    const per = 4096;
    const records: TraceRecord[] = [];
    for (let cpu = 0; cpu < ncpus; cpu++) {
      const rows: Rec[] = [];
      for (let i = 0; rows.length < per; i++) {
        const t = i * 100;
        rows.push([t, T.EXC_ENTRY, 0x280, PARK], [t + 10, T.IRQ_ACK, 1, 0xa0], [t + 20, T.CALL, 0, PARK], [t + 30, T.RETURN, 0], [t + 40, T.ERET, PARK, 1]);
      }
      // Start mid-slice, as an overwritten ring does.
      records.push(...recs(cpu, rows.slice(2, per + 2), 1000));
    }
    let largest = 0;
    let count = 0;
    for (const c of chromeTraceChunks(records, { image, ncpus }, 1 << 16)) {
      largest = Math.max(largest, c.length);
      count++;
    }
    expect(count).toBeGreaterThan(100);
    expect(largest).toBeLessThan((1 << 16) + 4096);
    const file = join(dir, 'big.json');
    const t0 = performance.now();
    await writeChromeTrace(file, records, { image, ncpus });
    const ms = performance.now() - t0;
    const t = JSON.parse(readFileSync(file, 'utf8')) as ChromeTrace;
    expect(t.traceEvents.filter((e) => e.name === 'thread_name').length).toBe(ncpus);
    expectBalanced(t);
    expect(t.otherData.records).toBe(ncpus * per);
    expect(ms).toBeLessThan(20_000);
  });
});

/**
 * The scenario format: one JSON document describing a machine run (CPUs,
 * kernel configuration, firmware, faults, triggers, budgets). Validated with
 * zod before anything runs; every rejection names the field (as a JSON path),
 * the value and what is accepted.
 */
import { z } from 'zod';
import { QUIRK_NAMES } from '../../firmware/quirks.js';
import { WEDGE_MODES, TRIGGER_KINDS, ENTRY_TEST_DEFAULTS } from '../kernel/runtime.js';
import { ENTRY_VARIANT_NAMES, DEFAULT_ENTRY } from '../kernel/config.js';
import { ENTRY_TEST_FAULTS } from '../kernel/entry-test.js';
import { MAX_KTHREADS } from '../kernel/layout.js';
import { MAX_CPUS } from '../machine/shared.js';
import { InputError } from '../errors.js';

const cpuIndex = z.number().int().min(0).max(MAX_CPUS - 1);
const micros = z.number().finite().min(0).max(3.6e9); // up to an hour of guest time

export const KernelSchema = z.object({
  variant: z.string().min(1).max(64).default('final'),
  pseudoNmi: z.boolean().default(false),
  kdump: z.boolean().default(false),
  hotplugCpu: z.boolean().default(true),
  crashKexecPostNotifiers: z.boolean().default(false),
  panicTimeout: z.number().int().min(-1).max(3600).default(1),
  sdeiDriver: z.boolean().default(true),
  /** The arm64 exception-exit code (reference linux-stop-paths 6.6-6.8); src/kernel/entry-variants.ts. */
  entry: z.enum(ENTRY_VARIANT_NAMES as unknown as [string, ...string[]]).default(DEFAULT_ENTRY),
  /** CONFIG_IRQ_PIPELINE (Dovetail): virtual local_irq_*, out-of-band stop IPIs. */
  irqPipeline: z.boolean().default(false),
}).strict();

export const FirmwareSchema = z.object({
  sdei: z.boolean().default(true),
  quirks: z.array(z.enum(QUIRK_NAMES as [string, ...string[]])).max(16).default(() => []),
}).strict();

export const GicSchema = z.object({
  priorityBits: z.number().int().min(3).max(5).default(5),
}).strict();

export const WedgeFaultSchema = z.object({
  cpu: cpuIndex,
  wedge: z.enum(WEDGE_MODES as unknown as [string, ...string[]]),
  atUs: micros.default(0),
  durationUs: micros.optional(),
}).strict();

export const DelayFaultSchema = z.object({
  cpu: cpuIndex,
  ipiDelayUs: micros,
  atUs: micros.default(0),
}).strict();

export const CustomFaultSchema = z.object({
  cpu: cpuIndex,
  fault: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a fault name (lower-case letters, digits, -)').max(64),
  atUs: micros.default(0),
  arg: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1).optional(),
}).strict();

/** An asynchronous injection at atUs: an SError (recoverable RAS error), or a hardware breakpoint or watchpoint armed. */
export const InjectFaultSchema = z.object({
  cpu: cpuIndex,
  inject: z.enum(['breakpoint', 'watchpoint', 'serror']),
  atUs: micros.default(0),
  /** Breakpoint only: the kernel function whose first instruction is watched (default entry_test_work). */
  symbol: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'expected a kernel function name').max(64).optional(),
}).strict();

export const FaultSchema = z.union([WedgeFaultSchema, DelayFaultSchema, CustomFaultSchema, InjectFaultSchema]);

/**
 * The entry test (src/kernel/entry-test.ts): kernel threads on `cpus` that
 * keep taking synchronous exceptions (`fault`) and yielding; `wakers` keep
 * setting need_resched on them every wakeIntervalUs.
 */
export const EntryTestSchema = z.object({
  cpus: z.array(cpuIndex).min(1).max(MAX_CPUS),
  tasks: z.number().int().min(1).max(MAX_KTHREADS).default(ENTRY_TEST_DEFAULTS.tasks),
  wakers: z.array(cpuIndex).max(MAX_CPUS).default(() => []),
  wakeIntervalUs: z.number().finite().min(0.1).max(1e6).default(ENTRY_TEST_DEFAULTS.wakeIntervalUs),
  fault: z.enum(ENTRY_TEST_FAULTS as unknown as [string, ...string[]]).default(ENTRY_TEST_DEFAULTS.fault),
}).strict();

export const TriggerSchema = z.object({
  kind: z.enum(TRIGGER_KINDS as unknown as [string, ...string[]]),
  cpu: cpuIndex,
  atUs: micros.default(100),
  message: z.string().max(80).optional(),
}).strict();

export const LimitsSchema = z.object({
  guestTimeMs: z.number().finite().positive().max(3.6e6).optional(),
  maxInstructions: z.number().int().positive().max(1e12).optional(),
  hostTimeoutMs: z.number().finite().positive().max(8.64e7).optional(),
}).strict();

export const ScenarioSchema = z.object({
  name: z.string().max(80).optional(),
  description: z.string().max(400).optional(),
  cpus: z.number().int().min(1).max(MAX_CPUS).default(4),
  kernel: KernelSchema.default(() => KernelSchema.parse({})),
  firmware: FirmwareSchema.default(() => FirmwareSchema.parse({})),
  gic: GicSchema.default(() => GicSchema.parse({})),
  /** CPUs that run the workload task. */
  workload: z.array(cpuIndex).max(MAX_CPUS).default(() => []),
  faults: z.array(FaultSchema).max(4 * MAX_CPUS).default(() => []),
  triggers: z.array(TriggerSchema).max(4 * MAX_CPUS).default(() => []),
  entryTest: EntryTestSchema.optional(),
  limits: LimitsSchema.default(() => ({})),
}).strict().superRefine((s, ctx) => {
  const cpuOk = (cpu: number, path: (string | number)[]): void => {
    if (cpu >= s.cpus) ctx.addIssue({ code: 'custom', path, message: `CPU ${cpu} does not exist: the scenario has ${s.cpus} CPUs (0-${s.cpus - 1})` });
  };
  s.workload.forEach((c, i) => cpuOk(c, ['workload', i]));
  s.faults.forEach((f, i) => cpuOk(f.cpu, ['faults', i, 'cpu']));
  s.triggers.forEach((t, i) => cpuOk(t.cpu, ['triggers', i, 'cpu']));
  if (s.kernel.pseudoNmi && s.gic.priorityBits < 4) {
    ctx.addIssue({
      code: 'custom', path: ['kernel', 'pseudoNmi'],
      message: `pseudo-NMI needs a GIC with at least 4 priority bits (gic.priorityBits is ${s.gic.priorityBits}): the Non-secure view of ICC_PMR_EL1 cannot tell 0xe0, 0xc0 and 0x80 apart with fewer`,
    });
  }
  if (s.kernel.irqPipeline && s.kernel.pseudoNmi) {
    ctx.addIssue({
      code: 'custom', path: ['kernel', 'irqPipeline'],
      message: 'true is not accepted together with kernel.pseudoNmi: the interrupt-pipeline model masks hardware IRQs with PSTATE.I only (pseudo-NMI with Dovetail is not modelled)',
    });
  }
  if (s.entryTest) {
    const et = s.entryTest;
    et.cpus.forEach((c, i) => cpuOk(c, ['entryTest', 'cpus', i]));
    et.wakers.forEach((c, i) => cpuOk(c, ['entryTest', 'wakers', i]));
    const test = new Set(et.cpus);
    if (test.size !== et.cpus.length) ctx.addIssue({ code: 'custom', path: ['entryTest', 'cpus'], message: 'lists a CPU twice' });
    et.wakers.forEach((c, i) => {
      if (test.has(c)) ctx.addIssue({ code: 'custom', path: ['entryTest', 'wakers', i], message: `CPU ${c} is an entry-test CPU; a waker must be another CPU` });
    });
    s.workload.forEach((c, i) => {
      if (test.has(c) || et.wakers.includes(c)) ctx.addIssue({ code: 'custom', path: ['workload', i], message: `CPU ${c} runs the entry test; it cannot also run the workload` });
    });
  }
  s.faults.forEach((f, i) => {
    if ('symbol' in f && f.symbol !== undefined && f.inject !== 'breakpoint') {
      ctx.addIssue({ code: 'custom', path: ['faults', i, 'symbol'], message: `symbol applies only to inject 'breakpoint', not '${f.inject}'` });
    }
  });
  if (s.firmware.quirks.length !== new Set(s.firmware.quirks).size) {
    ctx.addIssue({ code: 'custom', path: ['firmware', 'quirks'], message: 'lists a quirk twice' });
  }
  const wedged = new Map<number, number>();
  s.faults.forEach((f, i) => {
    if ('wedge' in f) {
      if (wedged.has(f.cpu)) ctx.addIssue({ code: 'custom', path: ['faults', i, 'cpu'], message: `CPU ${f.cpu} is already wedged by faults[${wedged.get(f.cpu)}]; one wedge per CPU` });
      else wedged.set(f.cpu, i);
      // Without CONFIG_HOTPLUG_CPU there is no cpuN/online to write: a CPU cannot be taken offline.
      if (f.wedge === 'offline' && !s.kernel.hotplugCpu) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'wedge'], message: "wedge 'offline' needs kernel.hotplugCpu: true (CPU hot-unplug)" });
      }
      if (f.durationUs !== undefined && f.wedge !== 'in-firmware') {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'durationUs'], message: `durationUs applies only to wedge 'in-firmware', not '${f.wedge}'` });
      }
    }
  });
});

/** A validated scenario, every default filled in (parseScenario). */
export type Scenario = z.output<typeof ScenarioSchema>;
/** A scenario document as written: every field optional. */
export type ScenarioInput = z.input<typeof ScenarioSchema>;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

export function jsonPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`;
  return s || '(scenario)';
}

function show(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One line per problem: `path: value: what is accepted`. */
export function formatIssues(error: z.ZodError, input: unknown, prefix = ''): string[] {
  return error.issues.map((iss) => {
    const path = prefix + jsonPath(iss.path);
    if (iss.code === 'unrecognized_keys') {
      return `${path}: unknown field${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    }
    const v = valueAt(input, iss.path);
    let what = iss.message;
    if (iss.code === 'invalid_value' && 'values' in iss) what = `expected one of ${(iss.values as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
    if (iss.code === 'invalid_union') what = 'expected a wedge fault {cpu, wedge, atUs?, durationUs?}, an interrupt-delay fault {cpu, ipiDelayUs, atUs?}, a user fault {cpu, fault, atUs?, arg?} or an injection {cpu, inject: breakpoint|watchpoint|serror, atUs?, symbol?}';
    return `${path}: ${show(v)}: ${what}`;
  });
}

/** Whether `v` is plain JSON data (what JSON.stringify writes exactly, and JSON.parse gives back). */
function isPlainJson(v: unknown): boolean {
  switch (typeof v) {
    case 'string': case 'boolean': return true;
    case 'number': return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!(i in v) || !isPlainJson(v[i])) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      return (proto === Object.prototype || proto === null) && Object.values(v).every(isPlainJson);
    }
    default: return false;
  }
}

/** A deep copy of plain JSON data. */
function copyJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x: unknown) => copyJson(x)) as T;
  const o: Record<string, unknown> = {};
  for (const k in v) o[k] = copyJson(v[k]);
  return o as T;
}

/**
 * Validated scenarios by the JSON of their document, least recently used
 * first: a run of many seeds validates the same document each time (zod
 * takes 130 us, the look-up 25 us). Every caller gets its own copy to modify.
 */
const parsed = new Map<string, Scenario>();
const PARSED_MAX = 256;

/** Validates a scenario document; throws InputError naming the first bad field (all lines in the message). */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const key = isPlainJson(input) ? JSON.stringify(input) : undefined;
  const hit = key !== undefined ? parsed.get(key) : undefined;
  if (hit) {
    parsed.delete(key!);
    parsed.set(key!, hit);
    return copyJson(hit);
  }
  const r = ScenarioSchema.safeParse(input);
  if (r.success) {
    if (key !== undefined) {
      parsed.set(key, copyJson(r.data));
      if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value!);
    }
    return r.data;
  }
  const lines = formatIssues(r.error, input);
  const first = r.error.issues[0]!;
  throw new InputError(jsonPath(first.path), `${source}: ${lines.join('; ')}`, true);
}

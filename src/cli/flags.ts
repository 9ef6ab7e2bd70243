/**
 * Every command's flags as a zod schema. yargs reads the command line (flag
 * names, booleans, repeatable flags, unknown flags); these schemas judge the
 * values before anything runs: type, range and format, the compound values
 * (CPU:MODE@AT and the like) parsed into what the scenario or the campaign
 * takes. A rejection is one line naming the flag, the value and what is
 * accepted (InputError, exit code 2). Flags that become scenario fields are
 * then validated again, with the rest of the scenario, by its schema.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { MAX_CPUS } from '../machine/shared.js';
import {
  parseWedge, parseTrigger, parseIpiDelay, parseQuirk, parseScheduler, parseCpuRange, parseFault, parseEntryFlag,
  parseDuration, parseKernels, parseSchedulerChoice, parseEntryList, MAX_ITERATIONS,
} from './args.js';
import { parseShard } from '../stress/shard.js';

/** An integer flag from `lo` to `hi` (yargs hands string-typed flags over as strings). */
export function intFlag(lo: number, hi: number) {
  return z.unknown().transform((v, ctx) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < lo || n > hi) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not accepted: expected an integer from ${lo} to ${hi}` });
      return z.NEVER;
    }
    return n;
  });
}

/** A flag whose value `parse` reads (it throws an InputError saying what it accepts). */
function via<T>(parse: (v: string) => T) {
  return z.unknown().transform((v, ctx): T => {
    try {
      return parse(String(v));
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      ctx.addIssue({ code: 'custom', message: e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message });
      return z.NEVER;
    }
  });
}

const text = z.string().min(1, 'expected a non-empty value');
const flag = z.boolean();
const seed = intFlag(0, 2 ** 32 - 1);

/** `smpstop run`. */
export const RunFlagsSchema = z.object({
  scenario: text.optional(),
  cpus: intFlag(1, MAX_CPUS).optional(),
  kernel: text.optional(),
  'pseudo-nmi': flag.optional(),
  kdump: flag.optional(),
  sdei: flag.optional(),
  'hotplug-cpu': flag.optional(),
  entry: via(parseEntryFlag).optional(),
  'irq-pipeline': flag.optional(),
  'post-notifiers': flag.optional(),
  'panic-timeout': intFlag(-1, 3600).optional(),
  wedge: z.array(via(parseWedge)).optional(),
  'ipi-delay': z.array(via(parseIpiDelay)).optional(),
  fault: z.array(via(parseFault)).optional(),
  trigger: z.array(via(parseTrigger)).optional(),
  quirk: z.array(via(parseQuirk)).optional(),
  workload: z.array(intFlag(0, MAX_CPUS - 1)).optional(),
  seed: seed.optional(),
  scheduler: via(parseScheduler).optional(),
  json: flag.optional(),
  trace: text.optional(),
  vmcore: text.optional(),
  'unique-pids': flag.optional(),
  'kernel-module': z.array(text).optional(),
  'trace-records': intFlag(16, 1 << 20).optional(),
  'guest-time-limit': intFlag(1, 3_600_000).optional(),
  'max-instructions': intFlag(1, 1e12).optional(),
  'host-timeout': intFlag(1, 86_400_000).optional(),
  'log-all': flag.optional(),
}).loose();
export type RunFlags = z.output<typeof RunFlagsSchema>;

/** `smpstop stress` (--kernel needs the user modules loaded first: they may define variants). */
export const StressFlagsSchema = z.object({
  seed: seed.optional(),
  cpus: via((v) => parseCpuRange(v, MAX_CPUS)).optional(),
  kernel: via(parseKernels).optional(),
  entry: via(parseEntryList).optional(),
  'irq-pipeline': flag.optional(),
  quirks: flag.optional(),
  iterations: intFlag(1, MAX_ITERATIONS).optional(),
  duration: via(parseDuration).optional(),
  jobs: intFlag(0, 256).optional(),
  scheduler: via(parseSchedulerChoice).optional(),
  out: text.optional(),
  resume: text.optional(),
  shard: via(parseShard).optional(),
  force: flag.optional(),
  progress: flag.optional(),
  json: flag.optional(),
  'kernel-module': z.array(text).optional(),
}).loose();
export type StressFlags = z.output<typeof StressFlagsSchema>;

/** `smpstop replay`. */
export const ReplayFlagsSchema = z.object({
  file: text,
  shrink: flag.optional(),
  budget: intFlag(1, 1_000_000).optional(),
  'check-flaky': intFlag(1, 1_000_000).optional(),
  trace: text.optional(),
  vmcore: text.optional(),
  'unique-pids': flag.optional(),
  json: flag.optional(),
}).loose();
export type ReplayFlags = z.output<typeof ReplayFlagsSchema>;

/** `smpstop bench` (the suite's own script parses the same values again). */
export const BenchFlagsSchema = z.object({
  quick: flag.optional(),
  soak: z.string().regex(/^(\d+,\d+)?$/, 'expected SIM_RUNS,THREADS_RUNS, e.g. 100000,5000, or nothing for the defaults').optional(),
  json: flag.optional(),
  out: text.optional(),
  write: flag.optional(),
}).loose();

/** Validates yargs' `args` against `schema`; throws an InputError naming the first bad flag. */
export function parseFlags<S extends z.ZodType>(schema: S, args: unknown): z.output<S> {
  const r = schema.safeParse(args);
  if (r.success) return r.data;
  const iss = r.error.issues[0]!;
  const name = `--${String(iss.path[0] ?? '?')}`;
  if (iss.code === 'custom') throw new InputError(name, iss.message);
  let v: unknown = args;
  for (const k of iss.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  throw new InputError(name, `${JSON.stringify(v) ?? 'nothing'} is not accepted: ${iss.message}`);
}

/**
 * Parsers for the CLI's compound flag values. Each throws an InputError that
 * names the flag, the value and what it accepts (exit code 2).
 */
import { InputError } from '../errors.js';
import { WEDGE_MODES, TRIGGER_KINDS } from '../kernel/runtime.js';
import { QUIRK_NAMES } from '../../firmware/quirks.js';
import type { SchedulerSpec } from '../machine/scheduler.js';
import type { SchedulerChoice } from '../stress/campaign.js';
import { variantNames } from '../kernel/variants/index.js';
import { ENTRY_VARIANT_NAMES } from '../kernel/config.js';

export function parseIntFlag(flag: string, v: unknown, lo: number, hi: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < lo || n > hi) throw new InputError(`--${flag}`, `${JSON.stringify(v)} is not accepted: expected an integer from ${lo} to ${hi}`);
  return n;
}

/** --wedge CPU:MODE[:DURATION_US][@AT_US] */
export function parseWedge(v: string): { cpu: number; wedge: string; atUs?: number; durationUs?: number } {
  const m = /^(\d+):([a-z-]+)(?::(\d+(?:\.\d+)?))?(?:@(\d+(?:\.\d+)?))?$/.exec(v);
  if (!m || !WEDGE_MODES.includes(m[2] as never)) {
    throw new InputError('--wedge', `'${v}' is not accepted: expected CPU:MODE[:DURATION_US][@AT_US] with MODE one of ${WEDGE_MODES.join(', ')}`);
  }
  return { cpu: Number(m[1]), wedge: m[2]!, ...(m[4] ? { atUs: Number(m[4]) } : {}), ...(m[3] ? { durationUs: Number(m[3]) } : {}) };
}

/** --trigger KIND:CPU[@US] */
export function parseTrigger(v: string): { kind: string; cpu: number; atUs: number } {
  const m = /^([a-z]+):(\d+)(?:@(\d+(?:\.\d+)?))?$/.exec(v);
  if (!m || !TRIGGER_KINDS.includes(m[1] as never)) {
    throw new InputError('--trigger', `'${v}' is not accepted: expected KIND:CPU[@US] with KIND one of ${TRIGGER_KINDS.join(', ')}`);
  }
  return { kind: m[1]!, cpu: Number(m[2]), atUs: m[3] ? Number(m[3]) : 100 };
}

/** --ipi-delay CPU:US[@AT_US] */
export function parseIpiDelay(v: string): { cpu: number; ipiDelayUs: number; atUs?: number } {
  const m = /^(\d+):(\d+(?:\.\d+)?)(?:@(\d+(?:\.\d+)?))?$/.exec(v);
  if (!m) throw new InputError('--ipi-delay', `'${v}' is not accepted: expected CPU:DELAY_US[@AT_US]`);
  return { cpu: Number(m[1]), ipiDelayUs: Number(m[2]), ...(m[3] ? { atUs: Number(m[3]) } : {}) };
}

export function parseQuirk(v: string): string {
  if (!QUIRK_NAMES.includes(v as never)) throw new InputError('--quirk', `'${v}' is not accepted: expected one of ${QUIRK_NAMES.join(', ')}`);
  return v;
}

/** --scheduler random|pct[:DEPTH] */
export function parseScheduler(v: string): SchedulerSpec {
  const m = /^(random|pct)(?::(\d+))?$/.exec(v);
  if (!m) throw new InputError('--scheduler', `'${v}' is not accepted: expected random or pct[:DEPTH]`);
  if (m[1] === 'pct') return { kind: 'pct', depth: m[2] ? parseIntFlag('scheduler', m[2], 1, 64) : 3 };
  return { kind: 'random' };
}

/** --cpus N or MIN..MAX */
export function parseCpuRange(v: unknown, max: number): { min: number; max: number } {
  const s = String(v);
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(s);
  if (!m) throw new InputError('--cpus', `'${s}' is not accepted: expected N or MIN..MAX with 1 <= N <= ${max}`);
  const lo = parseIntFlag('cpus', m[1], 1, max);
  const hi = m[2] ? parseIntFlag('cpus', m[2], 1, max) : lo;
  if (hi < lo) throw new InputError('--cpus', `'${s}' is not accepted: MIN must not exceed MAX`);
  return { min: lo, max: hi };
}

/** --fault CPU:NAME[=ARG][@AT_US]: a user-defined fault (defineFault in a --kernel-module). */
export function parseFault(v: string): { cpu: number; fault: string; atUs?: number; arg?: number } {
  const m = /^(\d+):([a-z0-9][a-z0-9-]*)(?:=(-?\d+))?(?:@(\d+(?:\.\d+)?))?$/.exec(v);
  if (!m) throw new InputError('--fault', `'${v}' is not accepted: expected CPU:NAME[=ARG][@AT_US] naming a fault defined by a --kernel-module`);
  return { cpu: Number(m[1]), fault: m[2]!, ...(m[3] ? { arg: Number(m[3]) } : {}), ...(m[4] ? { atUs: Number(m[4]) } : {}) };
}

/** Whether `--NAME` was given on the command line (not just defaulted by yargs). */
export function flagGiven(name: string): boolean {
  return process.argv.some((x) => x === `--${name}` || x.startsWith(`--${name}=`));
}

/** --entry VARIANT (kernel.entry). */
export function parseEntryFlag(v: string): string {
  if (!(ENTRY_VARIANT_NAMES as readonly string[]).includes(v)) {
    throw new InputError('--entry', `'${v}' is not an entry variant: expected one of ${ENTRY_VARIANT_NAMES.join(', ')}`);
  }
  return v;
}

/** The run budget given when neither --iterations nor --duration is. */
export const DEFAULT_ITERATIONS = 2000;
/** Largest --iterations accepted. */
export const MAX_ITERATIONS = 100_000_000;

/** --duration 90, 90s, 500ms, 5m, 2h -> ms. */
export function parseDuration(v: unknown): number {
  const s = String(v).trim();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  const ms = m ? Number(m[1]) * mult[(m[2] ?? 's') as keyof typeof mult] : NaN;
  if (!m || !(ms > 0) || ms > 30 * 86_400_000) throw new InputError('--duration', `'${s}' is not accepted: expected a positive time up to 30 days, e.g. 60s, 500ms, 5m, 2h (a bare number is seconds)`);
  return ms;
}

export function parseKernels(v: string): string[] {
  const names = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const known = variantNames();
  if (names.length === 0) throw new InputError('--kernel', `'${v}' is not accepted: expected one or more of ${known.join(', ')}, comma-separated`);
  for (const n of names) if (!known.includes(n)) throw new InputError('--kernel', `'${n}' is not accepted: expected one or more of ${known.join(', ')}, comma-separated`);
  return [...new Set(names)];
}

export function parseSchedulerChoice(v: string): SchedulerChoice {
  if (v === 'random' || v === 'pct' || v === 'mixed') return v;
  throw new InputError('--scheduler', `'${v}' is not accepted: expected random, pct (PCT with depth 2-4 drawn per run) or mixed (one third PCT)`);
}

/** stress --entry V1,V2: the entry variants to draw from. */
export function parseEntryList(v: string): string[] {
  const names = [...new Set(v.split(',').map((x) => x.trim()).filter((x) => x !== ''))];
  const bad = names.find((n) => !(ENTRY_VARIANT_NAMES as readonly string[]).includes(n));
  if (names.length === 0 || bad !== undefined) {
    throw new InputError('--entry', `'${bad ?? v}' is not accepted: expected one or more of ${ENTRY_VARIANT_NAMES.join(', ')}, comma-separated`);
  }
  return names;
}

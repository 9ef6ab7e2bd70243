/**
 * Parsers for the CLI's compound flag values. Each throws an InputError that
 * names the flag, the value and what it accepts (exit code 2).
 */
import { InputError } from '../errors.js';
import { WEDGE_MODES, TRIGGER_KINDS } from '../kernel/runtime.js';
import { QUIRK_NAMES } from '../../firmware/quirks.js';
import type { SchedulerSpec } from '../machine/scheduler.js';

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

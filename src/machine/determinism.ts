/**
 * The sim engine's guard against uncontrolled nondeterminism (shuttle's
 * UncontrolledNondeterminismCheck, in spirit): while model code runs under the
 * sim engine, reading the host clock or Math.random would make a replay
 * diverge, so those functions are replaced by traps that end the run with
 * outcome `fault`. The sim engine runs synchronously, so no other code in this
 * thread can observe the replacement.
 */
import { ModelError } from '../errors.js';

const original = {
  random: Math.random,
  dateNow: Date.now,
  perfNow: performance.now.bind(performance),
  hrtime: process.hrtime,
  hrtimeBigint: process.hrtime.bigint,
};

/** The host clock for the engines' own watchdogs (never for the model). */
export const hostNowMs = (): number => original.perfNow();

export class NondeterminismError extends ModelError {
  constructor(what: string) {
    super(-1, 0, `uncontrolled nondeterminism: model code called ${what} under the sim engine (use the guest clock and the seeded scheduler)`);
    this.name = 'NondeterminismError';
  }
}

export function withNondeterminismTraps<T>(fn: () => T): T {
  const trap = (what: string) => (): never => {
    throw new NondeterminismError(what);
  };
  Math.random = trap('Math.random');
  Date.now = trap('Date.now');
  performance.now = trap('performance.now');
  const hr = trap('process.hrtime') as unknown as typeof process.hrtime;
  hr.bigint = trap('process.hrtime.bigint') as unknown as () => bigint;
  process.hrtime = hr;
  try {
    return fn();
  } finally {
    Math.random = original.random;
    Date.now = original.dateNow;
    performance.now = original.perfNow;
    process.hrtime = original.hrtime;
    process.hrtime.bigint = original.hrtimeBigint;
  }
}

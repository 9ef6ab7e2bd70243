/**
 * User-defined faults: guest code, registered by name, that a scenario starts
 * on a CPU at a guest time (`faults: [{cpu, fault: NAME, atUs, arg}]`, or
 * `--fault CPU:NAME[@US]`). The fault's function runs in the CPU's role task
 * with the kernel context `k` and the scenario's `arg` in x0; it may return
 * (the CPU carries on with its plan) or never return (a wedge).
 */
import type { GuestFunction } from '../../cpus/isa.js';
import type { K } from './kernel.js';
import { InputError } from '../errors.js';
import { assertOneCopy } from '../api/one-copy.js';

/** A user fault: guest code a scenario starts on a CPU at a guest time (defineFault). */
export interface FaultDefinition {
  readonly name: string;
  readonly description: string;
  /** The guest function; its kernel name is `fault_<name>` with - replaced by _. */
  readonly fn: GuestFunction<K>;
}

const registry = new Map<string, FaultDefinition>();

export function faultFunctionName(name: string): string {
  return `fault_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * Registers a fault. The same fault defined again (same name, description and
 * function name: one module evaluated twice) keeps the first; another fault
 * under a taken name is an error.
 */
export function defineFault(def: FaultDefinition): FaultDefinition {
  assertOneCopy('defineFault');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(def.name)) throw new InputError('fault.name', `'${def.name}' is not a valid fault name (lower-case letters, digits, -)`);
  const prev = registry.get(def.name);
  if (prev && prev !== def && prev.description === def.description && prev.fn.name === def.fn.name) return prev;
  if (prev && prev !== def) throw new InputError('fault.name', `a fault named '${def.name}' is already defined`);
  const expected = faultFunctionName(def.name);
  if (def.fn.name !== expected) throw new InputError('fault.fn', `the guest function of fault '${def.name}' must be named '${expected}', not '${def.fn.name}'`);
  registry.set(def.name, def);
  return def;
}

export function getFault(name: string): FaultDefinition | undefined {
  return registry.get(name);
}

export function listFaults(): readonly FaultDefinition[] {
  return [...registry.values()];
}

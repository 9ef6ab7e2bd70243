/**
 * Kernel variants: a variant is a base variant plus guest functions that
 * replace (by kernel function name) or add to the base's. Resolution walks the
 * base chain, so `sdei-v4` is `sdei-v3` with two functions replaced, exactly as
 * a patch on top of another. Users register their own variants the same way
 * (defineVariant), from a module the CLI and the workers load.
 */
import type { GuestFunction } from '../../../cpus/isa.js';
import type { K } from '../kernel.js';
import { InputError } from '../../errors.js';
import { assertOneCopy } from '../../api/one-copy.js';

/** A kernel variant: a base variant plus guest functions replacing or adding to its functions by name. */
export interface KernelVariant {
  readonly name: string;
  /** Variant whose functions this one starts from (none for a root variant). */
  readonly base?: string;
  readonly description: string;
  /** Functions that replace the base's functions of the same name, or add new ones. */
  readonly functions: readonly GuestFunction<K>[];
}

const registry = new Map<string, KernelVariant>();

/**
 * Registers a kernel variant (in this thread: a module that defines variants is
 * imported by smpstop in every thread that runs them). Defining the same
 * variant again (same name, base, description and function names: one module
 * evaluated twice, e.g. once by a test runner and once by smpstop) keeps the
 * first definition; a different variant under a taken name is an error.
 */
export function defineVariant(v: KernelVariant): KernelVariant {
  assertOneCopy('defineVariant');
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(v.name)) throw new InputError('variant.name', `'${v.name}' is not a valid variant name (letters, digits, . _ -)`);
  const prev = registry.get(v.name);
  if (prev && prev !== v && sameVariant(prev, v)) return prev;
  if (prev && prev !== v) throw new InputError('variant.name', `a kernel variant named '${v.name}' is already defined`);
  const names = new Set<string>();
  for (const f of v.functions) {
    if (names.has(f.name)) throw new InputError(`variant ${v.name}`, `defines '${f.name}' twice`);
    names.add(f.name);
  }
  registry.set(v.name, v);
  return v;
}

function sameVariant(a: KernelVariant, b: KernelVariant): boolean {
  return a.base === b.base && a.description === b.description && a.functions.map((f) => f.name).join() === b.functions.map((f) => f.name).join();
}

export function getVariant(name: string): KernelVariant | undefined {
  return registry.get(name);
}

export function variantNames(): string[] {
  return [...registry.keys()];
}

export function listVariants(): readonly KernelVariant[] {
  return [...registry.values()];
}

/** The variant's full function set: the base chain's functions, later definitions replacing earlier ones. */
export function resolveVariant(name: string): GuestFunction<K>[] {
  const chain: KernelVariant[] = [];
  const seen = new Set<string>();
  let v = registry.get(name);
  if (!v) throw new InputError('kernel.variant', `unknown kernel variant '${name}'; known: ${variantNames().join(', ')}`);
  while (v) {
    if (seen.has(v.name)) throw new InputError('kernel.variant', `variant '${name}' has a cyclic base chain`);
    seen.add(v.name);
    chain.unshift(v);
    if (!v.base) break;
    const b = registry.get(v.base);
    if (!b) throw new InputError('kernel.variant', `variant '${v.name}' is based on unknown variant '${v.base}'`);
    v = b;
  }
  const byName = new Map<string, GuestFunction<K>>();
  for (const link of chain) for (const f of link.functions) byName.set(f.name, f);
  return [...byName.values()];
}

/** The chain of variant names from the root to `name`. */
export function variantChain(name: string): string[] {
  const out: string[] = [];
  let v = registry.get(name);
  while (v) {
    out.unshift(v.name);
    v = v.base ? registry.get(v.base) : undefined;
  }
  return out;
}

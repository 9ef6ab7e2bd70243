/**
 * What a machine runs: a guest program (a kernel image, its RAM needs, the
 * entry point CPU 0 is powered on at, and the per-CPU guest context). A
 * program is named by a ProgramRef (module + export + JSON options) so that
 * every thread can load the same program: CPU workers import the module
 * themselves. Programs are built deterministically from the ref, so every
 * thread sees the same image and addresses.
 */
import type { KernelImage } from '../../cpus/image.js';
import type { CpuCore } from '../../cpus/core.js';
import type { MachineShared } from './shared.js';
import { isAbsolute } from 'node:path';
import { moduleUrl } from '../paths.js';

export interface ProgramRef {
  /** Absolute path, path relative to the working directory, or file URL of a compiled ES module. */
  readonly module: string;
  /** Export name of the ProgramFactory (default `default`). */
  readonly export?: string;
  /** JSON-serialisable options passed to the factory. */
  readonly options?: unknown;
}

export interface ProgramGeometry {
  readonly ncpus: number;
}

export interface GuestProgram<Ctx = any> {
  readonly image: KernelImage;
  /** Guest RAM the program needs, in bytes (a whole number of pages). */
  readonly ramBytes: number;
  /** Where CPU 0 starts (powered on through the PSCI warm-boot path with x0 = entryContext). */
  readonly entry: number;
  readonly entryContext?: number;
  /** Builds the guest context handed to guest functions running on `core`. */
  context(core: CpuCore): Ctx;
  /**
   * Writes initial guest memory once, before any CPU runs. It must mark what
   * it writes with `m.noteRamWrite` (a recycled machine zeroes only marked
   * pages; MachineShared.recycle).
   */
  initMemory?(m: MachineShared): void;
}

export type ProgramFactory = (options: any, geometry: ProgramGeometry) => GuestProgram | Promise<GuestProgram>;

const cache = new Map<string, Promise<GuestProgram>>();

/** moduleUrl of absolute module paths (they do not depend on the working directory). */
const urls = new Map<string, string>();

export function programKey(ref: ProgramRef, geometry: ProgramGeometry): string {
  // Perf: every run computes its program's key; pathToFileURL costs more than the rest of it.
  let url = urls.get(ref.module);
  if (url === undefined) {
    url = moduleUrl(ref.module);
    if (isAbsolute(ref.module) && urls.size < 256) urls.set(ref.module, url);
  }
  return `${url}#${ref.export ?? 'default'}#${geometry.ncpus}#${JSON.stringify(ref.options ?? null)}`;
}

/** Loads (once per thread and key) the program a ref names. */
export function loadProgram(ref: ProgramRef, geometry: ProgramGeometry): Promise<GuestProgram> {
  const key = programKey(ref, geometry);
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const mod = (await import(moduleUrl(ref.module))) as Record<string, unknown>;
      const f = mod[ref.export ?? 'default'];
      if (typeof f !== 'function') throw new Error(`${ref.module} has no program factory export '${ref.export ?? 'default'}'`);
      return await (f as ProgramFactory)(ref.options, geometry);
    })();
    cache.set(key, p);
    if (cache.size > 256) cache.delete(cache.keys().next().value!);
  }
  return p;
}

/**
 * The per-CPU context every kernel guest function receives (`k`): the CPU
 * core that executes its instructions, the configuration, the data layout, and
 * the function table of the running variant, through which kernel functions
 * call one another by name (so a variant can replace any of them).
 */
import type { CpuCore } from '../../cpus/core.js';
import type { PlacedFn, Guest } from '../../cpus/isa.js';
import type { KernelConfig } from './config.js';
import type { KernelLayout } from './layout.js';
import type { ScenarioRuntime } from './runtime.js';

/** The kernel context `k` every kernel guest function receives. */
export interface K {
  readonly c: CpuCore<K>;
  readonly cpu: number;
  readonly ncpus: number;
  readonly cfg: KernelConfig;
  readonly L: KernelLayout;
  /** Functions of the running variant by kernel name. */
  readonly fn: Readonly<Record<string, PlacedFn<K>>>;
  /** What the scenario asks this CPU to do (role, faults, triggers), in guest-time order. */
  readonly rt: ScenarioRuntime;
  /** Whether the firmware implements SDEI (the driver probes it). */
  readonly sdeiFirmware: boolean;
  /** BL to kernel function `name` with up to four arguments; yield the result. */
  call(name: string, a0?: number, a1?: number, a2?: number, a3?: number): number;
  /** Address of kernel function `name` (for function pointers: handlers, entry points). */
  addr(name: string): number;
}

export type KFn = (k: K, a0: number, a1: number, a2: number, a3: number) => Guest;

/**
 * Per function table (one per program, shared by its CPUs and runs): the same
 * functions in a Map. Perf: `call` and `addr` look names up for every BL; one
 * property lookup site seeing a hundred names is megamorphic, about twice the
 * cost of a Map lookup here.
 */
const tables = new WeakMap<Record<string, PlacedFn<K>>, Map<string, PlacedFn<K>>>();
function tableOf(fn: Record<string, PlacedFn<K>>): Map<string, PlacedFn<K>> {
  let t = tables.get(fn);
  if (!t) tables.set(fn, (t = new Map(Object.entries(fn))));
  return t;
}

export function makeK(c: CpuCore<K>, cfg: KernelConfig, L: KernelLayout, fn: Record<string, PlacedFn<K>>, rt: ScenarioRuntime, sdeiFirmware: boolean): K {
  const byName = tableOf(fn);
  const k: K = {
    c,
    cpu: c.cpu,
    ncpus: L.ncpus,
    cfg,
    L,
    fn,
    rt,
    sdeiFirmware,
    call(name, a0 = 0, a1 = 0, a2 = 0, a3 = 0) {
      const f = byName.get(name);
      if (!f) throw c.fault(`call to kernel function '${name}', which the variant does not define`, 'guest-code');
      return c.bl(f, a0, a1, a2, a3);
    },
    addr(name) {
      const f = byName.get(name);
      if (!f) throw c.fault(`address of kernel function '${name}', which the variant does not define`, 'guest-code');
      return f.base;
    },
  };
  return k;
}

/**
 * The kernel model as a guest program: the variant's functions placed in a
 * synthetic image (with the exception vectors at VBAR_EL1), the data layout,
 * the initial contents of guest memory (static data, task structs, the text
 * words a symbol file describes), and each CPU's context. Built the same way
 * in every thread from the same options, so addresses agree everywhere.
 */
import { KernelImage } from '../../cpus/image.js';
import type { GuestFunction, PlacedFn } from '../../cpus/isa.js';
import type { CpuCore } from '../../cpus/core.js';
import type { GuestProgram, ProgramGeometry, ProgramRef } from '../machine/program.js';
import type { MachineShared } from '../machine/shared.js';
import { moduleUrl, distFile } from '../paths.js';
import { encodeText } from '../vmcore/symbols.js';
import { kernelLayout, GV, PCPU, TASK, SYSTEM, TEXT_BASE, type KernelLayout } from './layout.js';
import { makeK, type K } from './kernel.js';
import { ScenarioRuntime, type PlanSpec } from './runtime.js';
import { VECTORS } from './entry.js';
import { applyEntryConfig } from './entry-variants.js';
import { installObserver } from './observe.js';
import { resolveVariant } from './variants/index.js';
import { getFault, listFaults } from './faults.js';
import type { KernelConfig } from './config.js';
import { InputError } from '../errors.js';

export interface KernelProgramOptions {
  readonly kernel: KernelConfig;
  /** The firmware implements SDEI. */
  readonly sdeiFirmware: boolean;
  readonly plan: PlanSpec;
  /** Modules defining user kernel variants (defineVariant), imported before the variant is resolved. */
  readonly modules?: readonly string[];
}

/** Functions whose calls are traced (the stop, panic and crash paths); also forced for user overrides. */
export const TRACED_NAMES = new Set([
  'smp_send_stop', 'crash_smp_send_stop', 'do_handle_IPI', 'local_cpu_stop', 'ipi_cpu_crash_stop', 'arm64_nmi_cpu_stop',
  'panic_smp_self_stop', 'cpu_park_loop', '__cpu_try_die', 'crash_save_cpu', '__crash_kexec', 'machine_crash_shutdown',
  'machine_kexec', 'panic', 'vpanic', 'sdei_nmi_handler', 'sdei_nmi_stop_cpus', '__sdei_asm_handler', 'sdei_mask_local_cpu',
  'sdei_handler_abort', 'sdei_reboot_notifier', 'kernel_restart', 'kernel_power_off', 'machine_restart', 'machine_power_off',
  'emergency_restart', 'die', 'do_mem_abort',
]);

/** Stop-path functions for the checkers (a crash note PC inside them is a stop-path PC). */
export const STOP_PATH_NAMES = new Set([
  'do_handle_IPI', 'arm64_nmi_cpu_stop', 'ipi_cpu_crash_stop', 'local_cpu_stop', 'crash_save_cpu', 'panic_smp_self_stop',
  'cpu_park_loop', '__cpu_try_die', 'sdei_mask_local_cpu', 'sdei_nmi_handler',
]);

/** The kernel model built for one run: its image, data layout, options and functions by name. */
export interface KernelProgram extends GuestProgram<K> {
  readonly layout: KernelLayout;
  readonly options: KernelProgramOptions;
  readonly fn: Readonly<Record<string, PlacedFn<K>>>;
}

export const ROLE_PID_BASE = 1000;

export default async function kernelProgram(options: KernelProgramOptions, geometry: ProgramGeometry): Promise<KernelProgram> {
  for (const m of options.modules ?? []) await import(moduleUrl(m));
  const rt = new ScenarioRuntime(options.plan, geometry.ncpus);
  const faultFns = rt.customFaults().map((name) => {
    const def = getFault(name);
    if (!def) throw new InputError('faults[].fault', `unknown fault '${name}'; defined: ${listFaults().map((f) => f.name).join(', ') || 'none (load a --kernel-module that calls defineFault)'}`);
    return def.fn;
  });
  const functions = [...applyEntryConfig(resolveVariant(options.kernel.variant), options.kernel), ...faultFns].map((f): GuestFunction<K> =>
    TRACED_NAMES.has(f.name) && !f.traced ? { ...f, traced: true } : f);
  const vectorNames = new Set(VECTORS.map((v) => v.fn.name));
  const image = new KernelImage({
    textBase: TEXT_BASE,
    vectors: VECTORS,
    functions: functions.filter((f) => !vectorNames.has(f.name)),
  });
  const ncpus = geometry.ncpus;
  const L = kernelLayout(ncpus, image.textEnd, rt.kthreads());
  // Object.fromEntries keeps the table in fast mode (adding ~100 names one by one turns it into a
  // dictionary). `k.call(name)` looks names up in a Map of the same functions (kernel.ts tableOf).
  const fn: Record<string, PlacedFn<K>> = Object.fromEntries(image.fns.map((f) => [f.name, f as PlacedFn<K>]));
  for (const needed of ['primary_entry', 'secondary_entry', 'do_idle']) {
    if (!fn[needed]) throw new InputError('kernel.variant', `kernel variant '${options.kernel.variant}' defines no ${needed}, so it cannot boot`);
  }
  if (options.kernel.kdump && !(fn.__crash_kexec && fn.machine_kexec && fn.crash_save_cpu)) {
    throw new InputError('kernel.kdump', `true is not accepted: kernel variant '${options.kernel.variant}' has no crash kernel support (__crash_kexec, machine_kexec, crash_save_cpu)`);
  }
  for (let cpu = 0; cpu < ncpus; cpu++) {
    for (const inj of rt.plan(cpu).injections) {
      if (inj.symbol !== undefined && !fn[inj.symbol]) {
        throw new InputError('faults[].symbol', `'${inj.symbol}' is not a function of kernel variant '${options.kernel.variant}': a breakpoint needs a kernel function`);
      }
    }
  }
  const text = encodeText(image);
  return {
    image,
    ramBytes: L.ramBytes,
    entry: fn.primary_entry!.base,
    entryContext: 0,
    layout: L,
    options,
    fn,
    context: (core: CpuCore) => {
      const k = makeK(core as CpuCore<K>, options.kernel, L, fn, rt, options.sdeiFirmware);
      installObserver(k, rt.plan(core.cpu).injections); // scenario injections (src/kernel/observe.ts)
      return k;
    },
    initMemory: (m: MachineShared) => initKernelMemory(m, L, options, text, image),
  };
}

function put32(m: MachineShared, addr: number, v: number): void {
  m.ram32[(addr - m.map.ramBase) >> 2] = v;
  m.noteRamWrite(addr - m.map.ramBase, 4);
}

/** The kernel's static data: what the loader and early boot leave in memory before CPU 0 runs. */
function initKernelMemory(m: MachineShared, L: KernelLayout, o: KernelProgramOptions, text: Uint8Array, image: KernelImage): void {
  m.ramU8.set(text, image.textBase - m.map.ramBase);
  m.noteRamWrite(image.textBase - m.map.ramBase, text.length);
  put32(m, L.g(GV.panic_cpu), -1);
  put32(m, L.g(GV.kexec_crash_image), o.kernel.kdump ? 1 : 0);
  put32(m, L.g(GV.system_state), SYSTEM.BOOTING);
  for (let cpu = 0; cpu < L.ncpus; cpu++) {
    put32(m, L.pcpu(cpu, PCPU.idle_task + TASK.pid), 0);
    put32(m, L.pcpu(cpu, PCPU.role_task + TASK.pid), ROLE_PID_BASE + cpu);
  }
}

/** The ProgramRef naming the kernel model with these options. */
export function kernelProgramRef(options: KernelProgramOptions): ProgramRef {
  return { module: distFile('src/kernel/program.ts'), options };
}

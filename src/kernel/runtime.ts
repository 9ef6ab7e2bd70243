/**
 * What the scenario asks each CPU to do once the kernel is up: run idle or a
 * workload, inject faults (wedges, interrupt delays, going offline) and fire
 * triggers (panic, reboot, power-off) at guest times measured from the moment
 * the system reached SYSTEM_RUNNING. The same plan is rebuilt in every thread
 * from the program options.
 */
import { PANIC_MESSAGES } from './panic.js';
import type { EntryTestFault, EntryTestPlan, WakerPlan } from './entry-test.js';
import type { Injection, InjectKind } from './observe.js';

export type WedgeMode = 'irqs-off' | 'daif-masked' | 'sdei-masked' | 'in-firmware' | 'offline';
export const WEDGE_MODES: readonly WedgeMode[] = ['irqs-off', 'daif-masked', 'sdei-masked', 'in-firmware', 'offline'];

export type TriggerKind = 'panic' | 'reboot' | 'poweroff';
export const TRIGGER_KINDS: readonly TriggerKind[] = ['panic', 'reboot', 'poweroff'];

export type PlanEvent =
  | { readonly kind: 'trigger'; readonly at: number; readonly trigger: TriggerKind; readonly msgId: number }
  | { readonly kind: 'wedge'; readonly at: number; readonly wedge: WedgeMode; readonly durationNs: number }
  | { readonly kind: 'ipi-delay'; readonly at: number; readonly durationNs: number }
  | { readonly kind: 'custom'; readonly at: number; readonly fault: string; readonly arg: number };

export interface CpuPlan {
  readonly workload: boolean;
  readonly events: readonly PlanEvent[];
  /** Entry test (issue 6): kernel threads that take synchronous exceptions on this CPU. */
  readonly entryTest?: EntryTestPlan;
  /** Entry test: this CPU keeps setting need_resched on the test CPUs. */
  readonly waker?: WakerPlan;
  /** Faults injected asynchronously (SError, breakpoint, watchpoint) at plan times, by the CPU core's observer. */
  readonly injections: readonly Injection[];
}

export interface PlanSpec {
  /** CPUs running the workload task (spinlocks, IRQs on and off, timer ticks). */
  readonly workload: readonly number[];
  readonly faults: readonly {
    readonly cpu: number;
    readonly wedge?: WedgeMode;
    readonly ipiDelayUs?: number;
    readonly atUs?: number;
    /** in-firmware: how long the PE stays at EL3 (omitted: forever). */
    readonly durationUs?: number;
    /** A user-defined fault (defineFault) and its argument. */
    readonly fault?: string;
    readonly arg?: number;
    /** Inject an SError, or arm a hardware breakpoint or watchpoint, at atUs (src/kernel/observe.ts). */
    readonly inject?: InjectKind;
    /** Breakpoint: the function watched (default entry_test_work). */
    readonly symbol?: string;
  }[];
  readonly triggers: readonly { readonly kind: TriggerKind; readonly cpu: number; readonly atUs: number; readonly message?: string }[];
  /** The entry test (scenario field entryTest; src/kernel/entry-test.ts). */
  readonly entryTest?: {
    readonly cpus: readonly number[];
    readonly tasks?: number;
    readonly wakers?: readonly number[];
    readonly wakeIntervalUs?: number;
    readonly fault?: EntryTestFault;
  };
}

/** Entry-test defaults (schema.ts documents them). */
export const ENTRY_TEST_DEFAULTS = { tasks: 3, wakeIntervalUs: 2, fault: 'uaccess' as EntryTestFault };

export class ScenarioRuntime {
  private readonly plans: CpuPlan[];
  private readonly messages: string[] = [];

  constructor(spec: PlanSpec, ncpus: number) {
    const events: PlanEvent[][] = Array.from({ length: ncpus }, () => []);
    const injections: Injection[][] = Array.from({ length: ncpus }, () => []);
    for (const f of spec.faults) {
      const at = (f.atUs ?? 0) * 1000;
      if (f.inject) injections[f.cpu]!.push({ kind: f.inject, at, ...(f.symbol ? { symbol: f.symbol } : {}) });
      if (f.wedge) {
        events[f.cpu]!.push({ kind: 'wedge', at, wedge: f.wedge, durationNs: f.durationUs === undefined ? -1 : f.durationUs * 1000 });
      }
      if (f.ipiDelayUs !== undefined) events[f.cpu]!.push({ kind: 'ipi-delay', at, durationNs: f.ipiDelayUs * 1000 });
      if (f.fault !== undefined) events[f.cpu]!.push({ kind: 'custom', at, fault: f.fault, arg: f.arg ?? 0 });
    }
    for (const t of spec.triggers) {
      const msgId = 100 + this.messages.length;
      this.messages.push(t.message ?? `smpstop: ${t.kind} trigger on CPU ${t.cpu}`);
      events[t.cpu]!.push({ kind: 'trigger', at: t.atUs * 1000, trigger: t.kind, msgId });
    }
    const wl = new Set(spec.workload);
    const et = spec.entryTest;
    const testCpus = new Set(et?.cpus ?? []);
    const wakers = new Set(et?.wakers ?? []);
    this.plans = events.map((ev, cpu) => ({
      workload: wl.has(cpu),
      events: [...ev].sort((a, b) => a.at - b.at),
      injections: injections[cpu]!,
      ...(et && testCpus.has(cpu) ? { entryTest: { tasks: et.tasks ?? ENTRY_TEST_DEFAULTS.tasks, fault: et.fault ?? ENTRY_TEST_DEFAULTS.fault } } : {}),
      ...(et && wakers.has(cpu) ? { waker: { targets: [...testCpus], intervalNs: (et.wakeIntervalUs ?? ENTRY_TEST_DEFAULTS.wakeIntervalUs) * 1000 } } : {}),
    }));
  }

  plan(cpu: number): CpuPlan {
    return this.plans[cpu]!;
  }

  /**
   * CPUs hot-unplugged at the start of the plan (an `offline` wedge at t <= 0).
   * Like Linux's cpu_down, which waits in __cpu_die until the firmware reports
   * the CPU off, the plan's time origin is published only once they are OFF.
   */
  offlineAtStart(): number[] {
    const out: number[] = [];
    this.plans.forEach((p, cpu) => {
      if (p.events.some((e) => e.kind === 'wedge' && e.wedge === 'offline' && e.at <= 0)) out.push(cpu);
    });
    return out;
  }

  /** Names of the user-defined faults the plan uses. */
  customFaults(): string[] {
    const out = new Set<string>();
    for (const p of this.plans) for (const e of p.events) if (e.kind === 'custom') out.add(e.fault);
    return [...out];
  }

  /** Number of CPUs that mark themselves ready for the plan's time origin (role CPUs not going offline at the start). */
  roleCount(): number {
    const off = new Set(this.offlineAtStart());
    let n = 0;
    for (let i = 0; i < this.plans.length; i++) if (this.hasRole(i) && !off.has(i)) n++;
    return n;
  }

  /** Whether the CPU runs a role task rather than only the idle task. */
  hasRole(cpu: number): boolean {
    const p = this.plans[cpu]!;
    return p.workload || p.events.length > 0 || p.entryTest !== undefined || p.waker !== undefined || p.injections.length > 0;
  }

  /** Kernel threads per CPU the entry test needs stacks for (the layout reserves them on every CPU). */
  kthreads(): number {
    let n = 0;
    for (const p of this.plans) if (p.entryTest && p.entryTest.tasks > n) n = p.entryTest.tasks;
    return n;
  }

  /** The panic message `id` as CPU `cpu` prints it. */
  message(id: number, cpu: number): string {
    if (id >= 100) return this.messages[id - 100] ?? 'smpstop trigger';
    return (PANIC_MESSAGES[id] ?? 'panic').replace('%u', String(cpu));
  }
}

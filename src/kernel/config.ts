/**
 * Kernel configuration of one run: the variant of the stop code and the
 * Kconfig / command-line switches that change the stop, panic and kdump paths
 * (reference/linux-stop-paths.md section 0, "Configuration that changes
 * behaviour").
 */

export interface KernelConfig {
  /** Kernel variant name (built-in: base, sdei-v3, sdei-v4, final; or user-defined). */
  readonly variant: string;
  /** CONFIG_ARM64_PSEUDO_NMI + irqchip.gicv3_pseudo_nmi=1. */
  readonly pseudoNmi: boolean;
  /** A crash kernel is loaded (kexec -p): panic takes the kdump path. */
  readonly kdump: boolean;
  /** CONFIG_HOTPLUG_CPU: crash-stopped CPUs call PSCI CPU_OFF. */
  readonly hotplugCpu: boolean;
  /** crash_kexec_post_notifiers. */
  readonly crashKexecPostNotifiers: boolean;
  /** panic_timeout (panic=N): > 0 reboot after N s, < 0 at once, 0 spin forever. */
  readonly panicTimeout: number;
  /** CONFIG_ARM_SDE_INTERFACE driver probes SDEI when the firmware has it. */
  readonly sdeiDriver: boolean;
  /**
   * The arm64 exception-exit code (reference linux-stop-paths 6.6-6.8):
   * 'generic-preempt' preempts from irqentry_exit after a synchronous
   * exception masked all of DAIF (the bug), 'own-irq-preemption' preempts
   * only on IRQ exit (first fix), 'split-exit' preempts with only I and F
   * masked (final fix; mainline).
   */
  readonly entry: EntryVariantName;
  /** CONFIG_IRQ_PIPELINE (Dovetail): local_irq_* act on the in-band stage's stall bit; hardware IRQs stay enabled. */
  readonly irqPipeline: boolean;
  /** Emit a unique pr_pid per CPU in notes? (kernel behaviour is current->pid; the vmcore writer can rewrite) */
}

export type EntryVariantName = 'generic-preempt' | 'own-irq-preemption' | 'split-exit';
export const ENTRY_VARIANT_NAMES: readonly EntryVariantName[] = ['generic-preempt', 'own-irq-preemption', 'split-exit'];
/** The fixed mainline form (6.8) is the default: a model of today's kernel should not carry the bug unless asked. */
export const DEFAULT_ENTRY: EntryVariantName = 'split-exit';

export const DEFAULT_KERNEL: KernelConfig = {
  variant: 'final',
  pseudoNmi: false,
  kdump: false,
  hotplugCpu: true,
  crashKexecPostNotifiers: false,
  panicTimeout: 1,
  sdeiDriver: true,
  entry: DEFAULT_ENTRY,
  irqPipeline: false,
};

/** Time constants (include/linux/delay.h, kernel/panic.c). */
export const NSEC_PER_USEC = 1000;
export const USEC_PER_MSEC = 1000;
export const USEC_PER_SEC = 1_000_000;
export const PANIC_TIMER_STEP_MS = 100;
/**
 * Guest ns one iteration of `while (...) udelay(1)` costs beyond the 1 us
 * delay: the loop test, the online-count load and the call (about ten
 * instructions at 1 GHz). Stop waits last iterations x (1000 + this) ns.
 */
export const UDELAY_LOOP_OVERHEAD_NS = 10;

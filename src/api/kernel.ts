/**
 * The kernel helpers a variant author needs, as the public `kernel`
 * namespace (`import { kernel } from 'smpstop'`). These are the same
 * functions the built-in variants are written with: data layout offsets,
 * inlined helpers run with `yield*` (they retire instructions at the caller's
 * PC, as inlined C does), and constants. Kernel functions with a frame
 * (`crash_save_cpu`, `cpu_park_loop`, `sdei_mask_local_cpu`, ...) are called
 * by name with `yield k.call('name', ...args)`, so a variant can replace them.
 *
 *     import { guestFn, kernel, type K } from 'smpstop';
 *     const { GV, local_daif_mask, set_cpu_online } = kernel;
 *     guestFn<K>('arm64_nmi_cpu_stop', function* (k, regs, dieOnCrash) {
 *       const crash = (yield k.c.ldr(k.L.g(GV.crash_stop))) !== 0;
 *       yield* local_daif_mask(k);
 *       ...
 *     });
 */

// Data layout: kernel globals (k.L.g(GV.x)), per-CPU fields (k.L.pcpu(cpu, PCPU.x)), task_struct fields.
export { GV, PCPU, PCPU_USER_BYTES, TASK, SYSTEM, type KernelLayout } from '../kernel/layout.js';
export { USEC_PER_SEC, USEC_PER_MSEC, NSEC_PER_USEC, type KernelConfig } from '../kernel/config.js';
export { PANIC_CPU_INVALID } from '../kernel/panic.js';

// cpumask: online bookkeeping (include/linux/cpumask.h, kernel/cpu.c).
export { set_cpu_online, cpu_online, num_online_cpus, num_other_online_cpus, read_cpumask, snapshot_others } from '../kernel/cpumask.js';

// DAIF and IRQ masking (arch/arm64/include/asm/daifflags.h, irqflags.h).
export { local_daif_mask, local_daif_save, local_daif_save_flags, local_daif_restore, PSR_D, PSR_A, PSR_I, PSR_F, DAIF_MASK } from '../kernel/daifflags.js';
export { local_irq_disable, local_irq_enable, local_irq_save, local_irq_restore, irqs_disabled } from '../kernel/irqflags.js';

// printk: the kernel log the result's `log` is read from.
export { printk, pr_emerg, pr_crit, pr_err, pr_warn, pr_info, cpulistString, KERN_EMERG, KERN_CRIT, KERN_ERR, KERN_WARNING, KERN_INFO } from '../kernel/printk.js';

// The stop paths (arch/arm64/kernel/smp.c): the escalation ladder and its pieces.
export { smp_send_stop_ladder, stop_wait, smp_cross_call, handle_other_ipi, smp_crash_stop_failed, type StopLadder } from '../kernel/smp.js';
export { IPI, ipi_should_be_nmi, gic_ipi_send_mask } from '../kernel/irq-gic-v3.js';

// The SDEI NMI driver of the series (drivers/firmware/arm_sdei_nmi.c) and SDEI calls.
export { sdei_nmi_stop_cpus_body, sdei_nmi_init_body } from '../kernel/arm_sdei_nmi.js';
export { sdei_call, SDEI_FN } from '../kernel/arm_sdei.js';

// Crash capture (kernel/crash_core.c, arch/arm64/include/asm/kexec.h).
export { crash_setup_regs } from '../kernel/crash.js';

export type { K } from '../kernel/kernel.js';
export type { Guest, GuestFunction } from '../../cpus/isa.js';

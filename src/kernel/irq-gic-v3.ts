/**
 * drivers/irqchip/irq-gic-v3.c: CPU-interface set-up, the IRQ entry
 * (gic_handle_irq with its pseudo-NMI paths) and IPI sending
 * (gic_ipi_send_mask). EOImode is 0 (the kernel runs at EL1 without EL2), so
 * an interrupt is EOId by the irq_chip after its handler returns: a stop
 * handler, which never returns, leaves its SGI active.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PSR_I } from '../../cpus/pstate.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import { GICR_BASE, GICR_STRIDE, GICR_SGI_OFFSET, GICD_BASE } from '../machine/memory.js';
import { sgirForCluster } from '../gic/sgi.js';
import { GIC_PRIO_IRQON, GIC_PRIO_IRQOFF, GIC_PRIO_NMI } from './daifflags.js';
import { PCPU } from './layout.js';
import { T } from '../trace/events.js';
import { nmi_enter, nmi_exit } from './entry-common.js';
import type { K } from './kernel.js';

/** enum ipi_msg_type (arch/arm64/include/asm/smp.h). IPI n is SGI n on GICv3. */
export const IPI = {
  RESCHEDULE: 0,
  CALL_FUNC: 1,
  CPU_STOP: 2,
  CPU_STOP_NMI: 3,
  TIMER: 4,
  IRQ_WORK: 5,
  CPU_BACKTRACE: 6,
  KGDB_ROUNDUP: 7,
} as const;
export const NR_IPI = 8;
export const ARCH_TIMER_VIRT_PPI = 27;
/** GICD_INT_DEF_PRI / dist_prio_irq and dist_prio_nmi, kernel view. */
export const DIST_PRIO_IRQ = GIC_PRIO_IRQOFF;
export const DIST_PRIO_NMI = GIC_PRIO_NMI;

/** ipi_should_be_nmi() (arch/arm64/kernel/smp.c): only with priority masking. */
export function ipi_should_be_nmi(k: K, ipi: number): boolean {
  if (!k.cfg.pseudoNmi) return false;
  return ipi === IPI.CPU_STOP_NMI || ipi === IPI.CPU_BACKTRACE || ipi === IPI.KGDB_ROUNDUP;
}

function sgiFrame(cpu: number): number {
  return GICR_BASE + cpu * GICR_STRIDE + GICR_SGI_OFFSET;
}

/** regs_irqs_disabled(regs) (arch/arm64/include/asm/ptrace.h). */
export function* regs_irqs_disabled(k: K, regs: number): Guest<boolean> {
  const pstate = yield k.c.ldr(regs + PT_REGS.PSTATE);
  if (pstate & PSR_I) return true;
  if (!k.cfg.pseudoNmi) return false;
  return (yield k.c.ldr(regs + PT_REGS.PMR)) !== GIC_PRIO_IRQON;
}

/** gic_dist_init (boot CPU): Non-secure view of GICD_CTLR: ARE_NS, EnableGrp1A, EnableGrp1. */
export const gic_dist_init = guestFn<K>('gic_dist_init', function* (k) {
  yield k.c.str(GICD_BASE, 0x10 | 0x2 | 0x1);
  return 0;
}, { size: 16 });

/**
 * gic_cpu_init + gic_cpu_sys_reg_init + ipi_setup: redistributor awake, every
 * private interrupt disabled and deactivated, priorities at dist_prio_irq;
 * then the IPIs enabled (the NMI ones at dist_prio_nmi) and the virtual timer
 * PPI; PMR 0xf0, BPR1 0, EOImode 0, Group 1 enabled.
 */
export const gic_cpu_init = guestFn<K>('gic_cpu_init', function* (k) {
  const c = k.c;
  const rd = GICR_BASE + k.cpu * GICR_STRIDE;
  const sgi = sgiFrame(k.cpu);
  yield c.str(rd + 0x14, 0); // GICR_WAKER.ProcessorSleep = 0 (gic_enable_redist)
  yield c.str(sgi + 0x380, -1); // ICACTIVER0
  yield c.str(sgi + 0x180, -1); // ICENABLER0
  for (let i = 0; i < 32; i += 4) yield c.str(sgi + 0x400 + i, (DIST_PRIO_IRQ * 0x01010101) | 0);
  // ipi_setup(): request_percpu_nmi / prepare_percpu_nmi for the NMI IPIs, then enable.
  let enable = 0;
  for (let ipi = 0; ipi < 8; ipi++) {
    if (ipi_should_be_nmi(k, ipi)) yield c.strb(sgi + 0x400 + ipi, DIST_PRIO_NMI);
    enable |= 1 << ipi;
  }
  enable |= 1 << ARCH_TIMER_VIRT_PPI;
  yield c.str(sgi + 0x100, enable); // ISENABLER0
  yield c.msr(SYS.ICC_PMR_EL1, 0xf0); // DEFAULT_PMR_VALUE
  yield c.msr(SYS.ICC_BPR1_EL1, 0);
  yield c.msr(SYS.ICC_CTLR_EL1, 0); // EOImode 0
  yield c.msr(SYS.ICC_IGRPEN1_EL1, 1);
  yield c.isb();
  return 0;
}, { size: 48 });

/**
 * gic_ipi_send_mask(mask, ipi): dsb(ishst) so that earlier stores are visible
 * to the targets, one ICC_SGI1R_EL1 write per 16-PE cluster, then isb.
 */
export function* gic_ipi_send_mask(k: K, cpus: readonly number[], ipi: number): Guest<void> {
  const c = k.c;
  yield c.dsb();
  const clusters = new Map<number, number[]>();
  for (const cpu of cpus) {
    const a1 = Math.floor(cpu / 16);
    let l = clusters.get(a1);
    if (!l) clusters.set(a1, (l = []));
    l.push(cpu % 16);
  }
  for (const [aff1, aff0s] of clusters) yield c.msr(SYS.ICC_SGI1R_EL1, sgirForCluster(ipi, aff1, aff0s));
  yield c.isb();
}

/**
 * gic_handle_irq(regs): from an interrupts-off context (pseudo-NMI only) the
 * exception can only be an NMI (__gic_handle_irq_from_irqsoff); otherwise read
 * IAR, detect an NMI by the running priority, and with pseudo-NMI set PMR to
 * 0xc0 and clear DAIF.IF before an ordinary handler runs so NMIs can nest
 * (__gic_handle_irq_from_irqson; reference 5.6).
 */
export const gic_handle_irq = guestFn<K>('gic_handle_irq', function* (k, regs) {
  const c = k.c;
  if (k.cfg.pseudoNmi && (yield* regs_irqs_disabled(k, regs))) {
    const irqnr = yield c.mrs(SYS.ICC_IAR1_EL1);
    if (irqnr >= 1020) return 0;
    yield k.call('__gic_handle_nmi', irqnr, regs);
    return 0;
  }
  const irqnr = yield c.mrs(SYS.ICC_IAR1_EL1);
  let isNmi = false;
  if (k.cfg.pseudoNmi) isNmi = (yield c.mrs(SYS.ICC_RPR_EL1)) === GIC_PRIO_NMI;
  if (isNmi) {
    yield* nmi_enter(k, false);
    yield k.call('__gic_handle_nmi', irqnr, regs);
    yield* nmi_exit(k, false);
  }
  if (k.cfg.pseudoNmi) {
    yield c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQOFF); // gic_pmr_mask_irqs
    yield c.daifClr(3); // gic_arch_enable_irqs
  }
  if (!isNmi) {
    if (irqnr >= 1020) return 0; // gic_irqnr_is_special
    // With the interrupt pipeline the IRQ enters the pipeline (handled now if oob, else logged).
    yield k.call(k.cfg.irqPipeline ? 'generic_pipeline_irq' : 'generic_handle_domain_irq', irqnr, regs);
    yield c.msr(SYS.ICC_EOIR1_EL1, irqnr); // irq_chip->irq_eoi (EOImode 0)
  }
  return 0;
}, { size: 48 });

/** __gic_handle_nmi: the NMI's handler, then its EOI (if the handler returns). */
export const __gic_handle_nmi = guestFn<K>('__gic_handle_nmi', function* (k, irqnr, regs) {
  if (irqnr >= 1020) return 0;
  yield k.call('generic_handle_domain_irq', irqnr, regs);
  yield k.c.msr(SYS.ICC_EOIR1_EL1, irqnr);
  return 0;
}, { size: 16 });

/** generic_handle_domain_irq: SGIs 0-7 are the IPIs (ipi_handler), PPI 27 the virtual timer. */
export const generic_handle_domain_irq = guestFn<K>('generic_handle_domain_irq', function* (k, irqnr, regs) {
  if (irqnr < 8) {
    k.c.trace?.emit(T.MARK, 0x1000 + irqnr, k.cpu); // ipi_entry
    yield k.c.ldadd(k.L.pcpu(k.cpu, PCPU.ipi_count + 4 * irqnr), 1);
    yield k.call('do_handle_IPI', irqnr, regs);
  } else if (irqnr === ARCH_TIMER_VIRT_PPI) {
    yield k.call('arch_timer_handler_virt', regs);
  }
  return 0;
}, { size: 24 });

/** nmi_enter()/nmi_exit() (include/linux/hardirq.h) and the preempt-count offsets live with the entry code. */
export { nmi_enter, nmi_exit, HARDIRQ_OFFSET, NMI_OFFSET } from './entry-common.js';

export const GIC_FUNCTIONS = [gic_dist_init, gic_cpu_init, gic_handle_irq, __gic_handle_nmi, generic_handle_domain_irq];
void GIC_PRIO_IRQON;

/**
 * Boot: init/main.c start_kernel on CPU 0 (GIC, SMP bring-up through PSCI
 * CPU_ON, the SDEI initcalls) and arch/arm64/kernel/smp.c
 * secondary_start_kernel on the others; each CPU then runs its role task or
 * the idle task.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { DAIF_PROCCTX_NOIRQ, DAIF_PROCCTX } from '../../cpus/pstate.js';
import { GV, PCPU, SYSTEM } from './layout.js';
import { GIC_PRIO_IRQON, GIC_PRIO_PSR_I_SET, local_daif_restore } from './daifflags.js';
import { set_cpu_online } from './cpumask.js';
import { smp_init } from './smp.js';
import { pr_info } from './printk.js';
import type { K } from './kernel.js';

function* cpu_setup(k: K): Guest<void> {
  const c = k.c;
  yield c.setSp(k.L.taskStackTop(k.cpu));
  yield c.msr(SYS.VBAR_EL1, c.image.vbar);
  yield c.msr(SYS.TPIDR_EL1, k.L.pcpu(k.cpu, 0)); // __my_cpu_offset
  const task = k.L.pcpu(k.cpu, k.rt.hasRole(k.cpu) ? PCPU.role_task : PCPU.idle_task);
  yield c.str(k.L.pcpu(k.cpu, PCPU.current), task);
  yield c.msr(SYS.SP_EL0, task); // current
}

/** init_gic_priority_masking: PMR = IRQON | PSR_I_SET while DAIF still masks. */
function* init_gic_priority_masking(k: K): Guest<void> {
  if (k.cfg.pseudoNmi) yield k.c.msr(SYS.ICC_PMR_EL1, GIC_PRIO_IRQON | GIC_PRIO_PSR_I_SET);
}

function* run_role(k: K): Guest<void> {
  if (k.rt.hasRole(k.cpu)) yield k.call('role_task');
  yield k.call('do_idle');
}

export const primary_entry = guestFn<K>('primary_entry', function* (k) {
  yield* cpu_setup(k);
  yield k.call('start_kernel');
}, { size: 16 });

export const start_kernel = guestFn<K>('start_kernel', function* (k) {
  const c = k.c;
  yield* init_gic_priority_masking(k);
  yield k.call('gic_dist_init');
  yield k.call('gic_cpu_init');
  yield* init_gic_priority_masking(k);
  yield* local_daif_restore(k, DAIF_PROCCTX_NOIRQ);
  yield* pr_info(k, `Booting smpstop kernel model '${k.cfg.variant}' on physical CPU 0x0`);
  yield* set_cpu_online(k, 0, true);
  yield c.str(k.L.g(GV.system_state), SYSTEM.SCHEDULING);
  const secondaries: number[] = [];
  for (let cpu = 1; cpu < k.ncpus; cpu++) secondaries.push(cpu);
  yield* smp_init(k, secondaries);
  yield* pr_info(k, `SMP: Total of ${k.ncpus} processors activated.`);
  yield* local_daif_restore(k, DAIF_PROCCTX);
  // initcalls: the SDEI driver (arch_initcall), then the NMI driver of the series (device_initcall)
  yield k.call('sdei_init');
  if (k.fn.sdei_nmi_init) yield k.call('sdei_nmi_init');
  yield c.str64(k.L.g(GV.boot_done_time), yield c.now());
  yield c.str(k.L.g(GV.system_state), SYSTEM.RUNNING);
  yield* run_role(k);
}, { size: 96 });

export const secondary_entry = guestFn<K>('secondary_entry', function* (k) {
  yield* cpu_setup(k);
  yield k.call('secondary_start_kernel');
}, { size: 16 });

export const secondary_start_kernel = guestFn<K>('secondary_start_kernel', function* (k) {
  yield* init_gic_priority_masking(k);
  yield k.call('gic_cpu_init');
  yield* init_gic_priority_masking(k);
  yield* local_daif_restore(k, DAIF_PROCCTX_NOIRQ);
  yield* set_cpu_online(k, k.cpu, true);
  yield* local_daif_restore(k, DAIF_PROCCTX);
  if ((yield k.c.ldr(k.L.g(GV.sdei_present))) !== 0) yield k.call('sdei_cpuhp_up');
  yield* run_role(k);
}, { size: 48 });

export const MAIN_FUNCTIONS = [primary_entry, start_kernel, secondary_entry, secondary_start_kernel];

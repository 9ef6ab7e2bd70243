/**
 * arch/arm64/kernel/smp.c: IPI dispatch, the stop ladder (smp_send_stop and
 * crash_smp_send_stop), the stop handlers, panic_smp_self_stop,
 * cpu_park_loop and __cpu_try_die, plus cross-CPU function calls
 * (kernel/smp.c on_each_cpu) used at boot and by the SDEI driver.
 *
 * The functions here are the BASE variant (reference linux-stop-paths.md
 * sections 1.3, 2.1-2.3); the SDEI series replaces some of them by name
 * (variants.ts).
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { mpidrOf } from '../../cpus/layout.js';
import { GV, PCPU, SYSTEM } from './layout.js';
import { USEC_PER_SEC, USEC_PER_MSEC, UDELAY_LOOP_OVERHEAD_NS } from './config.js';
import { set_cpu_online, cpu_online, num_other_online_cpus, snapshot_others } from './cpumask.js';
import { local_daif_mask } from './daifflags.js';
import { gic_ipi_send_mask, IPI, ipi_should_be_nmi } from './irq-gic-v3.js';
import { pr_crit, pr_info, pr_warn, cpulistString } from './printk.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';
import { PSCI } from '../../firmware/psci.js';

export const PSCI_CPU_OFF = PSCI.CPU_OFF;
/** Trace MARK: crash_stop was set (crash_smp_send_stop). */
export const MARK_CRASH_STOP = 0x3001;
export const PSCI_CPU_ON64 = PSCI.CPU_ON64;
/** PSCI_POWER_STATE_TYPE_POWER_DOWN << PSCI_0_2_POWER_STATE_TYPE_SHIFT (cpu_psci_cpu_die). */
export const PSCI_POWER_DOWN_STATE = 0x10000;

/** smp_cross_call(mask, ipi): trace ipi_raise, then the GIC driver's send. */
export function* smp_cross_call(k: K, cpus: readonly number[], ipi: number): Guest<void> {
  k.c.trace?.emit(T.MARK, 0x2000 + ipi, cpus.length); // ipi_raise
  if (cpus.length > 0) yield* gic_ipi_send_mask(k, cpus, ipi);
}

/**
 * `while (num_other_online_cpus() && timeout--) udelay(1);` fast-forwarded:
 * the CPU sleeps with its monitor on __num_online_cpus until the count
 * changes, an interrupt it can take arrives, or the loop would have run out
 * (timeout iterations of udelay(1) plus the loop overhead). Nothing else can
 * change what the loop observes, so the waiting is exact.
 */
export function* stop_wait(k: K, usec: number): Guest<void> {
  const c = k.c;
  const deadline = (yield c.now()) + usec * (1000 + UDELAY_LOOP_OVERHEAD_NS);
  const self = (yield* cpu_online(k, k.cpu)) ? 1 : 0;
  const cnt = k.L.g(GV.__num_online_cpus);
  for (;;) {
    const n = yield c.ldxr(cnt);
    if (n - self === 0) break;
    if ((yield c.now()) >= deadline) break;
    yield c.waitUntil(deadline);
  }
  yield c.clrex();
}

export interface StopLadder {
  /** The SDEI rung of the series (section 1.5), between the NMI rung and the failure warning. */
  readonly sdeiRung: boolean;
}

/**
 * smp_send_stop() (section 1.3): one-shot stop_in_progress; rung 1
 * IPI_CPU_STOP with a 1 s wait; rung 2 IPI_CPU_STOP_NMI with a 10 ms wait if
 * pseudo-NMI is in use; [series] rung 3 SDEI event 0 with a 100 ms wait; the
 * failure warning; then SDEI PE_MASK on the caller. A second caller returns at
 * once without reaching skip_ipi.
 */
export function* smp_send_stop_ladder(k: K, ladder: StopLadder): Guest<void> {
  const c = k.c;
  if ((yield* num_other_online_cpus(k)) !== 0) {
    const old = yield c.ldset(k.L.g(GV.stop_in_progress), 1); // test_and_set_bit(0, &stop_in_progress)
    if (old & 1) return;
    let mask = yield* snapshot_others(k, GV.stop_mask);
    const state = yield c.ldr(k.L.g(GV.system_state));
    if (state <= SYSTEM.RUNNING) yield* pr_crit(k, 'SMP: stopping secondary CPUs');
    yield* smp_cross_call(k, mask, IPI.CPU_STOP);
    yield* stop_wait(k, USEC_PER_SEC);
    if ((yield* num_other_online_cpus(k)) !== 0 && ipi_should_be_nmi(k, IPI.CPU_STOP_NMI)) {
      yield c.dmb(); // smp_rmb()
      mask = yield* snapshot_others(k, GV.stop_mask);
      yield* pr_info(k, `SMP: retry stop with NMI for CPUs ${cpulistString(mask)}`);
      yield* smp_cross_call(k, mask, IPI.CPU_STOP_NMI);
      yield* stop_wait(k, USEC_PER_MSEC * 10);
    }
    if (ladder.sdeiRung && (yield* num_other_online_cpus(k)) !== 0 && (yield k.call('sdei_nmi_active')) !== 0) {
      yield c.dmb();
      mask = yield* snapshot_others(k, GV.stop_mask);
      yield* pr_info(k, `SMP: retry stop with SDEI NMI for CPUs ${cpulistString(mask)}`);
      yield k.call('sdei_nmi_stop_cpus', k.L.g(GV.stop_mask));
      yield* stop_wait(k, USEC_PER_MSEC * 100);
    }
    if ((yield* num_other_online_cpus(k)) !== 0) {
      yield c.dmb();
      mask = yield* snapshot_others(k, GV.stop_mask);
      yield* pr_warn(k, `SMP: failed to stop secondary CPUs ${cpulistString(mask)}`);
    }
  }
  // skip_ipi:
  yield k.call('sdei_mask_local_cpu');
}

export const smp_send_stop = guestFn<K>('smp_send_stop', function* (k) {
  yield* smp_send_stop_ladder(k, { sdeiRung: false });
  return 0;
}, { size: 160, traced: true });

/**
 * crash_smp_send_stop() (section 1.4): guarded by the plain crash_stop flag
 * (the IPI handlers read it to choose the crash path), then smp_send_stop and
 * sdei_handler_abort for an SDEI handler active on this CPU.
 */
export const crash_smp_send_stop = guestFn<K>('crash_smp_send_stop', function* (k) {
  const c = k.c;
  if ((yield c.ldr(k.L.g(GV.crash_stop))) !== 0) return 0;
  yield c.str(k.L.g(GV.crash_stop), 1); // ordered before the SGI by gic_ipi_send_mask's dsb(ishst)
  c.trace?.emit(T.MARK, MARK_CRASH_STOP, 0);
  yield k.call('smp_send_stop');
  yield k.call('sdei_handler_abort');
  return 0;
}, { size: 24, traced: true });

/** smp_crash_stop_failed(): num_other_online_cpus() != 0. */
export function* smp_crash_stop_failed(k: K): Guest<boolean> {
  return (yield* num_other_online_cpus(k)) !== 0;
}

/**
 * do_handle_IPI (BASE, section 2.1): IPI_CPU_STOP and IPI_CPU_STOP_NMI share
 * one case: the crash path when crash_stop is set, else local_cpu_stop.
 */
export const do_handle_IPI = guestFn<K>('do_handle_IPI', function* (k, ipinr) {
  const c = k.c;
  switch (ipinr) {
    case IPI.CPU_STOP:
    case IPI.CPU_STOP_NMI:
      if ((yield c.ldr(k.L.g(GV.crash_stop))) !== 0) {
        const regs = yield c.ldr(k.L.pcpu(k.cpu, PCPU.irq_regs)); // get_irq_regs()
        yield k.call('ipi_cpu_crash_stop', k.cpu, regs);
      } else {
        yield k.call('local_cpu_stop', k.cpu);
      }
      break;
    default:
      yield* handle_other_ipi(k, ipinr);
  }
  return 0;
}, { size: 48, traced: true });

/** The IPIs other than the stop ones (shared by every variant). */
export function* handle_other_ipi(k: K, ipinr: number): Guest<void> {
  const c = k.c;
  switch (ipinr) {
    case IPI.RESCHEDULE:
      yield c.str(k.L.pcpu(k.cpu, PCPU.need_resched), 1); // scheduler_ipi
      break;
    case IPI.CALL_FUNC:
      yield k.call('generic_smp_call_function_interrupt');
      break;
    case IPI.CPU_BACKTRACE:
      yield k.call('nmi_cpu_backtrace', yield c.ldr(k.L.pcpu(k.cpu, PCPU.irq_regs)));
      break;
    default:
      yield c.nop(); // IPI_TIMER, IPI_IRQ_WORK, IPI_KGDB_ROUNDUP: nothing the stop paths depend on
  }
}

/**
 * local_cpu_stop(cpu) (BASE, section 2.2): offline first, then DAIF masked,
 * SDEI masked, park. No crash save, no CPU_OFF.
 */
export const local_cpu_stop = guestFn<K>('local_cpu_stop', function* (k, cpu) {
  yield* set_cpu_online(k, cpu, false);
  yield* local_daif_mask(k);
  yield k.call('sdei_mask_local_cpu');
  yield k.call('cpu_park_loop');
  return 0;
}, { size: 24, traced: true });

/**
 * ipi_cpu_crash_stop(cpu, regs) (BASE, section 2.3): DAIF masked first (a late
 * IRQ's regs beat an NMI's), crash save, offline, SDEI masked, CPU_OFF if
 * CONFIG_HOTPLUG_CPU, park "just in case".
 */
export const ipi_cpu_crash_stop = guestFn<K>('ipi_cpu_crash_stop', function* (k, cpu, regs) {
  yield* local_daif_mask(k);
  yield k.call('crash_save_cpu', regs, cpu);
  yield* set_cpu_online(k, cpu, false);
  yield k.call('sdei_mask_local_cpu');
  if (k.cfg.hotplugCpu) yield k.call('__cpu_try_die', cpu);
  yield k.call('cpu_park_loop');
  return 0;
}, { size: 24, traced: true });

/** panic_smp_self_stop() (BASE): local_cpu_stop(smp_processor_id()). */
export const panic_smp_self_stop = guestFn<K>('panic_smp_self_stop', function* (k) {
  yield k.call('local_cpu_stop', k.cpu);
  return 0;
}, { size: 8, traced: true });

/** cpu_park_loop() (arch/arm64/include/asm/smp.h): for (;;) { wfe(); wfi(); }. */
export const cpu_park_loop = guestFn<K>('cpu_park_loop', function* (k) {
  const c = k.c;
  const top = c.label();
  for (;;) {
    yield c.wfe();
    yield c.wfi();
    yield c.b(top);
  }
}, { size: 8, traced: true });

/**
 * __cpu_try_die(cpu): with CONFIG_HOTPLUG_CPU and PSCI, cpu_psci_cpu_die:
 * CPU_OFF with the power-down state; returns only if CPU_OFF failed.
 */
export const __cpu_try_die = guestFn<K>('__cpu_try_die', function* (k) {
  if (!k.cfg.hotplugCpu) return 0;
  yield k.c.smc(PSCI_CPU_OFF, PSCI_POWER_DOWN_STATE);
  return 0;
}, { size: 12, traced: true });

// ---------------------------------------------------------------------------
// Cross-CPU function calls (kernel/smp.c), used by the SDEI driver at probe,
// registration and reboot.
// ---------------------------------------------------------------------------

/** generic_smp_call_function_interrupt: run the requested function, then release the call data. */
export const generic_smp_call_function_interrupt = guestFn<K>('generic_smp_call_function_interrupt', function* (k) {
  const c = k.c;
  const f = yield c.ldr(k.L.pcpu(k.cpu, PCPU.csd_func));
  if (f === 0) return 0;
  const arg = yield c.ldr(k.L.pcpu(k.cpu, PCPU.csd_arg));
  const fn = c.image.entryAt(f);
  if (!fn) throw c.fault(`call-function IPI to 0x${f.toString(16)}, which is not a function`, 'guest-code');
  yield c.bl(fn, arg);
  yield c.str(k.L.pcpu(k.cpu, PCPU.csd_func), 0); // csd_unlock: the caller's monitor sees it
  return 0;
}, { size: 24 });

/**
 * Excludes on_each_cpu senders and CPU unplug from each other. In Linux a
 * sender keeps preemption disabled from reading cpu_online_mask until its
 * targets have answered (smp_call_function_many_cond), and unplug takes the
 * CPU down inside stop_machine(), which must run a stopper on every online
 * CPU, the sender's included: so a CPU cannot leave the online mask between
 * a sender's read of it and the sender's wait for that CPU. The model
 * serialises both on one lock (which also serialises senders, as the
 * model's single per-CPU csd slot needs). A CPU waiting for it keeps its
 * interrupts as they were and sleeps in WFE, so it still answers the holder's
 * IPI.
 */
export function* smp_call_lock(k: K): Guest<void> {
  const c = k.c;
  const lock = k.L.g(GV.call_function_lock);
  for (;;) {
    const v = yield c.ldxr(lock);
    if (v === 0 && (yield c.cas(lock, 0, 1)) === 0) break;
    if (v !== 0) yield c.wfe();
  }
  yield c.clrex();
}

export function* smp_call_unlock(k: K): Guest<void> {
  yield k.c.str(k.L.g(GV.call_function_lock), 0);
}

/**
 * on_each_cpu(func, arg, wait=1): run `name(arg)` on every online CPU, the
 * caller included, and wait for all of them. The targets must take
 * IPI_CALL_FUNC: a CPU spinning with interrupts off never answers and the
 * caller waits forever, as in Linux.
 */
export function* on_each_cpu(k: K, name: string, arg: number): Guest<void> {
  const c = k.c;
  yield* smp_call_lock(k);
  const targets: number[] = [];
  for (let cpu = 0; cpu < k.ncpus; cpu++) {
    if (cpu === k.cpu || !(yield* cpu_online(k, cpu))) continue;
    yield c.str(k.L.pcpu(cpu, PCPU.csd_arg), arg);
    yield c.str(k.L.pcpu(cpu, PCPU.csd_func), k.addr(name));
    targets.push(cpu);
  }
  yield* smp_cross_call(k, targets, IPI.CALL_FUNC);
  yield k.call(name, arg);
  for (const cpu of targets) {
    const slot = k.L.pcpu(cpu, PCPU.csd_func);
    for (;;) {
      if ((yield c.ldxr(slot)) === 0) break;
      yield c.wfe();
    }
    yield c.clrex();
  }
  yield* smp_call_unlock(k);
}

// ---------------------------------------------------------------------------
// Secondary bring-up (smp_init / secondary_start_kernel)
// ---------------------------------------------------------------------------

/** smp_init on the boot CPU: PSCI CPU_ON for every secondary, then wait until each is online. */
export function* smp_init(k: K, cpus: readonly number[]): Guest<void> {
  const c = k.c;
  for (const cpu of cpus) {
    const r = yield c.smc(PSCI_CPU_ON64, mpidrOf(cpu) & 0xffffff, k.addr('secondary_entry'), cpu);
    if (r !== 0) yield* pr_warn(k, `CPU${cpu}: failed to boot: ${r}`);
  }
  for (const cpu of cpus) {
    const w = k.L.g(GV.cpu_online_mask) + 4 * (cpu >> 5);
    for (;;) {
      if ((yield c.ldxr(w)) & (1 << (cpu & 31))) break;
      yield c.wfe();
    }
    yield c.clrex();
  }
}

export { SYS };

export const SMP_FUNCTIONS = [
  smp_send_stop, crash_smp_send_stop, do_handle_IPI, local_cpu_stop, ipi_cpu_crash_stop, panic_smp_self_stop,
  cpu_park_loop, __cpu_try_die, generic_smp_call_function_interrupt,
];

/**
 * EXT: the scenario's code on each CPU once the kernel is up (the model's
 * stand-in for user space, kernel threads and LKDTM): a workload task, faults
 * that wedge the CPU the way a hard lockup or a stuck firmware call does, and
 * the triggers (panic, reboot, power-off) called from the CPU's own code at
 * their guest time, whatever it is doing: a wedged CPU's spin loop checks for
 * them too, as a lockup detector or a BUG() would make it panic.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { GV, PCPU, SYSTEM } from './layout.js';
import { local_irq_disable, local_irq_enable, local_irq_save, local_irq_restore } from './irqflags.js';
import { local_daif_mask, local_daif_save, local_daif_restore } from './daifflags.js';
import { set_cpu_online } from './cpumask.js';
import { smp_call_lock, smp_call_unlock } from './smp.js';
import { arch_timer_start, delay_until } from './time.js';
import { SIP_SMPSTOP_STALL } from '../../firmware/el3.js';
import { PSCI } from '../../firmware/psci.js';
import type { PlanEvent } from './runtime.js';
import { faultFunctionName } from './faults.js';
import { pr_warn } from './printk.js';
import { PANIC_CPU_DIDNT_DIE } from './panic.js';
import { mpidrOf } from '../../cpus/layout.js';

import type { K } from './kernel.js';

/** cpu_psci_cpu_kill: how long __cpu_die polls AFFINITY_INFO for an unplugged CPU to be OFF (100 ms). */
const CPU_KILL_TIMEOUT_NS = 100e6;

/**
 * The plan's time origin t0: the moment every role CPU has put its faults at
 * t <= 0 in place (masking done, about to spin). Each role CPU marks itself
 * ready once; the last one publishes t0. Event times are t0 + atUs, so a
 * wedge "at 0" is always in place before any trigger, in both engines.
 */
function* markReady(k: K): Guest<void> {
  const c = k.c;
  const mine = k.L.pcpu(k.cpu, PCPU.role_ready);
  if ((yield c.ldr(mine)) !== 0) return;
  yield c.str(mine, 1);
  const n = yield c.ldadd(k.L.g(GV.roles_ready), 1);
  if (n + 1 === k.rt.roleCount()) {
    // cpu_down's __cpu_die: op_cpu_kill (cpu_psci_cpu_kill) polls AFFINITY_INFO until the firmware
    // reports the unplugged CPU OFF, for at most 100 ms; then it warns and cpu_down completes anyway.
    // (The model polls every 10 us where Linux sleeps 100-1000 us between polls.)
    for (const cpu of k.rt.offlineAtStart()) {
      const until = (yield c.now()) + CPU_KILL_TIMEOUT_NS;
      for (;;) {
        const state = yield c.smc(PSCI.AFFINITY_INFO64, mpidrOf(cpu) & 0xffffff, 0);
        if (state === 1) break;
        const now = yield c.now();
        if (now >= until) {
          yield* pr_warn(k, `psci: CPU${cpu} may not have shut down cleanly (AFFINITY_INFO reports ${state})`);
          yield* pr_warn(k, `CPU${cpu} may not have shut down cleanly: -110`); // -ETIMEDOUT
          break;
        }
        // Sleep until the next poll (the SMC's return set the event register: a bare WFE returns at once).
        yield* delay_until(k, Math.min(now + 10_000, until));
      }
    }
    yield c.str64(k.L.g(GV.plan_t0), yield c.now());
    yield c.str(k.L.g(GV.plan_t0_published), 1);
  }
}

/** Waits (WFE on the published flag, any masking) until t0 is known; returns it. */
function* planT0(k: K): Guest<number> {
  const c = k.c;
  const flag = k.L.g(GV.plan_t0_published);
  for (;;) {
    if ((yield c.ldxr(flag)) !== 0) break;
    yield c.wfe();
  }
  yield c.clrex();
  return yield c.ldr64(k.L.g(GV.plan_t0));
}

/** The per-CPU cursor into the plan, kept in the role's frame; t0 is -1 until known. */
interface Cursor {
  i: number;
  t0: number;
}

function* nextDue(k: K, cur: Cursor): Guest<PlanEvent | null> {
  const ev = k.rt.plan(k.cpu).events[cur.i];
  if (!ev) return null;
  if (ev.at > 0) {
    if (cur.t0 < 0) {
      yield* markReady(k);
      cur.t0 = yield* planT0(k);
    }
    if ((yield k.c.now()) < cur.t0 + ev.at) return null;
  }
  cur.i++;
  return ev;
}

function nextTime(k: K, cur: Cursor): number {
  const ev = k.rt.plan(k.cpu).events[cur.i];
  return ev && cur.t0 >= 0 ? cur.t0 + ev.at : Infinity;
}

/** Runs one due plan event. Wedges do not return while they last. */
function* runEvent(k: K, ev: PlanEvent, cur: Cursor): Guest<void> {
  switch (ev.kind) {
    case 'trigger':
      yield* markReady(k);
      if (ev.trigger === 'panic') yield k.call('panic', ev.msgId);
      else if (ev.trigger === 'reboot') yield k.call('kernel_restart');
      else yield k.call('kernel_power_off');
      return;
    case 'custom':
      yield* markReady(k);
      yield k.call(faultFunctionName(ev.fault), ev.arg);
      return;
    case 'ipi-delay': {
      const flags = yield* local_irq_save(k);
      yield* markReady(k);
      if (cur.t0 < 0) cur.t0 = yield* planT0(k);
      yield* spinUntil(k, cur, (yield k.c.now()) + ev.durationNs);
      yield* local_irq_restore(k, flags);
      return;
    }
    case 'wedge':
      switch (ev.wedge) {
        case 'irqs-off': yield k.call('lkdtm_HARDLOCKUP', cur.i); return;
        case 'daif-masked': yield k.call('wedge_daif_masked', cur.i); return;
        case 'sdei-masked': yield k.call('wedge_sdei_masked', cur.i); return;
        case 'in-firmware': {
          // Masked from before the ready mark until the SMC, so nothing is taken in between.
          const flags = yield* local_daif_save(k);
          yield* markReady(k);
          yield k.c.smc(SIP_SMPSTOP_STALL, ev.durationNs);
          yield* local_daif_restore(k, flags);
          return;
        }
        case 'offline':
          yield k.call('cpu_offline_self');
          return;
      }
  }
}

/**
 * A spin (`cpu_relax()` loop) until `until`, running the plan events that fall
 * due meanwhile. Modelled as a timed wait: it wakes for an interrupt the CPU
 * can take, an SDEI dispatch, or the next event time.
 */
function* spinUntil(k: K, cur: Cursor, until: number): Guest<void> {
  const c = k.c;
  for (;;) {
    const ev = yield* nextDue(k, cur);
    if (ev) {
      yield* runEvent(k, ev, cur);
      continue;
    }
    const now = yield c.now();
    if (now >= until) return;
    const t = Math.min(until, nextTime(k, cur));
    c.alarm = t;
    yield c.waitUntil(t);
  }
}

/** Marks the CPU ready (its masking is in place) and spins forever, still running later plan events. */
function* wedgeSpin(k: K, from: number): Guest<never> {
  yield* markReady(k);
  const cur: Cursor = { i: from, t0: yield* planT0(k) };
  for (;;) yield* spinUntil(k, cur, Infinity);
}

/** LKDTM HARDLOCKUP: local_irq_disable(); for (;;) cpu_relax(); */
export const lkdtm_HARDLOCKUP = guestFn<K>('lkdtm_HARDLOCKUP', function* (k, from) {
  yield* local_irq_disable(k);
  yield* wedgeSpin(k, from);
}, { size: 16 });

/** local_daif_mask(), then spin: only an SDEI dispatch can interrupt. */
export const wedge_daif_masked = guestFn<K>('wedge_daif_masked', function* (k, from) {
  yield* local_daif_mask(k);
  yield* wedgeSpin(k, from);
}, { size: 16 });

/** DAIF masked and SDEI PE_MASK, then spin: nothing can interrupt. */
export const wedge_sdei_masked = guestFn<K>('wedge_sdei_masked', function* (k, from) {
  yield* local_daif_mask(k);
  yield k.call('sdei_mask_local_cpu');
  yield* wedgeSpin(k, from);
}, { size: 16 });

/**
 * CPU hot-unplug of this CPU before the trigger: __cpu_disable (offline, the
 * SDEI hotplug teardown: unregister and mask), then cpu_die (DAIF masked,
 * PSCI CPU_OFF). Leaving the online mask excludes on_each_cpu senders
 * (smp_call_lock: stop_machine in Linux), so a sender that already counted
 * this CPU gets its answer first.
 */
export const cpu_offline_self = guestFn<K>('cpu_offline_self', function* (k) {
  yield* smp_call_lock(k);
  yield* set_cpu_online(k, k.cpu, false);
  yield* smp_call_unlock(k);
  if ((yield k.c.ldr(k.L.g(GV.sdei_present))) !== 0) yield k.call('sdei_cpuhp_down');
  yield* local_daif_mask(k);
  yield k.call('__cpu_try_die', k.cpu);
  // arm64 cpu_die(): "This must never fail": if PSCI CPU_OFF returns (DENIED), panic("CPU%u: cpu
  // didn't die"). Without CONFIG_HOTPLUG_CPU there is no cpu_die to call: the model parks the CPU.
  if (k.cfg.hotplugCpu) yield k.call('panic', PANIC_CPU_DIDNT_DIE);
  yield k.call('cpu_park_loop');
  return 0;
}, { size: 24 });

/** A ticket-free spinlock for the workload (arch_spin_lock waits in WFE on the lock word). */
function* spin_lock(k: K, addr: number): Guest<void> {
  const c = k.c;
  for (;;) {
    const v = yield c.ldxr(addr);
    if (v === 0 && (yield c.cas(addr, 0, k.cpu + 1)) === 0) break;
    if (v !== 0) yield c.wfe();
  }
  yield c.clrex();
}

/**
 * The role task: wait for SYSTEM_RUNNING, then run the plan's events in time
 * order, between them idling (cpu_do_idle) or running the workload:
 * spin_lock_irqsave critical sections of a shared lock, computation, short
 * waits with IRQs enabled, and a periodic tick.
 */
export const role_task = guestFn<K>('role_task', function* (k) {
  const c = k.c;
  const plan = k.rt.plan(k.cpu);
  for (;;) {
    const st = yield c.ldxr(k.L.g(GV.system_state));
    if (st >= SYSTEM.RUNNING) break;
    yield c.wfe();
  }
  yield c.clrex();
  const cur: Cursor = { i: 0, t0: -1 };
  if (plan.workload) yield* arch_timer_start(k);
  const entryTest = plan.entryTest !== undefined || plan.waker !== undefined;
  if (entryTest) yield k.call('entry_test_start'); // src/kernel/entry-test.ts
  const lock = k.L.g(GV.workload_lock);
  const top = c.label();
  for (;;) {
    const ev = yield* nextDue(k, cur);
    if (ev) {
      yield* runEvent(k, ev, cur);
      continue;
    }
    if (cur.t0 < 0) {
      yield* markReady(k);
      cur.t0 = yield* planT0(k);
    }
    const next = nextTime(k, cur);
    if (plan.workload) {
      const flags = yield* local_irq_save(k);
      yield* spin_lock(k, lock);
      yield c.nops(16);
      yield c.str(lock, 0);
      yield* local_irq_restore(k, flags);
      yield c.nops(32);
      const until = Math.min(next, (yield c.now()) + 20_000);
      c.alarm = until;
      yield c.waitUntil(until); // a short sleep with IRQs enabled
    } else if (entryTest) {
      yield k.call('entry_test_step', next);
    } else {
      // Nothing to do until the next event: the CPU idles the way default_idle_call does. Through
      // cpu_do_idle, not a bare WFI: with pseudo-NMI, local_irq_disable masks by PMR, which stops
      // the GIC signalling an IRQ at all, so a bare WFI would sleep through every IPI (an
      // on_each_cpu from a rebooting CPU waited forever); __cpu_do_idle_irqprio opens PMR first.
      c.alarm = next;
      yield* local_irq_disable(k);
      if ((yield c.now()) < next) yield k.call('cpu_do_idle');
      yield* local_irq_enable(k);
    }
    yield c.b(top);
  }
}, { size: 96 });

export const ROLE_FUNCTIONS = [lkdtm_HARDLOCKUP, wedge_daif_masked, wedge_sdei_masked, cpu_offline_self, role_task];
void PCPU;

/**
 * arch/arm64/kernel/traps.c die(), arch/arm64/mm/fault.c (do_mem_abort ->
 * __do_kernel_fault -> die_kernel_fault) and kernel/exit.c make_task_dead,
 * as far as a fault inside the stop or panic paths exercises them.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import { PAGE_SIZE } from '../machine/memory.js';
import { GV, PCPU, TASK } from './layout.js';
import { pr_emerg, printk, KERN_ALERT } from './printk.js';
import { local_irq_save, local_irq_restore, local_irq_enable } from './irqflags.js';
import { preempt_count, inInterrupt, load_current } from './entry-common.js';
import { fixup_exception } from './extable.js';
import type { K } from './kernel.js';

export const PANIC_ON_OOPS = false;

function hex16(v: number): string {
  return v.toString(16).padStart(16, '0');
}

/** current->pid. */
export function* current_pid(k: K): Guest<number> {
  const task = yield load_current(k);
  if (task === 0) return 0;
  return yield k.c.ldr(task + TASK.pid);
}

/** arch_spin_lock with interrupts saved: a ticket-free CAS lock whose waiters sleep in WFE on the lock word. */
function* raw_spin_lock(k: K, addr: number): Guest<void> {
  const c = k.c;
  for (;;) {
    const v = yield c.ldxr(addr);
    if (v === 0) {
      if ((yield c.cas(addr, 0, k.cpu + 1)) === 0) {
        yield c.clrex();
        return;
      }
      continue;
    }
    yield c.wfe();
  }
}

function* raw_spin_unlock(k: K, addr: number): Guest<void> {
  yield k.c.str(addr, 0); // stlr: the waiters' monitors see the store
}

/** Model bound on recursive oopses on one CPU (Linux would recurse until its stack overflows). */
const MAX_OOPS_NESTING = 3;

/**
 * die(str, regs, err): takes die_lock, prints the oops, tries crash_kexec
 * when kexec_should_crash(current), then panics in interrupt context or with
 * panic_on_oops, else kills the current task.
 */
export const die = guestFn<K>('die', function* (k, strId, regs, err) {
  const c = k.c;
  const str = DIE_STRINGS[strId] ?? 'Oops';
  const nest = yield c.ldadd(k.L.g(GV.oops_in_progress), 1);
  if (nest >= MAX_OOPS_NESTING) {
    // EXT: stop the model's recursion where Linux would overflow its stack.
    yield* pr_emerg(k, 'smpstop: recursive oops on this CPU, parking it');
    yield k.call('cpu_park_loop');
  }
  const flags = yield* local_irq_save(k);
  yield* raw_spin_lock(k, k.L.g(GV.die_lock));
  const pc = yield c.ldr64(regs + PT_REGS.PC);
  yield* pr_emerg(k, `Internal error: ${str}: ${hex16(err >>> 0)} [#${nest + 1}] SMP`);
  yield* pr_emerg(k, `pc : ${c.image.symbolize(pc)}`);
  const pid = yield* current_pid(k);
  const inIrq = inInterrupt(yield preempt_count(k));
  // kexec_should_crash(): never with crash_kexec_post_notifiers; else in interrupt, for pid 0 or 1, or panic_on_oops.
  const shouldCrash = !k.cfg.crashKexecPostNotifiers && (inIrq || pid <= 1 || PANIC_ON_OOPS);
  if (shouldCrash) yield k.call('crash_kexec', regs);
  yield c.ldadd(k.L.g(GV.oops_in_progress), -1);
  if (inIrq) yield k.call('panic_str', 1); // "Fatal exception in interrupt"
  if (PANIC_ON_OOPS) yield k.call('panic_str', 2); // "Fatal exception"
  yield* raw_spin_unlock(k, k.L.g(GV.die_lock));
  yield* local_irq_restore(k, flags);
  yield k.call('make_task_dead', pid);
  return 0;
}, { size: 96, traced: true });

export const DIE_STRINGS: Record<number, string> = { 0: 'Oops', 1: 'Oops - undefined instruction', 2: 'SError Interrupt' };

export const die_str = guestFn<K>('die_str', function* (k, strId, regs, err) {
  yield k.call('die', strId, regs, err);
  return 0;
}, { size: 8 });

/**
 * do_mem_abort -> do_translation_fault -> __do_kernel_fault: a fault with an
 * exception-table entry (a uaccess routine) is fixed up; any other kernel
 * access to an unmapped address is fatal: die_kernel_fault("NULL pointer
 * dereference" below PAGE_SIZE, "paging request" otherwise).
 */
export const do_mem_abort = guestFn<K>('do_mem_abort', function* (k, far, esr, regs) {
  if (yield* fixup_exception(k, regs)) return 0;
  const msg = far < PAGE_SIZE ? 'NULL pointer dereference' : 'paging request';
  yield* printk(k, KERN_ALERT, `Unable to handle kernel ${msg} at virtual address ${hex16(far)}`);
  yield* printk(k, KERN_ALERT, `Mem abort info: ESR = 0x${(esr >>> 0).toString(16).padStart(16, '0')}`);
  yield k.call('die', 0, regs, esr);
  yield k.call('make_task_dead', yield* current_pid(k));
  return 0;
}, { size: 48, traced: true });

/**
 * make_task_dead(signr) -> do_exit: killing the idle task or an interrupt
 * handler panics; otherwise the task is gone and the scheduler runs the idle
 * task. The context switch does not restore DAIF (arm64 cpu_switch_to);
 * finish_task_switch enables IRQs (I and F only).
 */
export const make_task_dead = guestFn<K>('make_task_dead', function* (k, pid) {
  if (inInterrupt(yield preempt_count(k))) yield k.call('panic_str', 3); // "Aiee, killing interrupt handler!"
  if (pid === 0) yield k.call('panic_str', 4); // "Attempted to kill the idle task!"
  yield k.c.str(k.L.pcpu(k.cpu, PCPU.current), k.L.pcpu(k.cpu, PCPU.idle_task));
  yield k.c.str(k.L.pcpu(k.cpu, PCPU.preempt_count), 0);
  yield* local_irq_enable(k);
  yield k.call('do_idle');
  return 0;
}, { size: 24 });

export const TRAP_FUNCTIONS = [die, die_str, do_mem_abort, make_task_dead];

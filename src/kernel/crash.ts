/**
 * Crash capture: kernel/crash_core.c (crash_save_cpu, __crash_kexec,
 * crash_kexec), arch/arm64/include/asm/kexec.h (crash_setup_regs) and
 * arch/arm64/kernel/machine_kexec.c (machine_crash_shutdown, machine_kexec)
 * (reference linux-stop-paths.md sections 3.3 and 4).
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import { PSR_DAIF, PSR_MODE_EL1H } from '../../cpus/pstate.js';
import { GICR_BASE, GICR_STRIDE, GICR_SGI_OFFSET } from '../machine/memory.js';
import { prstatusNoteWords } from '../vmcore/prstatus.js';
import { GV, PCPU } from './layout.js';
import { local_irq_disable } from './irqflags.js';
import { pr_info, pr_warn } from './printk.js';
import { panic_try_start, panic_reset, PANIC_CPU_INVALID } from './panic.js';
import { smp_crash_stop_failed } from './smp.js';
import { current_pid } from './traps.js';
import { T } from '../trace/events.js';
import type { K } from './kernel.js';

/** Trace MARK values for crash capture (a), with the CPU whose note was written in b. */
export const MARK_CRASH_SAVE = 0x3000;

/**
 * crash_save_cpu(regs, cpu) (section 4.1): an all-zero prstatus with
 * pr_pid = current->pid and pr_reg = regs->user_regs (elf_core_copy_regs, a
 * plain struct copy: regs == NULL faults on its first load), written as one
 * "CORE"/NT_PRSTATUS note plus the final empty note into the CPU's
 * crash_notes buffer. Writing it again overwrites it in place.
 */
export const crash_save_cpu = guestFn<K>('crash_save_cpu', function* (k, regs, cpu) {
  const c = k.c;
  if (cpu < 0 || cpu >= k.ncpus) return 0;
  const buf = k.L.crashNotes(cpu);
  const pid = yield* current_pid(k);
  const x: number[] = [];
  for (let i = 0; i < 31; i++) x.push(yield c.ldr64(regs + 8 * i));
  const sp = yield c.ldr64(regs + PT_REGS.SP);
  const pc = yield c.ldr64(regs + PT_REGS.PC);
  const pstate = yield c.ldr64(regs + PT_REGS.PSTATE);
  const words = prstatusNoteWords({ x, sp, pc, pstate }, pid);
  // append_elf_note's memcpy: pairs of words, as arm64 memcpy moves them with wide stores (424 bytes, an even word count).
  for (let i = 0; i < words.length; i += 2) yield c.stpw(buf + 4 * i, words[i]!, words[i + 1]!);
  c.trace?.emit(T.MARK, MARK_CRASH_SAVE, cpu);
  return 0;
}, { size: 96, traced: true });

/**
 * crash_setup_regs(newregs, oldregs): copy oldregs, or capture the caller's
 * own state: x0-x30, sp, pc (a label here), pstate = CurrentEL | SPSel | DAIF.
 */
export function* crash_setup_regs(k: K, newregs: number, oldregs: number): Guest<void> {
  const c = k.c;
  if (oldregs !== 0) {
    for (let i = 0; i < 34; i++) yield c.str64(newregs + 8 * i, yield c.ldr64(oldregs + 8 * i));
    return;
  }
  for (let i = 0; i < 31; i++) yield c.str64(newregs + 8 * i, c.x(i));
  yield c.str64(newregs + PT_REGS.SP, c.sp);
  yield c.str64(newregs + PT_REGS.PC, yield c.adr());
  const daif = yield c.mrs(SYS.DAIF);
  yield c.str64(newregs + PT_REGS.PSTATE, PSR_MODE_EL1H | (daif & PSR_DAIF));
}

/**
 * __crash_kexec(regs) (section 3.3): with kexec_trylock and a loaded crash
 * image: crash_setup_regs, crash_save_vmcoreinfo, machine_crash_shutdown,
 * machine_kexec (no return). Otherwise unlock and return.
 */
export const __crash_kexec = guestFn<K>('__crash_kexec', function* (k, regs) {
  const c = k.c;
  const lock = k.L.g(GV.kexec_lock);
  if ((yield c.cas(lock, 0, 1)) !== 0) return 0;
  if ((yield c.ldr(k.L.g(GV.kexec_crash_image))) !== 0) {
    const sp = c.sp;
    const fixed = sp - PT_REGS.SIZE;
    yield c.setSp(fixed);
    yield* crash_setup_regs(k, fixed, regs);
    yield c.str64(k.L.g(GV.vmcoreinfo_crashtime), yield c.now()); // crash_save_vmcoreinfo
    yield k.call('machine_crash_shutdown', fixed);
    yield k.call('machine_kexec');
    yield c.setSp(sp);
  }
  yield c.str(lock, 0);
  return 0;
}, { size: 96, traced: true });

/** crash_kexec(regs) (from die): only the CPU that wins panic_cpu captures. */
export const crash_kexec = guestFn<K>('crash_kexec', function* (k, regs) {
  if ((yield* panic_try_start(k)) === PANIC_CPU_INVALID) {
    yield k.call('__crash_kexec', regs);
    yield* panic_reset(k);
  }
  return 0;
}, { size: 16 });

/**
 * machine_crash_shutdown(regs): IRQs off, stop the others (crash path), save
 * this CPU's note, end the interrupts in progress, "Starting crashdump kernel...".
 */
export const machine_crash_shutdown = guestFn<K>('machine_crash_shutdown', function* (k, regs) {
  const c = k.c;
  yield* local_irq_disable(k);
  yield k.call('crash_smp_send_stop');
  yield k.call('crash_save_cpu', regs, k.cpu);
  // machine_kexec_mask_interrupts: EOI what is in progress on this CPU (its active private interrupts).
  const active = yield c.ldr(GICR_BASE + k.cpu * GICR_STRIDE + GICR_SGI_OFFSET + 0x300);
  for (let i = 0; i < 32; i++) if (active & (1 << i)) yield c.msr(SYS.ICC_EOIR1_EL1, i);
  yield* pr_info(k, 'Starting crashdump kernel...');
  return 0;
}, { size: 64, traced: true });

/**
 * machine_kexec(image) for a crash image: WARN when CPUs may be stale
 * (cpus_are_stuck_in_kernel: no way to kill CPUs without CONFIG_HOTPLUG_CPU;
 * or smp_crash_stop_failed), "Bye!", DAIF masked, cpu_soft_restart into the
 * capture kernel: the model's run ends here with outcome kexec.
 */
export const machine_kexec = guestFn<K>('machine_kexec', function* (k) {
  const c = k.c;
  const stuck = !k.cfg.hotplugCpu;
  if (stuck || (yield* smp_crash_stop_failed(k))) {
    yield* pr_warn(k, '------------[ cut here ]------------');
    yield* pr_warn(k, 'Some CPUs may be stale, kdump will be unreliable.');
    const pc = yield c.adr();
    yield* pr_warn(k, `WARNING: CPU: ${k.cpu} PID: ${yield* current_pid(k)} at ${c.image.symbolize(pc)}`);
  }
  yield* pr_info(k, 'Bye!');
  yield c.daifSet(0xf);
  yield c.halt('kexec');
  return 0;
}, { size: 64, traced: true });

export const CRASH_FUNCTIONS = [crash_save_cpu, __crash_kexec, crash_kexec, machine_crash_shutdown, machine_kexec];
void PCPU;

/**
 * arch/arm64/mm/extable.c and arch/arm64/lib/copy_from_user.S, as far as a
 * kernel thread's user access that faults needs them: the faulting load
 * has an exception-table entry (ex_handler_uaccess_err_zero), so
 * __do_kernel_fault fixes the fault up instead of dying: the access yields
 * zero and execution continues after it (the model's fixup address is the
 * next instruction, where the copy routine notices the failure).
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import { PCPU } from './layout.js';
import type { K } from './kernel.js';

/** A user address no task of the model maps: every access to it faults (EL1 data abort, translation fault). */
export const USER_ADDR = 0x1000_0000;

/** Functions whose loads and stores have exception-table entries (uaccess routines). */
export const EXTABLE_FUNCTIONS = new Set(['__arch_copy_from_user']);

/**
 * __arch_copy_from_user(to, from, n) reduced to one word: a load from the
 * user address; a fault is fixed up (the load yields 0) and the routine
 * returns the number of bytes not copied.
 */
export const __arch_copy_from_user = guestFn<K>('__arch_copy_from_user', function* (k, uaddr) {
  const c = k.c;
  const before = yield c.ldr(k.L.pcpu(k.cpu, PCPU.uaccess_faults));
  yield c.ldr(uaddr); // USER(9998f, ldtr ...): may fault; the fixup resumes after it with 0
  const after = yield c.ldr(k.L.pcpu(k.cpu, PCPU.uaccess_faults));
  return after !== before ? 4 : 0;
}, { size: 16 });

/**
 * fixup_exception(regs): if the faulting PC is in a routine with an
 * exception-table entry, count the fault and continue after the faulting
 * instruction (regs->pc += 4). Returns whether it fixed the fault up.
 */
export function* fixup_exception(k: K, regs: number): Guest<boolean> {
  const c = k.c;
  const pc = yield c.ldr64(regs + PT_REGS.PC);
  const f = c.image.fnAt(pc);
  if (!f || !EXTABLE_FUNCTIONS.has(f.name)) return false;
  yield c.ldadd(k.L.pcpu(k.cpu, PCPU.uaccess_faults), 1);
  yield c.str64(regs + PT_REGS.PC, pc + 4);
  return true;
}

export const EXTABLE_GUEST_FUNCTIONS = [__arch_copy_from_user];

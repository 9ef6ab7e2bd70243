/**
 * The arch side of SDEI dispatch: __sdei_asm_handler (arch/arm64/kernel/
 * entry.S) and __sdei_handler / do_sdei_event (arch/arm64/kernel/sdei.c,
 * entry-common.c); reference linux-stop-paths.md sections 7.3-7.5.
 */
import { guestFn } from '../../cpus/isa.js';
import { SYS } from '../../cpus/sysregs.js';
import { PT_REGS } from '../../cpus/ptregs.js';
import { PSR_I, PSR_MODE_MASK } from '../../cpus/pstate.js';
import { PCPU, SDEI_EV } from './layout.js';
import { pr_err, pr_warn } from './printk.js';
import { irqentry_nmi_enter, irqentry_nmi_exit } from './entry-common.js';
import { SDEI_FN, SDEI_EV_HANDLED, SDEI_EV_FAILED } from './arm_sdei.js';
import type { K } from './kernel.js';

/**
 * __sdei_asm_handler(event, arg, pc, pstate), entered by the firmware at EL1h
 * with DAIF masked: 1. save x2/x3 as pc/pstate and x4-x29, lr, sp into
 * arg->interrupted_regs; 2. record arg as this CPU's active event; 3. switch to
 * the per-CPU SDEI stack; 5. __sdei_handler; 6. restore, choose COMPLETE or
 * COMPLETE_AND_RESUME from the result; 7. clear the active event; 8. SMC.
 */
export const __sdei_asm_handler = guestFn<K>('__sdei_asm_handler', function* (k, event, arg, pc, pstate) {
  const c = k.c;
  const regs = arg + SDEI_EV.interrupted_regs;
  yield c.str64(regs + PT_REGS.PC, pc);
  yield c.str64(regs + PT_REGS.PSTATE, pstate);
  for (let i = 4; i < 31; i++) yield c.str64(regs + 8 * i, c.x(i));
  const sp = c.sp;
  yield c.str64(regs + PT_REGS.SP, sp);
  const critical = (yield c.ldr(arg + SDEI_EV.priority)) !== 0;
  const active = k.L.pcpu(k.cpu, critical ? PCPU.sdei_active_critical_event : PCPU.sdei_active_normal_event);
  yield c.str(active, arg);
  yield c.setSp(k.L.sdeiStackTop(k.cpu, critical));
  const ret = yield k.call('__sdei_handler', regs, arg);
  for (let i = 4; i < 31; i++) yield c.mov(i, yield c.ldr64(regs + 8 * i));
  yield c.setSp(sp);
  yield c.str(active, 0);
  void event;
  yield c.smc(ret <= SDEI_EV_FAILED ? SDEI_FN.EVENT_COMPLETE : SDEI_FN.EVENT_COMPLETE_AND_RESUME, ret);
  throw c.fault('SDEI_EVENT_COMPLETE returned to __sdei_asm_handler', 'guest-code');
}, { size: 96, traced: true });

/** __sdei_handler: SDEI handlers run in NMI context (irqentry_nmi_enter/exit around do_sdei_event). */
export const __sdei_handler = guestFn<K>('__sdei_handler', function* (k, regs, arg) {
  const state = yield* irqentry_nmi_enter(k, regs);
  const ret = yield k.call('do_sdei_event', regs, arg);
  yield* irqentry_nmi_exit(k, regs, state);
  return ret;
}, { size: 24 });

/**
 * do_sdei_event(regs, arg): fetch the interrupted x0-x3 with EVENT_CONTEXT,
 * run the callback, then resume exactly (interrupted kernel code with IRQs
 * masked) or through the IRQ vector (VBAR + 0x280) so pending IRQs are taken.
 */
export const do_sdei_event = guestFn<K>('do_sdei_event', function* (k, regs, arg) {
  const c = k.c;
  const elr = yield c.mrs(SYS.ELR_EL1);
  const vbar = yield c.mrs(SYS.VBAR_EL1);
  for (let i = 0; i < 4; i++) yield c.str64(regs + 8 * i, yield c.smc(SDEI_FN.EVENT_CONTEXT, i));
  const cb = yield c.ldr(arg + SDEI_EV.callback);
  const event = yield c.ldr(arg + SDEI_EV.event_num);
  const fn = c.image.entryAt(cb);
  if (!fn) throw c.fault(`SDEI callback 0x${cb.toString(16)} is not a function`, 'guest-code');
  const err = yield c.bl(fn, event, regs, 0);
  if (err !== 0) {
    yield* pr_err(k, `sdei: event ${event} on CPU ${k.cpu} failed with error: ${err}`);
    return SDEI_EV_FAILED;
  }
  if ((yield c.mrs(SYS.ELR_EL1)) !== elr) yield* pr_warn(k, 'sdei: unsafe: exception during handler');
  const pstate = yield c.ldr(regs + PT_REGS.PSTATE);
  const mode = pstate & PSR_MODE_MASK;
  const kernelMode = mode === 5; // EL1h
  if (kernelMode && (pstate & PSR_I)) return SDEI_EV_HANDLED;
  if (kernelMode) return vbar + 0x280;
  return vbar + 0x480;
}, { size: 64 });

export const SDEI_ARCH_FUNCTIONS = [__sdei_asm_handler, __sdei_handler, do_sdei_event];

/**
 * drivers/firmware/arm_sdei.c (reference linux-stop-paths.md section 7.2,
 * 7.6): probe with a platform reset, private-event registration on every CPU,
 * PE mask/unmask, the hotplug callbacks, the reboot notifier, and
 * sdei_handler_abort for crash_smp_send_stop.
 */
import { guestFn, type Guest } from '../../cpus/isa.js';
import { GV, PCPU, SDEI_EV } from './layout.js';
import { pr_err, pr_warn, pr_info } from './printk.js';
import { on_each_cpu } from './smp.js';
import type { K } from './kernel.js';
import { SDEI } from '../../firmware/sdei/main.js';

/** The SDEI function IDs: the firmware's table (one ABI for both sides of the SMC). */
export const SDEI_FN = SDEI;

export const SDEI_EV_HANDLED = 0;
export const SDEI_EV_FAILED = 1;

/** sdei_to_linux_errno (include/uapi/linux/arm_sdei.h error values to -errno). */
export function sdei_to_linux_errno(v: number): number {
  switch (v) {
    case 0: return 0;
    case -1: return -95; // -EOPNOTSUPP
    case -2: return -22; // -EINVAL
    case -3: return -1; // -EPERM
    case -5: return -115; // -EINPROGRESS
    case -10: return -12; // -ENOMEM
    default: return -5; // -EIO
  }
}

/** invoke_sdei_fn: -EIO without touching the firmware when the interface is absent or broken. */
export function* sdei_call(k: K, fid: number, a1?: number, a2?: number, a3?: number, a4?: number, a5?: number): Guest<number> {
  if ((yield k.c.ldr(k.L.g(GV.sdei_present))) === 0) return -5;
  return sdei_to_linux_errno(yield k.c.smc(fid, a1, a2, a3, a4, a5));
}

/**
 * sdei_probe (arch_initcall, after SMP bring-up): VERSION (major must be 1),
 * platform reset (PRIVATE_RESET on every CPU, then SHARED_RESET), then the
 * hotplug state whose startup callback unmasks each online CPU.
 */
export const sdei_init = guestFn<K>('sdei_init', function* (k) {
  const c = k.c;
  if (!k.cfg.sdeiDriver) return 0;
  const ver = yield c.smc(SDEI_FN.VERSION);
  if (ver < 0) {
    yield* pr_err(k, `sdei: Failed to get SDEI version: ${sdei_to_linux_errno(ver)}`);
    return 0;
  }
  if (Math.floor(ver / 2 ** 48) !== 1) {
    yield* pr_err(k, 'sdei: Unsupported SDEI version');
    return 0;
  }
  yield c.str(k.L.g(GV.sdei_present), 1);
  yield k.call('sdei_platform_reset');
  yield* on_each_cpu(k, 'sdei_cpuhp_up', 0);
  return 0;
}, { size: 48 });

export const sdei_platform_reset = guestFn<K>('sdei_platform_reset', function* (k) {
  yield* on_each_cpu(k, '_ipi_private_reset', 0);
  const err = yield* sdei_call(k, SDEI_FN.SHARED_RESET);
  if (err) yield* pr_err(k, `sdei: Failed to reset platform: ${err}`);
  return 0;
}, { size: 16 });

export const _ipi_private_reset = guestFn<K>('_ipi_private_reset', function* (k) {
  const err = yield* sdei_call(k, SDEI_FN.PRIVATE_RESET);
  if (err) yield* pr_warn(k, `sdei: failed to reset CPU[${k.cpu}]: ${err}`);
  return 0;
}, { size: 12 });

/** sdei_mask_local_cpu: PE_MASK; an error other than -EIO prints once. */
export const sdei_mask_local_cpu = guestFn<K>('sdei_mask_local_cpu', function* (k) {
  const err = yield* sdei_call(k, SDEI_FN.PE_MASK);
  if (err < 0 && err !== -5) yield* pr_warn(k, `sdei: failed to mask CPU[${k.cpu}]: ${err}`);
  return err;
}, { size: 16, traced: true });

export const sdei_unmask_local_cpu = guestFn<K>('sdei_unmask_local_cpu', function* (k) {
  const err = yield* sdei_call(k, SDEI_FN.PE_UNMASK);
  if (err < 0 && err !== -5) yield* pr_warn(k, `sdei: failed to unmask CPU[${k.cpu}]: ${err}`);
  return err;
}, { size: 16 });

/** sdei_cpuhp_up: re-register and re-enable the private events locally, then unmask. */
export const sdei_cpuhp_up = guestFn<K>('sdei_cpuhp_up', function* (k) {
  if ((yield k.c.ldr(k.L.g(GV.sdei_registered_event_0))) !== 0) {
    yield k.call('_local_event_register', 0);
    yield k.call('_local_event_enable', 0);
  }
  yield k.call('sdei_unmask_local_cpu');
  return 0;
}, { size: 16 });

/** sdei_cpuhp_down: unregister the private events locally, then mask. */
export const sdei_cpuhp_down = guestFn<K>('sdei_cpuhp_down', function* (k) {
  if ((yield k.c.ldr(k.L.g(GV.sdei_registered_event_0))) !== 0) yield* sdei_call(k, SDEI_FN.EVENT_UNREGISTER, 0);
  yield k.call('sdei_mask_local_cpu');
  return 0;
}, { size: 16 });

/**
 * _local_event_register(event): fill this CPU's sdei_registered_event (the
 * callback and argument the NMI driver gave) and REGISTER it with
 * __sdei_asm_handler as the entry point and the struct as the argument.
 */
export const _local_event_register = guestFn<K>('_local_event_register', function* (k, event) {
  const c = k.c;
  const reg = k.L.pcpu(k.cpu, PCPU.sdei_event);
  yield c.str(reg + SDEI_EV.callback, k.addr('sdei_nmi_handler'));
  yield c.str(reg + SDEI_EV.event_num, event);
  yield c.str(reg + SDEI_EV.priority, 0);
  const err = yield* sdei_call(k, SDEI_FN.EVENT_REGISTER, event, k.addr('__sdei_asm_handler'), reg, 0, 0);
  if (err) yield* pr_warn(k, `sdei: Failed to register event ${event}: ${err}`);
  return err;
}, { size: 24 });

export const _local_event_enable = guestFn<K>('_local_event_enable', function* (k, event) {
  const err = yield* sdei_call(k, SDEI_FN.EVENT_ENABLE, event);
  if (err) yield* pr_warn(k, `sdei: Failed to enable event ${event}: ${err}`);
  return err;
}, { size: 12 });

/** sdei_event_register(0, cb, arg) for a private event: REGISTER on every online CPU (on_each_cpu). */
export function* sdei_event_register_private(k: K, event: number): Guest<number> {
  yield* on_each_cpu(k, '_local_event_register', event);
  yield k.c.str(k.L.g(GV.sdei_registered_event_0), 1);
  return 0;
}

export function* sdei_event_enable_private(k: K, event: number): Guest<number> {
  yield* on_each_cpu(k, '_local_event_enable', event);
  return 0;
}

/**
 * sdei_reboot_notifier (section 7.6): remove the hotplug state (its teardown
 * runs on every online CPU: unregister and mask), then the platform reset.
 * It runs from kernel_restart's notifier chain, before machine_restart's
 * smp_send_stop; sdei_nmi_available stays true (race R14).
 */
export const sdei_reboot_notifier = guestFn<K>('sdei_reboot_notifier', function* (k) {
  yield* on_each_cpu(k, 'sdei_cpuhp_down', 0);
  yield k.call('sdei_platform_reset');
  return 0;
}, { size: 16, traced: true });

/**
 * sdei_handler_abort() (from crash_smp_send_stop on the crashing CPU): finish
 * an SDEI handler active on this CPU with COMPLETE_AND_RESUME to the
 * instruction after the SMC, so execution carries on in the same context.
 */
export const sdei_handler_abort = guestFn<K>('sdei_handler_abort', function* (k) {
  const c = k.c;
  for (const [slot, kind] of [[PCPU.sdei_active_critical_event, 'critical'], [PCPU.sdei_active_normal_event, 'normal']] as const) {
    const a = k.L.pcpu(k.cpu, slot);
    if ((yield c.ldr(a)) === 0) continue;
    yield* pr_warn(k, `still in SDEI ${kind} event context, attempting to finish handler.`);
    const pc = yield c.adr(); // __sdei_handler_abort: resume address = just after the SMC
    yield c.smc(SDEI_FN.EVENT_COMPLETE_AND_RESUME, pc + 8);
    yield c.str(a, 0);
  }
  return 0;
}, { size: 32, traced: true });

export const ARM_SDEI_FUNCTIONS = [
  sdei_init, sdei_platform_reset, _ipi_private_reset, sdei_mask_local_cpu, sdei_unmask_local_cpu, sdei_cpuhp_up,
  sdei_cpuhp_down, _local_event_register, _local_event_enable, sdei_reboot_notifier, sdei_handler_abort,
];
void pr_info;

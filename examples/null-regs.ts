/**
 * A user variant that re-introduces the sdei-v3 bug on top of sdei-v4: the
 * self-stop path (panic_smp_self_stop -> arm64_nmi_cpu_stop(NULL, false))
 * saves the CPU's registers whenever crash_stop is set, regs or not, so a
 * panic loser that self-stops after the winner began the crash stop calls
 * crash_save_cpu(NULL, cpu) and faults. examples/null-regs.test.ts finds it
 * with a stress campaign.
 */
import { defineVariant, guestFn, kernel, type K } from 'smpstop';

const { GV, local_daif_mask, set_cpu_online } = kernel;

/** arm64_nmi_cpu_stop(regs, die_on_crash) as in sdei-v4, without its `&& regs`. */
export const arm64_nmi_cpu_stop = guestFn<K>('arm64_nmi_cpu_stop', function* (k, regs, dieOnCrash) {
  const cpu = k.cpu;
  const crash = (yield k.c.ldr(k.L.g(GV.crash_stop))) !== 0;
  yield* local_daif_mask(k);
  if (crash) yield k.call('crash_save_cpu', regs, cpu); // the bug: regs is NULL on the self-stop path
  yield* set_cpu_online(k, cpu, false);
  yield k.call('sdei_mask_local_cpu');
  if (crash && dieOnCrash) yield k.call('__cpu_try_die', cpu);
  yield k.call('cpu_park_loop');
  return 0;
}, { size: 32, traced: true });

export const NULL_REGS = defineVariant({
  name: 'v4-null-regs',
  base: 'sdei-v4',
  description: 'sdei-v4 with the v3 crash save back: crash_save_cpu(NULL) on the self-stop path',
  functions: [arm64_nmi_cpu_stop],
});

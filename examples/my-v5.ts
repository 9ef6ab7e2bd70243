/**
 * A user kernel variant: "v5" of the SDEI stop series, proposing to try the
 * SDEI rung before the pseudo-NMI rung (SDEI reaches every CPU the pseudo-NMI
 * reaches, and more). It is `final` with one function replaced,
 * smp_send_stop, written with the same kernel helpers as the built-in
 * variants. Compile it and load it by path:
 *
 *     npx smpstop run --kernel-module ./my-v5.js --kernel my-v5 --pseudo-nmi
 *
 * or from the API: runScenario({ kernel: { variant: 'my-v5' } }, { modules: ['./my-v5.js'] }).
 */
import { defineVariant, guestFn, kernel, type K } from 'smpstop';

const {
  GV, SYSTEM, IPI, USEC_PER_SEC, USEC_PER_MSEC, num_other_online_cpus, snapshot_others, smp_cross_call, stop_wait,
  ipi_should_be_nmi, pr_crit, pr_info, pr_warn, cpulistString,
} = kernel;

/** smp_send_stop(): rung 1 IPI (1 s), then SDEI (100 ms), then pseudo-NMI (10 ms), then the failure warning. */
export const smp_send_stop = guestFn<K>('smp_send_stop', function* (k) {
  const c = k.c;
  if ((yield* num_other_online_cpus(k)) !== 0) {
    const old = yield c.ldset(k.L.g(GV.stop_in_progress), 1); // test_and_set_bit(0, &stop_in_progress)
    if (old & 1) return 0;
    let mask = yield* snapshot_others(k, GV.stop_mask);
    if ((yield c.ldr(k.L.g(GV.system_state))) <= SYSTEM.RUNNING) yield* pr_crit(k, 'SMP: stopping secondary CPUs');
    yield* smp_cross_call(k, mask, IPI.CPU_STOP);
    yield* stop_wait(k, USEC_PER_SEC);
    // v5: the SDEI rung comes second.
    if ((yield* num_other_online_cpus(k)) !== 0 && (yield k.call('sdei_nmi_active')) !== 0) {
      yield c.dmb(); // smp_rmb()
      mask = yield* snapshot_others(k, GV.stop_mask);
      yield* pr_info(k, `SMP: retry stop with SDEI NMI for CPUs ${cpulistString(mask)}`);
      yield k.call('sdei_nmi_stop_cpus', k.L.g(GV.stop_mask));
      yield* stop_wait(k, USEC_PER_MSEC * 100);
    }
    if ((yield* num_other_online_cpus(k)) !== 0 && ipi_should_be_nmi(k, IPI.CPU_STOP_NMI)) {
      yield c.dmb();
      mask = yield* snapshot_others(k, GV.stop_mask);
      yield* pr_info(k, `SMP: retry stop with NMI for CPUs ${cpulistString(mask)}`);
      yield* smp_cross_call(k, mask, IPI.CPU_STOP_NMI);
      yield* stop_wait(k, USEC_PER_MSEC * 10);
    }
    if ((yield* num_other_online_cpus(k)) !== 0) {
      yield c.dmb();
      mask = yield* snapshot_others(k, GV.stop_mask);
      yield* pr_warn(k, `SMP: failed to stop secondary CPUs ${cpulistString(mask)}`);
    }
  }
  yield k.call('sdei_mask_local_cpu'); // skip_ipi:
  return 0;
}, { size: 160, traced: true });

export const MY_V5 = defineVariant({
  name: 'my-v5',
  base: 'final',
  description: 'final with the SDEI rung before the pseudo-NMI rung',
  functions: [smp_send_stop],
});

/**
 * A user fault: guest code a scenario starts on a CPU at a guest time
 * (`faults: [{ cpu: 2, fault: 'log', atUs: 50, arg: 7 }]`, or the CLI's
 * `--fault 2:log=7@50`). This one prints a kernel log line and returns, so
 * the CPU carries on with the rest of its plan.
 */
import { defineFault, guestFn, kernel, type K } from 'smpstop';

export const LOG_FAULT = defineFault({
  name: 'log',
  description: 'prints "fault: log <arg>" to the kernel log and returns',
  fn: guestFn<K>('fault_log', function* (k, arg) {
    yield* kernel.pr_info(k, `fault: log ${arg}`);
    return 0;
  }),
});

/**
 * A user checker: a CPU that entered a stop path twice. A stop that lands on
 * a CPU already inside another (R2: the SDEI stop arriving while the CPU is
 * still in the IPI stop, because it accepted the IPI just before the rung-1
 * deadline) saves its crash note again, from a context inside the stop path.
 */
import { registerChecker, type Violation } from 'smpstop';

export const STOPPED_TWICE = registerChecker({
  id: 'stopped-twice',
  description: 'a CPU entered a stop path a second time while it was already stopping (e.g. ipi then sdei)',
  check({ facts }) {
    const out: Violation[] = [];
    for (const f of facts.cpus) {
      if (f.stops.length < 2) continue;
      const second = f.stops[1]!;
      out.push({
        id: 'stopped-twice',
        cpu: f.cpu,
        time: second.time,
        message: `CPU ${f.cpu} was stopped ${f.stops.length} times: ${f.stops.map((s) => `${s.how} (${s.fn})`).join(', then ')}`,
      });
    }
    return out;
  },
});

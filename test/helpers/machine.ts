/** Helpers for machine-level tests: they import the compiled package, as every worker does. */
import { runMachine, type MachineResult } from '../../dist/src/machine/machine.js';
import type { MachineConfig, EngineName } from '../../dist/src/machine/config.js';
import { distFile } from '../../dist/src/paths.js';
import { T, TRACE_NAMES } from '../../dist/src/trace/events.js';
import type { TraceRecord } from '../../dist/src/trace/ring.js';

export { runMachine, T, TRACE_NAMES };
export type { MachineResult, MachineConfig, EngineName, TraceRecord };

export const MACHINE_TESTS = distFile('test/programs/machine-tests.ts');

export function machineTest(test: string, cpus: number, engine: EngineName, seed = 1, extra: Partial<MachineConfig> & { options?: Record<string, unknown> } = {}): Promise<MachineResult> {
  const { options, ...rest } = extra;
  return runMachine({
    cpus,
    engine,
    seed,
    program: { module: MACHINE_TESTS, options: { test, ...(options ?? {}) } },
    firmware: { sdei: true, quirks: [] },
    limits: { hostTimeoutMs: 20_000 },
    ...rest,
  });
}

/** A canonical text form of a trace, for byte-for-byte comparisons. */
export function traceText(rs: readonly TraceRecord[]): string {
  return rs.map((r) => `${r.cpu} ${r.seq} ${r.time} ${TRACE_NAMES[r.kind] ?? r.kind} ${r.a} ${r.b}`).join('\n');
}

/**
 * Guest programs for the firmware tests (test/firmware.test.ts; issue 3:
 * SMCCC, PSCI 1.1, SDEI 1.1 and the firmware quirks).
 *
 * One program, `script`, covers the cases: each CPU runs a list of steps
 * (fw-runtime.ts), and the SDEI handler, the IRQ hook and the CPU_ON /
 * CPU_SUSPEND re-entry points run their own configured steps. A case is
 * therefore data: the test builds the steps, runs the machine and compares
 * the recorded x0 of every SMC with the return code the reference gives.
 */
import type { GuestProgram, ProgramGeometry } from '../../src/machine/program.js';
import { testProgram, type TCtx } from './runtime.js';
import { FW_FUNCTIONS, fwBase, fwBytes, scriptMain, type FwOptions } from './fw-runtime.js';

export * from './fw-runtime.js';

/** A firmware-test program; `fwBase` is where its results are (fw-runtime.ts FW). */
export interface FwProgram extends GuestProgram<TCtx> {
  readonly fwBase: number;
}

export const MAX_FW_CPUS = 16;

export default function fwTest(opts: FwOptions, geometry: ProgramGeometry): FwProgram {
  if (opts.test !== 'script') throw new Error(`unknown firmware test '${String(opts.test)}'`);
  if (geometry.ncpus > MAX_FW_CPUS) throw new Error(`firmware tests run on at most ${MAX_FW_CPUS} CPUs`);
  const prog = testProgram(opts, geometry.ncpus, scriptMain, FW_FUNCTIONS);
  return { ...prog, ramBytes: prog.ramBytes + fwBytes(geometry.ncpus), fwBase: fwBase(prog.ramBytes) };
}

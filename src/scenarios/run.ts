/**
 * Running a scenario: validate it, build the machine configuration (the
 * kernel model as the guest program), run it in either engine, analyse the
 * trace and memory, run the checkers, and return the result.
 */
import { parseScenario, type Scenario, type ScenarioInput } from './schema.js';
import { runMachine, type MachineResult } from '../machine/machine.js';
import { kernelProgramRef, type KernelProgram } from '../kernel/program.js';
import type { KernelConfig } from '../kernel/config.js';
import { analyse, type RunFacts } from '../check/analysis.js';
import { runCheckers } from '../check/checkers.js';
import { entryRunStats } from '../check/entry-checkers.js';
import { cpuResults, outcomeOf, violationResults, toUs, type RunResult } from '../check/result.js';
import { DEFAULT_LIMITS, type EngineName, type MachineConfig } from '../machine/config.js';
import type { SchedulerSpec } from '../machine/scheduler.js';
import '../kernel/variants/index.js';

/** How to run a scenario: engine, seed, scheduler, user modules, checkers, trace size. */
export interface RunOptions {
  readonly engine?: EngineName;
  readonly seed?: number;
  readonly scheduler?: SchedulerSpec;
  /** Trace records kept per CPU (default 4096). */
  readonly traceRecords?: number;
  /** Modules defining user kernel variants, checkers or faults (loaded here and in every CPU worker). */
  readonly modules?: readonly string[];
  /** Only these checkers (default: all registered). */
  readonly checkers?: readonly string[];
  /** Threads engine: guest ns per host ns while some CPU runs (default 1). */
  readonly timeScale?: number;
}

/** The detailed outcome of a run: the serialisable result plus the machine state behind it. */
export interface RunDetails {
  readonly result: RunResult;
  readonly machine: MachineResult;
  readonly program: KernelProgram;
  readonly facts: RunFacts;
}

export function machineConfigFor(s: Scenario, o: RunOptions): MachineConfig {
  return {
    cpus: s.cpus,
    engine: o.engine ?? 'sim',
    seed: o.seed ?? 1,
    ...(o.scheduler ? { scheduler: o.scheduler } : {}),
    program: kernelProgramRef({
      kernel: s.kernel as KernelConfig,
      sdeiFirmware: s.firmware.sdei,
      plan: { workload: s.workload, faults: s.faults as never, triggers: s.triggers as never, ...(s.entryTest ? { entryTest: s.entryTest as never } : {}) },
      ...(o.modules?.length ? { modules: o.modules } : {}),
    }),
    firmware: { sdei: s.firmware.sdei, quirks: s.firmware.quirks as never },
    priBits: s.gic.priorityBits,
    limits: {
      guestTimeNs: s.limits.guestTimeMs !== undefined ? s.limits.guestTimeMs * 1e6 : DEFAULT_LIMITS.guestTimeNs,
      maxInstructions: s.limits.maxInstructions ?? DEFAULT_LIMITS.maxInstructions,
      hostTimeoutMs: s.limits.hostTimeoutMs ?? DEFAULT_LIMITS.hostTimeoutMs,
    },
    traceRecords: o.traceRecords ?? 4096,
    ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
  };
}

/** The `smpstop run` command line that replays a run of `s` with these options. */
export function replayCommand(s: Scenario, o: RunOptions): string {
  const parts = ['smpstop run', `--engine ${o.engine ?? 'sim'}`, `--seed ${o.seed ?? 1}`];
  if (o.scheduler && o.scheduler.kind !== 'random') parts.push(`--scheduler ${o.scheduler.kind}${o.scheduler.depth ? `:${o.scheduler.depth}` : ''}`);
  for (const m of o.modules ?? []) parts.push(`--kernel-module ${m}`);
  parts.push(`--scenario '${JSON.stringify(s)}'`);
  return parts.join(' ');
}

export async function runScenarioDetailed(input: ScenarioInput | Scenario, o: RunOptions = {}): Promise<RunDetails> {
  const s = parseScenario(input);
  const machine = await runMachine(machineConfigFor(s, o));
  const program = machine.program as KernelProgram;
  const facts = analyse(machine, program);
  const engine = o.engine ?? 'sim';
  const violations = runCheckers({ facts, machine, program, engine, symbolize: (pc) => machine.image.symbolize(pc) }, o.checkers);
  const { outcome, reason } = outcomeOf(machine);
  const result: RunResult = {
    scenario: s,
    seed: o.seed ?? 1,
    engine,
    outcome,
    ...(reason ? { reason } : {}),
    log: facts.log.map((l) => ({ timeUs: toUs(l.time), cpu: l.cpu, level: l.level, text: l.text })),
    failedToStop: facts.failedToStop,
    cpus: cpuResults(machine, facts),
    violations: violationResults(violations),
    guestTimeUs: toUs(machine.guestTimeNs),
    hostMs: Math.round(machine.hostMs * 1000) / 1000,
    replay: replayCommand(s, o),
    ...(machine.fault ? { fault: { cpu: machine.fault.cpu, message: machine.fault.message, stack: machine.fault.stack } } : {}),
    ...(s.entryTest || s.kernel.irqPipeline ? { entry: entryRunStats(machine, program, s.kernel.irqPipeline) } : {}),
  };
  return { result, machine, program, facts };
}

export async function runScenario(input: ScenarioInput | Scenario, o: RunOptions = {}): Promise<RunResult> {
  const d = await runScenarioDetailed(input, o);
  // The result is plain data: nothing reads this machine again (MachineShared.recycle: its buffers serve the next run).
  if (!d.machine.fault) d.machine.shared.recycle();
  return d.result;
}

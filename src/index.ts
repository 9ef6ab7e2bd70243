/**
 * smpstop's library API: `import { ... } from 'smpstop'`.
 *
 * Build and validate scenarios (the JSON format of `smpstop run --scenario`),
 * run them in either engine, run stress campaigns, replay and shrink
 * failures, read results (the shape `smpstop run --json` prints), write
 * Perfetto traces and vmcores; and extend the model: kernel variants that
 * override guest functions by name, checkers and faults, registered from a
 * module that smpstop loads in every thread that runs a machine.
 *
 * Everything not exported here is internal and may change without notice.
 */
import { parseScenario as parseScenarioImpl, type Scenario, type ScenarioInput } from './scenarios/schema.js';
import { PRESETS, getPreset as getPresetImpl, type Preset } from './scenarios/presets.js';
import { runScenario as runScenarioImpl, runScenarioDetailed as runScenarioDetailedImpl, type RunOptions, type RunDetails } from './scenarios/run.js';
import { formatSummary as formatSummaryImpl } from './cli/summary.js';
import { shutdownThreadsEngine as shutdownThreadsEngineImpl } from './machine/threads.js';
import { defineVariant as defineVariantImpl, listVariants as listVariantsImpl, resolveVariant, type KernelVariant } from './kernel/variants/index.js';
import { registerChecker as registerCheckerImpl, listCheckers as listCheckersImpl, type Checker } from './check/checkers.js';
import { defineFault as defineFaultImpl, listFaults as listFaultsImpl, type FaultDefinition } from './kernel/faults.js';
import { guestFn as guestFnImpl, type Guest, type GuestFunction, type GuestFnOptions } from '../cpus/isa.js';
import type { RunResult } from './check/result.js';
import type { K } from './kernel/kernel.js';

// ---------------------------------------------------------------------------
// Scenarios

export type { Scenario, ScenarioInput, Preset };

/**
 * Validates a scenario document (every field optional, defaults filled in)
 * and returns the normalized scenario. Throws InputError (code `bad-input`)
 * naming the first bad field as a JSON path, e.g.
 * `faults[0].cpu: 9: CPU 9 does not exist (cpus is 4)`.
 */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  return parseScenarioImpl(input, source);
}

/** The named scenarios (`smpstop list presets`), each with its description and scenario document. */
export function listPresets(): readonly Preset[] {
  return PRESETS;
}

/** The preset named `name`, or undefined. */
export function getPreset(name: string): Preset | undefined {
  return getPresetImpl(name);
}

// ---------------------------------------------------------------------------
// Running

export type { RunOptions, RunDetails, RunResult };
export type { RunOutcome, CpuResult, CrashNoteInfo, LogEntry, ViolationResult } from './check/result.js';
export type { EngineName } from './machine/config.js';
export type { SchedulerSpec } from './machine/scheduler.js';
export type { MachineResult, CpuFinalState } from './machine/machine.js';
export type { KernelProgram } from './kernel/program.js';

/**
 * Runs one scenario and returns its result: the same object `smpstop run
 * --json` prints (outcome, kernel log, how each CPU was stopped, crash notes,
 * violations, the replay command). `options.engine` is 'sim' (default: all
 * CPUs in this thread under a seeded scheduler, deterministic per `seed`) or
 * 'threads' (one worker thread per CPU: real concurrency). User variants,
 * checkers and faults come from `options.modules`.
 */
export function runScenario(scenario: ScenarioInput | Scenario, options: RunOptions = {}): Promise<RunResult> {
  return runScenarioImpl(scenario, options);
}

/**
 * Runs one scenario and returns the result together with the machine state
 * behind it (`machine`: final CPU states, guest memory, the trace; `program`:
 * the kernel image and layout; `facts`: what the checkers read), for
 * `writeTrace`, `writeVmcore` and `timeline`.
 */
export function runScenarioDetailed(scenario: ScenarioInput | Scenario, options: RunOptions = {}): Promise<RunDetails> {
  return runScenarioDetailedImpl(scenario, options);
}

/** The human summary `smpstop run` prints for a result (header, outcome, kernel log, CPU table, violations). */
export function formatSummary(result: RunResult, options: { readonly logAll?: boolean } = {}): string {
  return formatSummaryImpl(result, options);
}

/**
 * Stops the threads engine's warm worker pool. Call it once when done with
 * threads-engine runs (e.g. in `afterAll`), or the pool keeps the process alive.
 */
export function shutdownThreadsEngine(): Promise<void> {
  return shutdownThreadsEngineImpl();
}

// ---------------------------------------------------------------------------
// Campaigns, replay, shrink

/**
 * Campaigns: `runCampaign(options)` is `smpstop stress` (see
 * src/api/campaign.ts for every option); `reproduce`, `checkFlaky` and
 * `shrink` are `smpstop replay` on a replay file a campaign wrote.
 */
export { runCampaign, type CampaignOptions, type CampaignResult, type CampaignFailure, type RunRecord, type RunShape, type SchedulerChoice } from './api/campaign.js';
export { reproduce, checkFlaky, shrink, loadReplayFile, writeReplayFile, type ReplayFile, type ReplaySource, type Reproduction, type Flakiness, type ShrinkOptions, type Shrunk } from './api/replay.js';

// ---------------------------------------------------------------------------
// Artifacts

/** A run's Perfetto trace (`writeTrace`), text timeline (`timeline`) and vmcore with gdb symbols (`writeVmcore`). */
export { writeTrace, timeline, writeVmcore, type VmcoreWritten } from './api/artifacts.js';

// ---------------------------------------------------------------------------
// Extending the model: variants, checkers, faults

export type { KernelVariant, Checker, FaultDefinition, Guest, GuestFunction, GuestFnOptions };
export type { K };
export type { CheckContext, Violation } from './check/checkers.js';
export type { RunFacts, CpuFacts, StopEntry, StopHow, LogLine } from './check/analysis.js';

/**
 * Defines a guest function: `name` is the kernel function it models (a
 * variant's function replaces the base's of the same name), `body` a
 * generator in which every `yield` retires one instruction
 * (`yield k.c.ldr(addr)`, `yield k.call('crash_save_cpu', regs, cpu)`), and
 * `options.size` its size in instructions. Kernel functions take `k: K`:
 * `guestFn<K>('arm64_nmi_cpu_stop', function* (k, regs, dieOnCrash) { ... })`.
 */
export function guestFn<Ctx>(name: string, body: (ctx: Ctx, a0: number, a1: number, a2: number, a3: number) => Guest, options: GuestFnOptions = {}): GuestFunction<Ctx> {
  return guestFnImpl(name, body, options);
}

/**
 * Registers a kernel variant: `base` (a built-in or user variant) with
 * `functions` replacing the base's functions of the same name or adding new
 * ones, exactly as the built-in `sdei-v4` is `sdei-v3` with two functions
 * replaced. Call it at the top level of a module and name that module in
 * `RunOptions.modules` / `CampaignOptions.modules` / `--kernel-module`, so
 * every worker thread defines it too; then run it by name (`kernel.variant`).
 */
export function defineVariant(variant: KernelVariant): KernelVariant {
  return defineVariantImpl(variant);
}

/** The kernel variants defined in this thread (built-in, then user-defined), as `smpstop list kernels` shows them. */
export function listVariants(): readonly KernelVariant[] {
  return listVariantsImpl();
}

/**
 * The full function set of a variant (its base chain resolved, later
 * definitions replacing earlier ones), e.g. to wrap a base function:
 * `variantFunctions('sdei-v4').find((f) => f.name === 'crash_save_cpu')`.
 */
export function variantFunctions(name: string): readonly GuestFunction<K>[] {
  return resolveVariant(name);
}

/**
 * Registers a checker: `check(ctx)` judges a finished run (ctx.facts: stops,
 * crash saves, data aborts and the log per CPU; ctx.machine: final state,
 * guest memory via peek32/peek64, the trace) and returns violations
 * `{id, cpu, time (guest ns), message}`. Its id appears in results and in
 * `smpstop list checkers` once its module is loaded.
 */
export function registerChecker(checker: Checker): Checker {
  return registerCheckerImpl(checker);
}

/** The checkers registered in this thread (built-in, then user-defined). */
export function listCheckers(): readonly Checker[] {
  return listCheckersImpl();
}

/**
 * Registers a fault: guest code a scenario starts on a CPU at a guest time
 * (`faults: [{ cpu, fault: name, atUs, arg }]`, CLI `--fault CPU:NAME`). Its
 * function must be named `fault_<name>` (`-` becomes `_`); it runs in the
 * CPU's role task with `arg` in x0 and may return or never return (a wedge).
 */
export function defineFault(fault: FaultDefinition): FaultDefinition {
  return defineFaultImpl(fault);
}

/** The faults defined in this thread. */
export function listFaults(): readonly FaultDefinition[] {
  return listFaultsImpl();
}

/** Imports modules that define variants, checkers or faults into this thread (so the list functions show them); returns their absolute paths. */
export { loadModules } from './api/modules.js';

/**
 * The kernel helpers the built-in variants are written with: data layout
 * (GV, PCPU, TASK, SYSTEM), cpumask, DAIF and IRQ masking, printk, the stop
 * ladder and its pieces, the SDEI NMI driver bodies, crash_setup_regs.
 */
export * as kernel from './api/kernel.js';

// ---------------------------------------------------------------------------
// Errors

/** Every error smpstop raises on purpose is a SmpstopError with a stable `code`; bad input is an InputError (`bad-input`, with `field`). */
export { SmpstopError, InputError, ModelError, type ErrorCode } from './errors.js';

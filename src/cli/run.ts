/**
 * `smpstop run`: one scenario (a preset, a JSON file or inline JSON), adjusted
 * by flags, in either engine; prints a summary or the result as JSON, and
 * optionally writes a Perfetto trace and a vmcore.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { getPreset, PRESETS } from '../scenarios/presets.js';
import { parseScenario, type Scenario, type ScenarioInput } from '../scenarios/schema.js';
import { runScenarioDetailed, type RunOptions, type RunDetails } from '../scenarios/run.js';
import { parseFlags, RunFlagsSchema } from './flags.js';
import { formatSummary } from './summary.js';
import { loadModules } from '../api/modules.js';
import { formatVmcoreSummary, vmcoreSummary } from '../vmcore/vmcore.js';
import { writeTrace, writeVmcore, timeline } from '../api/artifacts.js';
import type { EngineName } from '../machine/config.js';

/** Reads --scenario: inline JSON, a JSON file, or a preset name. */
export function loadScenarioArg(arg: string | undefined): { input: ScenarioInput; source: string } {
  const v = arg ?? 'default';
  if (v.trim().startsWith('{')) {
    try {
      return { input: JSON.parse(v) as ScenarioInput, source: 'inline scenario' };
    } catch (e) {
      throw new InputError('--scenario', `inline JSON does not parse: ${(e as Error).message}`);
    }
  }
  if (existsSync(v)) {
    const text = readFileSync(v, 'utf8');
    if (text.trim() === '') throw new InputError('--scenario', `${v} is empty: expected a JSON scenario`);
    try {
      return { input: JSON.parse(text) as ScenarioInput, source: v };
    } catch (e) {
      throw new InputError('--scenario', `${v} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const p = getPreset(v);
  if (p) return { input: { name: p.name, ...p.scenario }, source: `preset ${p.name}` };
  throw new InputError('--scenario', `'${v}' is neither a file, inline JSON, nor a preset (presets: ${PRESETS.map((x) => x.name).join(', ')})`);
}


export interface RunArgs {
  scenario?: string;
  cpus?: unknown;
  kernel?: string;
  'pseudo-nmi'?: boolean;
  kdump?: boolean;
  sdei?: boolean;
  'hotplug-cpu'?: boolean;
  entry?: string;
  'irq-pipeline'?: boolean;
  'post-notifiers'?: boolean;
  'panic-timeout'?: unknown;
  wedge?: string[];
  trigger?: string[];
  'ipi-delay'?: string[];
  fault?: string[];
  quirk?: string[];
  workload?: unknown[];
  engine: EngineName;
  seed?: unknown;
  scheduler?: string;
  json?: boolean;
  trace?: string;
  vmcore?: string;
  'unique-pids'?: boolean;
  'kernel-module'?: string[];
  'trace-records'?: unknown;
  'guest-time-limit'?: unknown;
  'max-instructions'?: unknown;
  'host-timeout'?: unknown;
  'log-all'?: boolean;
}

/** Applies the flags (validated by RunFlagsSchema) to the scenario document, then validates the result. */
export function scenarioFromArgs(a: RunArgs): Scenario {
  const f = parseFlags(RunFlagsSchema, a);
  const { input, source } = loadScenarioArg(f.scenario);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InputError('--scenario', `${source}: expected a JSON object`);
  const s = structuredClone(input) as Record<string, any>;
  if (f.cpus !== undefined) s.cpus = f.cpus;
  const kernel = { ...(s.kernel ?? {}) };
  if (f.kernel !== undefined) kernel.variant = f.kernel;
  if (f['pseudo-nmi'] !== undefined) kernel.pseudoNmi = f['pseudo-nmi'];
  if (f.kdump !== undefined) kernel.kdump = f.kdump;
  if (f['hotplug-cpu'] !== undefined) kernel.hotplugCpu = f['hotplug-cpu'];
  if (f.entry !== undefined) kernel.entry = f.entry;
  if (f['irq-pipeline'] !== undefined) kernel.irqPipeline = f['irq-pipeline'];
  if (f['post-notifiers'] !== undefined) kernel.crashKexecPostNotifiers = f['post-notifiers'];
  if (f['panic-timeout'] !== undefined) kernel.panicTimeout = f['panic-timeout'];
  s.kernel = kernel;
  const firmware = { ...(s.firmware ?? {}) };
  if (f.sdei !== undefined) {
    firmware.sdei = f.sdei;
    kernel.sdeiDriver = f.sdei;
  }
  if (f.quirk?.length) firmware.quirks = f.quirk;
  s.firmware = firmware;
  const faults = [...(f.wedge ?? []), ...(f['ipi-delay'] ?? []), ...(f.fault ?? [])];
  if (faults.length) s.faults = faults;
  if (f.trigger?.length) s.triggers = f.trigger;
  if (f.workload?.length) s.workload = f.workload;
  const limits = { ...(s.limits ?? {}) };
  if (f['guest-time-limit'] !== undefined) limits.guestTimeMs = f['guest-time-limit'];
  if (f['max-instructions'] !== undefined) limits.maxInstructions = f['max-instructions'];
  if (f['host-timeout'] !== undefined) limits.hostTimeoutMs = f['host-timeout'];
  s.limits = limits;
  return parseScenario(s, source);
}

export function runOptionsFromArgs(a: RunArgs): RunOptions {
  const f = parseFlags(RunFlagsSchema, a);
  return {
    engine: a.engine,
    seed: f.seed ?? 1,
    ...(f.scheduler ? { scheduler: f.scheduler } : {}),
    ...(f['trace-records'] !== undefined ? { traceRecords: f['trace-records'] } : {}),
    ...(f['kernel-module']?.length ? { modules: f['kernel-module'].map((m) => resolve(m)) } : {}),
  };
}

/** Writes the --trace and --vmcore files of a run (through the library's writers); returns lines to print. */
export async function writeArtifacts(d: RunDetails, tracePath: string | undefined, vmcorePath: string | undefined, uniquePids: boolean): Promise<string[]> {
  const lines: string[] = [];
  if (tracePath) {
    const { bytes } = await writeTrace(d, tracePath);
    lines.push(`trace: ${tracePath} (${(bytes / 1024).toFixed(0)} KiB; open it in https://ui.perfetto.dev)`);
  }
  if (vmcorePath) {
    const v = await writeVmcore(d, vmcorePath, { uniquePids });
    const sym = v.symbols!;
    lines.push(`vmcore: ${vmcorePath} (${v.notes.length} NT_PRSTATUS notes${v.missing.length ? `; no note for CPUs ${v.missing.join(', ')}` : ''}), symbols: ${sym}`);
    for (const w of v.warnings) lines.push(`  note: ${w}`);
    const summary = vmcoreSummary(await readFile(vmcorePath));
    for (const l of formatVmcoreSummary(summary, { symbolize: (pc) => d.machine.image.symbolize(pc), cpus: v.notes })) lines.push(`  ${l}`);
    lines.push(`  gdb-multiarch -q -ex 'file ${sym}' -ex 'core-file ${vmcorePath}' -ex 'info threads'`);
  }
  return lines;
}

export async function runCommand(a: RunArgs, print: (s: string) => void): Promise<number> {
  const scenario = scenarioFromArgs(a);
  const opts = runOptionsFromArgs(a);
  await loadModules(opts.modules ?? [], '--kernel-module'); // a missing or broken module is bad input (exit 2)
  const d = await runScenarioDetailed(scenario, opts);
  const artifacts = await writeArtifacts(d, a.trace, a.vmcore, a['unique-pids'] ?? true);
  if (a.json) {
    print(JSON.stringify(d.result, null, 2));
  } else {
    print(formatSummary(d.result, { logAll: a['log-all'] ?? false }));
    if (!a.trace) {
      print('\ntimeline (last events per CPU; --trace FILE for the whole run in Perfetto):');
      print(timeline(d, { last: 12 }));
    }
    for (const l of artifacts) print(l);
  }
  if (d.result.outcome === 'fault') return 3;
  return d.result.violations.length > 0 ? 1 : 0;
}

#!/usr/bin/env node
/**
 * The smpstop command line (yargs). Every bad flag or value gets one line
 * naming the flag and what it accepts, and exit code 2.
 *
 * Exit codes: 0 ran, no violation; 1 violations found; 2 bad input;
 * 3 the run ended with a model fault; 4 internal error.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runCommand, type RunArgs } from './run.js';
import { stressCommand, type StressArgs } from './stress.js';
import { replayCommandLine, type ReplayArgs } from './replay.js';
import { benchCommand } from './bench.js';
import { listText, LIST_TOPICS } from './list.js';
import { loadModules } from '../api/modules.js';
import { shutdownThreadsEngine } from '../machine/threads.js';
import { SmpstopError, InputError } from '../errors.js';
import { flagGiven } from './args.js';
import { parseFlags, BenchFlagsSchema } from './flags.js';
import { readFileSync } from 'node:fs';
import { packageRoot } from '../paths.js';

const VERSION = ((): string => {
  try {
    return (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version?: string }).version ?? '0';
  } catch {
    return '0';
  }
})();

// A closed pipe (`smpstop ... | head`) ends the output, not the process with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const print = (s: string): void => {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
};

let failed = false;
function fail(message: string, code: number): void {
  if (failed) return;
  failed = true;
  process.stderr.write(`smpstop: ${message.split('\n')[0]}\n`);
  process.exitCode = code;
}

async function main(argv: string[]): Promise<void> {
  const y = yargs(argv)
    .scriptName('smpstop')
    .strict()
    .recommendCommands()
    .option('engine', { choices: ['threads', 'sim'] as const, default: 'sim' as const, describe: 'threads: one worker per CPU (real concurrency); sim: one thread, seeded scheduler' })
    .option('seed', { type: 'string', describe: 'seed of the sim scheduler (and of the campaign)' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' })
    .command(
      'run',
      'run one scenario and report how each CPU was stopped',
      (c) => c
        .option('scenario', { type: 'string', describe: 'preset name, JSON file, or inline JSON (default: preset "default")' })
        .option('cpus', { type: 'string', describe: 'number of CPUs (1-512)' })
        .option('kernel', { type: 'string', describe: 'kernel variant (smpstop list kernels)' })
        .option('pseudo-nmi', { type: 'boolean', describe: 'CONFIG_ARM64_PSEUDO_NMI with irqchip.gicv3_pseudo_nmi=1' })
        .option('kdump', { type: 'boolean', describe: 'a crash kernel is loaded (kexec -p)' })
        .option('sdei', { type: 'boolean', describe: 'firmware SDEI and the kernel SDEI driver' })
        .option('hotplug-cpu', { type: 'boolean', describe: 'CONFIG_HOTPLUG_CPU (crash-stopped CPUs call PSCI CPU_OFF)' })
        .option('entry', { type: 'string', describe: 'arm64 exception-exit code: generic-preempt (the bug), own-irq-preemption, split-exit (default)' })
        .option('irq-pipeline', { type: 'boolean', describe: 'interrupt pipeline (Dovetail): virtual local_irq_*, out-of-band stop IPIs' })
        .option('post-notifiers', { type: 'boolean', describe: 'crash_kexec_post_notifiers' })
        .option('panic-timeout', { type: 'string', describe: 'panic=N: >0 reboot after N s, <0 at once, 0 never' })
        .option('wedge', { type: 'string', array: true, describe: 'CPU:MODE[:DURATION_US][@AT_US], repeatable (replaces the scenario faults)' })
        .option('ipi-delay', { type: 'string', array: true, describe: 'CPU:DELAY_US[@AT_US]: the CPU runs with IRQs off for DELAY_US' })
        .option('fault', { type: 'string', array: true, describe: 'CPU:NAME[=ARG][@AT_US]: a user-defined fault from a --kernel-module' })
        .option('trigger', { type: 'string', array: true, describe: 'KIND:CPU[@US] with KIND panic|reboot|poweroff, repeatable (replaces the scenario triggers)' })
        .option('quirk', { type: 'string', array: true, describe: 'firmware quirk, repeatable (smpstop list quirks)' })
        .option('workload', { type: 'string', array: true, describe: 'CPUs that run the spinlock/IRQ/tick workload' })
        .option('scheduler', { type: 'string', describe: 'sim scheduler: random or pct[:DEPTH]' })
        .option('trace', { type: 'string', describe: 'write a Chrome/Perfetto trace of the run to FILE' })
        .option('vmcore', { type: 'string', describe: 'write an ELF vmcore (and FILE.vmlinux symbols) from the crash notes' })
        .option('unique-pids', { type: 'boolean', default: true, describe: 'vmcore: distinct pr_pid per idle CPU so gdb shows one thread each (not kernel behaviour)' })
        .option('kernel-module', { type: 'string', array: true, describe: 'JS module defining kernel variants, checkers or faults' })
        .option('trace-records', { type: 'string', describe: 'trace records kept per CPU (default 4096)' })
        .option('guest-time-limit', { type: 'string', describe: 'guest-time budget in ms (default 60000)' })
        .option('max-instructions', { type: 'string', describe: 'retired-instruction budget (default 200000000)' })
        .option('host-timeout', { type: 'string', describe: 'host-time watchdog in ms (default 60000)' })
        .option('log-all', { type: 'boolean', describe: 'include boot messages in the log' })
        .example('$0 run', 'the default scenario: panic while CPU 1 spins with IRQs off')
        .example('$0 run --kernel base --wedge 1:daif-masked --kdump', 'no SDEI rung: CPU 1 is never stopped')
        .example('$0 run --scenario parallel-panic --kernel sdei-v3 --json', 'the v3 NULL-regs regression, as JSON')
        .example('$0 run --cpus 8 --pseudo-nmi --wedge 3:irqs-off --trigger panic:0@50 --engine threads', 'real concurrency')
        .example('$0 run --scenario preempt-da-masked', 'the arm64 preemption-with-DAIF-masked bug (generic-preempt)')
        .example('$0 run --scenario preempt-da-masked --entry split-exit', 'the same with the final fix: no violation')
        .example('$0 run --scenario my.json --trace run.json --vmcore vmcore', 'write a Perfetto trace and a vmcore'),
      async (a) => {
        process.exitCode = await runCommand(a as unknown as RunArgs, print);
      },
    )
    .command(
      'stress',
      'run a campaign of drawn scenarios; results to a JSONL file, one replay file per failure',
      (c) => c
        .option('cpus', { type: 'string', describe: 'CPU count drawn within MIN..MAX (default 2..8)' })
        .option('kernel', { type: 'string', describe: 'kernel variant(s) to draw from, comma-separated (default final)' })
        .option('entry', { type: 'string', describe: 'arm64 exception-exit code(s) to draw from, comma-separated: generic-preempt, own-irq-preemption, split-exit (default: split-exit)' })
        .option('irq-pipeline', { type: 'boolean', describe: 'every run with the Dovetail interrupt pipeline (no pseudo-NMI then)' })
        .option('quirks', { type: 'boolean', describe: 'draw firmware quirks too' })
        .option('iterations', { type: 'string', describe: `runs 0..N-1 of the campaign (default ${2000})` })
        .option('duration', { type: 'string', describe: 'run for this long instead: 60s, 5m, 2h' })
        .option('jobs', { type: 'string', describe: 'sim machines in parallel (default: host cores; 0: in this thread, for profilers)' })
        .option('scheduler', { type: 'string', describe: 'sim scheduler: random (default), pct or mixed' })
        .option('out', { type: 'string', describe: 'the JSONL result file (default stress-SEED.jsonl)' })
        .option('resume', { type: 'string', describe: 'continue the campaign of this JSONL file, skipping recorded runs' })
        .option('shard', { type: 'string', describe: 'K/N: run only the runs i with i mod N = K-1' })
        .option('force', { type: 'boolean', describe: 'overwrite an existing --out file' })
        .option('progress', { type: 'boolean', default: true, describe: 'show the progress bar (--no-progress: none)' })
        .option('kernel-module', { type: 'string', array: true, describe: 'JS module defining kernel variants, checkers or faults' })
        .example('$0 stress --kernel sdei-v3 --seed 7', '2,000 runs over the v3 series: finds null-deref-in-stop-path')
        .example('$0 stress --kernel final,sdei-v4 --cpus 2..16 --duration 10m --quirks', 'a longer mixed hunt')
        .example('$0 stress --seed 7 --iterations 100000 --shard 3/8', 'the third of eight shards (one per CI job)')
        .example('$0 stress --resume stress-7.jsonl', 'continue an interrupted campaign')
        .example('$0 stress --engine threads --iterations 200', 'real concurrency, one machine at a time'),
      async (a) => {
        const r = await stressCommand(a as unknown as StressArgs, print, `smpstop ${VERSION}`);
        process.exitCode = r.code;
        if (r.abandoned > 0) {
          // A threads run still in flight cannot be cut short: leave it to the exit.
          await shutdownThreadsEngine().catch(() => undefined);
          process.exit(r.code);
        }
      },
    )
    .command(
      'replay <file>',
      're-run a failure from its replay file in the sim engine; --shrink, --check-flaky',
      (c) => c
        .positional('file', { type: 'string', describe: 'a replay file written by smpstop stress (or replay --shrink)' })
        .option('shrink', { type: 'boolean', describe: 'reduce the failure while it persists; write FILE.min.json' })
        .option('budget', { type: 'string', describe: 'sim runs allowed for a search or a shrink (default 100 / 400)' })
        .option('check-flaky', { type: 'string', describe: 're-run K times (sim: K scheduler seeds; threads: K real runs) and report how often it recurs; the engine is the file\'s unless --engine is given' })
        .option('trace', { type: 'string', describe: 'write a Chrome/Perfetto trace of the (reproducing or smallest) run to FILE' })
        .option('vmcore', { type: 'string', describe: 'write an ELF vmcore of that run (and FILE.vmlinux symbols)' })
        .option('unique-pids', { type: 'boolean', default: true, describe: 'vmcore: distinct pr_pid per idle CPU so gdb shows one thread each' })
        .example('$0 replay stress-7.null-deref-in-stop-path.replay.json', 'does it still fail? (exit 1: yes, 0: no)')
        .example('$0 replay F.replay.json --shrink --trace min.json --vmcore min.vmcore', 'the smallest failing scenario, traced')
        .example('$0 replay F.replay.json --check-flaky 50', 'how often it recurs under 50 schedules')
        .example('$0 replay F.replay.json --check-flaky 20 --engine threads', 'and under real concurrency'),
      async (a) => {
        process.exitCode = await replayCommandLine(a as unknown as ReplayArgs, print);
      },
    )
    .command(
      'bench',
      'run the benchmark suite (bench/) and print its table',
      (c) => c
        .option('quick', { type: 'boolean', describe: 'the reduced suite (under 30 s)' })
        .option('soak', { type: 'string', describe: 'soak instead: SIM_RUNS,THREADS_RUNS in one process (default 100000,5000), heap and RSS at warm-up, middle and end; exit 1 on >10% growth' })
        .option('out', { type: 'string', describe: 'directory for the result files (default bench/results)' })
        .option('write', { type: 'boolean', default: true, describe: 'write the result files (--no-write: only print)' })
        .example('$0 bench --quick --json', 'the reduced suite as JSON')
        .example('$0 bench --soak 20000,1000', 'a shorter soak: memory growth over 21,000 runs'),
      async (a) => {
        // The suite measures both engines with its own seeds: the global run flags do not apply.
        for (const f of ['engine', 'seed']) if (flagGiven(f)) throw new InputError(`--${f}`, 'bench measures both engines with fixed seeds; it takes only --quick, --soak, --json, --out, --no-write');
        parseFlags(BenchFlagsSchema, a);
        if (a.quick && a.soak !== undefined) throw new InputError('--soak', 'give either --quick or --soak, not both');
        const soak = a.soak === undefined ? [] : a.soak === '' ? ['--soak'] : ['--soak', String(a.soak)];
        const argv = [...(a.quick ? ['--quick'] : []), ...soak, ...(a.json ? ['--json'] : []), ...(a.write === false ? ['--no-write'] : []), ...(a.out !== undefined ? ['--out', String(a.out)] : [])];
        process.exitCode = await benchCommand(argv);
      },
    )
    .command(
      'list [what]',
      'list presets, kernel variants, wedge modes, triggers, firmware quirks and checkers',
      (c) => c.positional('what', { choices: LIST_TOPICS, describe: 'one section only' })
        .option('kernel-module', { type: 'string', array: true, describe: 'JS module defining kernel variants, checkers or faults: listed too' })
        .example('$0 list kernels', 'the kernel variants')
        .example('$0 list kernels --kernel-module ./my-v5.js', 'with the variants a module defines'),
      async (a) => {
        await loadModules((a['kernel-module'] as string[] | undefined) ?? [], '--kernel-module');
        print(listText(a.what as string | undefined));
      },
    )
    .demandCommand(1, 'a command is required: run, stress, replay, list or bench')
    .fail((msg, err) => {
      // Throwing aborts the parse: yargs would otherwise go on to run the command.
      if (err) throw err;
      throw new InputError('command line', (msg ?? 'invalid command line').replace(/\s+/g, ' ').trim(), true);
    })
    .help()
    .wrap(Math.min(110, process.stdout.columns || 110));
  await y.parseAsync();
}

main(hideBin(process.argv))
  .catch((e: unknown) => {
    if (e instanceof SmpstopError || (e && typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code === 'bad-input')) {
      const se = e as SmpstopError;
      fail(se.message, se.code === 'bad-input' ? 2 : se.code === 'model' || se.code === 'guest-code' ? 3 : 4);
    } else {
      fail(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 4);
    }
  })
  .finally(() => shutdownThreadsEngine());

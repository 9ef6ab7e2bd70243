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
import { listText, LIST_TOPICS } from './list.js';
import { shutdownThreadsEngine } from '../machine/threads.js';
import { SmpstopError } from '../errors.js';

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
        .option('post-notifiers', { type: 'boolean', describe: 'crash_kexec_post_notifiers' })
        .option('panic-timeout', { type: 'string', describe: 'panic=N: >0 reboot after N s, <0 at once, 0 never' })
        .option('wedge', { type: 'string', array: true, describe: 'CPU:MODE[:DURATION_US][@AT_US], repeatable (replaces the scenario faults)' })
        .option('ipi-delay', { type: 'string', array: true, describe: 'CPU:DELAY_US[@AT_US]: the CPU runs with IRQs off for DELAY_US' })
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
        .example('$0 run --scenario my.json --trace run.json --vmcore vmcore', 'write a Perfetto trace and a vmcore'),
      async (a) => {
        process.exitCode = await runCommand(a as unknown as RunArgs, print);
      },
    )
    .command(
      'list [what]',
      'list presets, kernel variants, wedge modes, triggers, firmware quirks and checkers',
      (c) => c.positional('what', { choices: LIST_TOPICS, describe: 'one section only' }).example('$0 list kernels', 'the kernel variants'),
      (a) => {
        print(listText(a.what as string | undefined));
      },
    )
    .demandCommand(1, 'a command is required: run, stress, replay, list or bench')
    .fail((msg, err) => {
      if (err) throw err;
      fail(msg ?? 'invalid command line', 2);
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

/**
 * What a run leaves behind, from its RunDetails (runScenarioDetailed,
 * reproduce, shrink): the Chrome/Perfetto trace, the text timeline, the
 * vmcore with its symbol file, and the CLI's summary text.
 */
import { writeFile } from 'node:fs/promises';
import { writeChromeTrace, toTextTimeline } from '../trace/export.js';
import { buildVmcore } from '../vmcore/vmcore.js';
import { buildSymbolFile } from '../vmcore/symbols.js';
import type { RunDetails } from '../scenarios/run.js';

/**
 * Writes the run's trace as Chrome trace-event JSON (open it in
 * https://ui.perfetto.dev or chrome://tracing): one track per CPU, with
 * exceptions, EL3 visits, stop-path calls, waits and log lines.
 */
export async function writeTrace(run: RunDetails, path: string): Promise<{ readonly path: string; readonly bytes: number }> {
  const { bytes } = await writeChromeTrace(path, run.machine.trace(), traceContext(run));
  return { path, bytes };
}

/** The run's trace as text, one line per event in time order (`last`: only each CPU's last N events). */
export function timeline(run: RunDetails, o: { readonly last?: number; readonly cpus?: readonly number[] } = {}): string {
  return toTextTimeline(run.machine.trace(), traceContext(run), o);
}

/** What `writeVmcore` wrote. */
export interface VmcoreWritten {
  readonly path: string;
  /** The ELF symbol file for gdb (`file SYMBOLS` then `core-file PATH`), or null if not written. */
  readonly symbols: string | null;
  /** CPUs with an NT_PRSTATUS note, in file order, with the pid saved and the pid written. */
  readonly notes: readonly { readonly cpu: number; readonly savedPid: number; readonly pid: number }[];
  /** CPUs whose crash_notes held no note. */
  readonly missing: readonly number[];
  /** Ways in which the file differs from what a kernel would write (e.g. `uniquePids`). */
  readonly warnings: readonly string[];
  readonly bytes: number;
}

/**
 * Writes an ELF64 vmcore built from the run's guest memory: one NT_PRSTATUS
 * note per crash note the kernel saved, a VMCOREINFO note and the RAM; and
 * beside it (`PATH.vmlinux`, unless `symbols: false`) the symbol file of the
 * run's kernel image, so `gdb-multiarch` can show each CPU's backtrace.
 * `uniquePids` (default true) gives each idle CPU its own pr_pid so gdb shows
 * one thread per CPU (not kernel behaviour; listed in `warnings`).
 */
export async function writeVmcore(run: RunDetails, path: string, o: { readonly uniquePids?: boolean; readonly symbols?: boolean } = {}): Promise<VmcoreWritten> {
  const L = run.program.layout;
  const m = run.machine.shared;
  const v = buildVmcore({
    ram: m.ramU8,
    ramBase: m.map.ramBase,
    crashNotes: Array.from({ length: m.ncpus }, (_, cpu) => ({ cpu, addr: L.crashNotes(cpu) })),
    vmcoreinfo: vmcoreinfoText(run),
    uniquePids: o.uniquePids ?? true,
  });
  await writeFile(path, v.bytes);
  let symbols: string | null = null;
  if (o.symbols ?? true) {
    symbols = `${path}.vmlinux`;
    await writeFile(symbols, buildSymbolFile(run.machine.image));
  }
  return { path, symbols, notes: v.notes, missing: v.missing, warnings: v.warnings, bytes: v.bytes.length };
}

export function traceContext(d: RunDetails): Parameters<typeof toTextTimeline>[1] {
  const log = new Map(d.facts.log.map((l) => [l.seq, l.text]));
  return { image: d.machine.image, logLine: (i: number) => log.get(i), endTime: d.machine.guestTimeNs, ncpus: d.machine.shared.ncpus };
}

export function vmcoreinfoText(d: RunDetails): string {
  const s = d.result.scenario;
  return [
    `OSRELEASE=smpstop-${s.kernel.variant}`,
    'PAGESIZE=4096',
    `SYMBOL(_text)=${d.machine.image.textBase.toString(16)}`,
    `NUMBER(nr_cpu_ids)=${s.cpus}`,
    `CRASHTIME=${Math.round(d.machine.guestTimeNs / 1e9)}`,
    '',
  ].join('\n');
}

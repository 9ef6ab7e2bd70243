/** The human-readable summary `smpstop run` prints without --json. */
import type { RunResult } from '../check/result.js';
import { DEFAULT_ENTRY } from '../kernel/config.js';

const hex = (v: number): string => `0x${v.toString(16)}`;

export function formatSummary(r: RunResult, opts: { logAll?: boolean } = {}): string {
  const out: string[] = [];
  const s = r.scenario;
  out.push(`smpstop: ${s.name ? `${s.name}: ` : ''}${s.cpus} CPUs, kernel ${s.kernel.variant}${s.kernel.pseudoNmi ? ' +pNMI' : ''}${s.kernel.kdump ? ' +kdump' : ''}${s.kernel.irqPipeline ? ' +irq-pipeline' : ''}${s.kernel.entry && s.kernel.entry !== DEFAULT_ENTRY ? `, entry ${s.kernel.entry}` : ''}, firmware ${s.firmware.sdei ? 'SDEI' : 'no SDEI'}${s.firmware.quirks.length ? ` quirks ${s.firmware.quirks.join(',')}` : ''}; ${r.engine} engine, seed ${r.seed}`);
  out.push(`outcome: ${r.outcome}${r.reason ? ` (${r.reason})` : ''} after ${(r.guestTimeUs / 1000).toFixed(3)} ms guest time, ${r.hostMs.toFixed(1)} ms host time`);
  out.push('');
  out.push('kernel log:');
  const boring = /^(Booting smpstop|SMP: Total of|sdei_nmi: using)/;
  for (const l of r.log) if (opts.logAll || !boring.test(l.text)) out.push(`  [${(l.timeUs / 1e6).toFixed(6)}] CPU${l.cpu}: ${l.text}`);
  out.push('');
  out.push('CPUs:');
  out.push('  cpu  state        online  stopped-by  crash note                               final pc');
  for (const c of r.cpus) {
    const note = c.crashNote ? `${c.crashNote.symbol} (pid ${c.crashNote.pid})` : '-';
    const stops = c.stops.length > 1 ? c.stops.map((s) => s.how).join('+') : c.stoppedBy; // nested stops in order, e.g. ipi+sdei (R2)
    out.push(`  ${String(c.cpu).padStart(3)}  ${c.state.padEnd(11)}  ${(c.online ? 'yes' : 'no').padEnd(6)}  ${stops.padEnd(10)}  ${note.padEnd(40)} ${c.state === 'off' ? '-' : `${c.symbol} (${hex(c.pc)})`}`);
  }
  if (r.failedToStop.length) out.push(`\nthe kernel reported it failed to stop CPUs ${r.failedToStop.join(', ')}`);
  const wrapped = r.cpus.filter((c) => c.traceOverwritten > 0);
  if (wrapped.length) {
    out.push(`\ntrace ring wrapped on CPU ${wrapped.map((c) => `${c.cpu} (${c.traceOverwritten} records)`).join(', ')}: its stops and the checkers saw only the newest records; raise --trace-records`);
  }
  out.push('');
  if (r.violations.length === 0) out.push('violations: none');
  else {
    out.push(`violations (${r.violations.length}):`);
    for (const v of r.violations) out.push(`  ${v.id}  cpu${v.cpu}  at ${v.timeUs.toFixed(3)} us: ${v.message}`);
  }
  if (r.entry) {
    const e = r.entry;
    out.push('');
    out.push(`entry: ${e.contextSwitches} context switches; preemptions from IRQ exit ${e.preemptions.irq}, from synchronous-exception exit ${e.preemptions.sync}, with D or A masked ${e.preemptions.daMasked}`);
    if (e.pipeline) {
      const l = (x: { count: number; meanUs: number; maxUs: number }): string => `${x.count} IRQs, mean ${x.meanUs.toFixed(3)} us, max ${x.maxUs.toFixed(3)} us`;
      out.push(`pipeline latency (acknowledge to handler): out-of-band ${l(e.pipeline.oob)}; in-band ${l(e.pipeline.inband)}; ${e.pipeline.epilogues} epilogues, ${e.pipeline.fastExits} fast exits`);
    }
  }
  if (r.fault) out.push(`\nmodel fault on CPU ${r.fault.cpu}: ${r.fault.message}`);
  out.push('');
  out.push(`replay: ${r.replay}`);
  return out.join('\n');
}

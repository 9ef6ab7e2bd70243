/** Assertions shared by the outcome-table tests (both engines). */
import { expect } from 'vitest';
import type { RunResult } from '../../dist/src/check/result.js';
import type { WedgeRow, RaceRow } from '../../dist/src/scenarios/outcome-table.js';
import { STOP_PATH_NAMES } from '../../dist/src/kernel/program.js';

const fnOf = (symbol: string): string => symbol.replace(/\+0x[0-9a-f]+$/, '');
const IDLE_PATH = ['default_idle_call', 'cpu_do_idle', 'do_idle', 'secondary_start_kernel', 'secondary_entry'];

/** A stopped CPU may still be finishing its stop path when the run ends (R11: offline is not quiescent). */
function stateMatches(expected: string, c: RunResult['cpus'][number]): boolean {
  if (c.state === expected) return true;
  return (expected === 'parked' || expected === 'off') && c.state === 'running' && STOP_PATH_NAMES.has(fnOf(c.symbol));
}

function describe(r: RunResult): string {
  return `${r.replay}\noutcome ${r.outcome}; ${r.cpus.map((c) => `cpu${c.cpu} ${c.stoppedBy}/${c.state}/${c.symbol}/note ${c.crashNote?.symbol ?? '-'}`).join('; ')}; violations ${JSON.stringify(r.violations)}; log ${JSON.stringify(r.log.map((l) => `${l.timeUs} cpu${l.cpu} ${l.text}`))}`;
}

export function checkWedgeRow(row: WedgeRow, r: RunResult): void {
  const [, , , kdump, by, note, state, failed] = row;
  const where = describe(r);
  expect(r.fault, where).toBeUndefined();
  expect(r.outcome, where).toBe(kdump ? 'kexec' : 'reset');
  const c1 = r.cpus[1]!;
  expect(c1.stoppedBy, where).toBe(by);
  expect(c1.stops.length, where).toBeLessThanOrEqual(1);
  expect(c1.crashNote ? fnOf(c1.crashNote.symbol) : null, where).toBe(note);
  expect(stateMatches(state, c1), `${where}\nCPU 1 ended ${c1.state} at ${c1.symbol}, expected ${state}`).toBe(true);
  expect(r.failedToStop, where).toEqual(failed ? [1] : []);
  for (const c of r.cpus.slice(2)) {
    expect(c.stoppedBy, where).toBe('ipi');
    // Idle CPUs are normally in default_idle_call; under real concurrency one may still be finishing its boot.
    if (kdump) expect(IDLE_PATH, where).toContain(fnOf(c.crashNote?.symbol ?? '-'));
    else expect(c.crashNote, where).toBeNull();
  }
  expect(r.cpus[0]!.crashNote ? fnOf(r.cpus[0]!.crashNote.symbol) : null, where).toBe(kdump ? '__crash_kexec' : null);
  expect(r.violations, where).toEqual([]);
}

export function checkRaceRow(base: RaceRow, r: RunResult): Set<string> {
  const row = r.engine === 'threads' && base.threads ? { ...base, ...base.threads } : base;
  const where = describe(r);
  expect(r.fault, where).toBeUndefined();
  expect(row.outcomes, where).toContain(r.outcome);
  const ids = new Set(r.violations.map((v) => v.id));
  for (const must of row.mustFind) expect(ids.has(must), `${where}\nmissing ${must}`).toBe(true);
  for (const id of ids) expect([...row.mustFind, ...row.mayFind], `${where}\nunexpected ${id}`).toContain(id);
  for (const [cpu, rungs] of Object.entries(row.stoppedBy)) expect(rungs, where).toContain(r.cpus[Number(cpu)]!.stoppedBy);
  const winners = r.log.filter((l) => l.text.startsWith('Kernel panic - not syncing'));
  expect(winners.length, where).toBeLessThanOrEqual(1); // one panic owner prints
  return ids;
}

/**
 * The outcome table, sim engine: every row over 50 scheduler seeds (issue 4).
 */
import { describe, it, expect } from 'vitest';
import { runScenario } from '../dist/src/scenarios/run.js';
import { WEDGE_ROWS, RACE_ROWS, wedgeScenario, outcomeTableMarkdown } from '../dist/src/scenarios/outcome-table.js';
import { readFileSync } from 'node:fs';
import { checkWedgeRow, checkRaceRow } from './helpers/outcome.js';

const SEEDS = 50;

describe('outcome table: panic on CPU 0 with CPU 1 wedged (sim, 50 seeds per row)', () => {
  it.each(WEDGE_ROWS.map((r) => [r.slice(0, 4).join(' '), r] as const))('%s', async (_name, row) => {
    for (let seed = 1; seed <= SEEDS; seed++) checkWedgeRow(row, await runScenario(wedgeScenario(row), { engine: 'sim', seed }));
  });
});

describe('outcome table: races (sim, 50 seeds per row)', () => {
  it.each(RACE_ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    for (let seed = 1; seed <= SEEDS; seed++) checkRaceRow(row, await runScenario(row.scenario, { engine: 'sim', seed }));
  });

  it('the timing-decided rows really reach their windows across seeds', async () => {
    const seen = new Map<string, Set<string>>();
    for (const row of RACE_ROWS.filter((r) => r.mayFind.length > 0)) {
      const ids = new Set<string>();
      for (let seed = 1; seed <= SEEDS; seed++) for (const v of (await runScenario(row.scenario, { engine: 'sim', seed })).violations) ids.add(v.id);
      seen.set(row.name, ids);
    }
    expect(seen.get('parallel panics together, sdei-v3')!.has('null-deref-in-stop-path')).toBe(true);
    expect(seen.get('reboot racing a panic, pseudo-NMI')!.has('panic-cpu-stopped')).toBe(true);
  });
});

describe('README', () => {
  it('shows the outcome table exactly as the tests check it', () => {
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain(outcomeTableMarkdown());
  });
});

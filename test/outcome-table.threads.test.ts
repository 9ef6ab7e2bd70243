/**
 * The outcome table, threads engine: every row under real concurrency. Each
 * assertion holds under every interleaving (timing-decided cells allow sets).
 */
import { afterAll, describe, it } from 'vitest';
import { runScenario } from '../dist/src/scenarios/run.js';
import { shutdownThreadsEngine } from '../dist/src/machine/threads.js';
import { WEDGE_ROWS, RACE_ROWS, wedgeScenario } from '../dist/src/scenarios/outcome-table.js';
import { checkWedgeRow, checkRaceRow } from './helpers/outcome.js';

afterAll(async () => {
  await shutdownThreadsEngine();
});

describe('outcome table: panic on CPU 0 with CPU 1 wedged (threads)', () => {
  it.each(WEDGE_ROWS.map((r) => [r.slice(0, 4).join(' '), r] as const))('%s', async (_name, row) => {
    checkWedgeRow(row, await runScenario(wedgeScenario(row), { engine: 'threads' }));
  });
});

describe('outcome table: races (threads)', () => {
  it.each(RACE_ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    for (let i = 0; i < 3; i++) checkRaceRow(row, await runScenario(row.scenario, { engine: 'threads' }));
  });
});

/**
 * `smpstop stress` (issue 5 item 2, issue 8 item 4): deterministic drawing,
 * sharding, the JSONL file, interruption and --resume, the sdei-v3 NULL-regs
 * regression found by a default campaign, and flag validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../dist/src/paths.js';
import { drawRun, runSeed, rungDeadlinesUs, CAMPAIGN_MAX_INSTRUCTIONS, type CampaignOptions } from '../dist/src/stress/campaign.js';
import { runScenario } from '../dist/src/scenarios/run.js';
import { inShard, parseShard, shardSize } from '../dist/src/stress/shard.js';
import { readCampaignFile } from '../dist/src/stress/jsonl.js';
import { resolveStressArgs, type StressArgs } from '../dist/src/cli/stress.js';
import { InputError } from '../dist/src/errors.js';

const CLI = join(packageRoot(), 'dist/src/cli/main.js');
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'smpstop-stress-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const opts = (over: Partial<CampaignOptions> = {}): CampaignOptions => ({
  seed: 7, cpus: { min: 2, max: 8 }, kernels: ['final'], quirks: false, engine: 'sim', scheduler: 'random', modules: [], ...over,
});

function cli(args: string[], timeout = 60_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Line { type: string; run?: number; hostMs?: number; [k: string]: unknown }
function lines(file: string): Line[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
}
/** Run lines by index, without the host-time field (the only one that differs between processes). */
function runsOf(file: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const l of lines(file)) {
    if (l.type !== 'run') continue;
    const { hostMs: _h, ...rest } = l;
    m.set(l.run!, JSON.stringify(rest));
  }
  return m;
}

describe('drawing', () => {
  it('is a pure function of (master seed, index, options)', () => {
    for (let i = 0; i < 200; i++) {
      expect(JSON.stringify(drawRun(opts(), i))).toBe(JSON.stringify(drawRun(opts(), i)));
    }
    const a = Array.from({ length: 50 }, (_, i) => JSON.stringify(drawRun(opts(), i).scenario));
    const b = Array.from({ length: 50 }, (_, i) => JSON.stringify(drawRun(opts({ seed: 8 }), i).scenario));
    expect(a.filter((x, i) => x === b[i]).length).toBe(0);
    expect(new Set(a).size).toBe(50);
  });

  it('derives distinct run seeds', () => {
    const seeds = new Set<number>();
    for (let m = 0; m < 20; m++) for (let i = 0; i < 500; i++) seeds.add(runSeed(m, i));
    expect(seeds.size).toBe(10_000);
  });

  it('stays within the options and draws a mix of shapes', () => {
    const shapes = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const d = drawRun(opts({ cpus: { min: 3, max: 5 }, kernels: ['final', 'sdei-v3'] }), i);
      expect(d.scenario.cpus).toBeGreaterThanOrEqual(3);
      expect(d.scenario.cpus).toBeLessThanOrEqual(5);
      expect(['final', 'sdei-v3']).toContain(d.scenario.kernel.variant);
      expect(d.scenario.firmware.quirks).toEqual([]);
      expect(d.scenario.triggers.length).toBeGreaterThan(0);
      shapes.set(d.shape, (shapes.get(d.shape) ?? 0) + 1);
    }
    // | shape | share of 1000 runs |
    expect(shapes.get('panic')).toBeGreaterThan(300);
    for (const s of ['parallel-panic', 'wedged-panic', 'reboot-vs-panic', 'reboot', 'poweroff']) expect(shapes.get(s) ?? 0).toBeGreaterThan(30);
    expect(drawRun(opts({ quirks: true }), 3).scenario.firmware.quirks).toBeDefined();
  });

  it('a workload run\'s instruction budget covers its workload CPUs until the trigger', async () => {
    // Run 19421 of this 2..16-CPU campaign: 13 CPUs, 8 of them running the workload, the panic at 345 us. With the
    // fixed 2.5 M budget the workload spent it by 316 us, and the run was reported hung before its trigger.
    const o = opts({ seed: 2211, cpus: { min: 2, max: 16 }, kernels: ['final', 'sdei-v4', 'base'], quirks: true, scheduler: 'mixed', entry: ['generic-preempt', 'own-irq-preemption', 'split-exit'] });
    const d = drawRun(o, 19421);
    expect([d.scenario.cpus, d.scenario.workload.length, d.scenario.triggers[0]!.atUs]).toEqual([13, 8, 345.416]);
    expect(d.scenario.limits.maxInstructions).toBe(CAMPAIGN_MAX_INSTRUCTIONS + Math.ceil(1.5 * 8 * 345.416 * 1000));
    const r = await runScenario(d.scenario, { engine: 'sim', seed: d.seed, scheduler: d.scheduler });
    expect(r.outcome).toBe('kexec');
    expect(r.log.map((l) => l.text)).toContain('Kernel panic - not syncing: smpstop: panic trigger on CPU ' + d.scenario.triggers[0]!.cpu);
    // Runs without a workload keep the fixed budget.
    for (let i = 0; i < 200; i++) {
      const x = drawRun(o, i);
      if (x.shape !== 'entry-test' && x.scenario.workload.length === 0) expect(x.scenario.limits.maxInstructions).toBe(CAMPAIGN_MAX_INSTRUCTIONS);
    }
  });

  it('draws what it always did without --entry/--irq-pipeline, and entry-test runs with them', () => {
    // Without the options nothing new is drawn, so recorded campaigns keep their run i.
    const plain = Array.from({ length: 300 }, (_, i) => drawRun(opts(), i));
    expect(plain.some((d) => d.shape === 'entry-test' || d.scenario.entryTest)).toBe(false);
    const withEntry = Array.from({ length: 300 }, (_, i) => drawRun(opts({ entry: ['generic-preempt', 'split-exit'] }), i));
    const tests = withEntry.filter((d) => d.shape === 'entry-test');
    expect(tests.length).toBeGreaterThan(30);
    for (const d of withEntry) expect(['generic-preempt', 'split-exit']).toContain(d.scenario.kernel.entry);
    for (const d of tests) {
      expect(d.scenario.entryTest!.cpus).toHaveLength(1);
      expect(d.scenario.entryTest!.wakers).toHaveLength(1);
      // No CPU holds off interrupts for long beside a busy entry test.
      expect(d.scenario.faults.every((f) => 'inject' in f)).toBe(true);
    }
    const piped = Array.from({ length: 300 }, (_, i) => drawRun(opts({ irqPipeline: true }), i));
    for (const d of piped) {
      expect(d.scenario.kernel.irqPipeline).toBe(true);
      expect(d.scenario.kernel.pseudoNmi).toBe(false);
    }
  });

  it('an entry-test run of generic-preempt finds preempt-with-da-masked, and split-exit does not', async () => {
    const o = opts({ entry: ['generic-preempt'] });
    let i = 0;
    let d = drawRun(o, i);
    while (!(d.shape === 'entry-test' && d.scenario.entryTest!.fault === 'uaccess' && !d.scenario.kernel.pseudoNmi)) d = drawRun(o, ++i);
    const bug = await runScenario(d.scenario, { engine: 'sim', seed: d.seed });
    expect(bug.violations.map((v) => v.id), bug.replay).toContain('preempt-with-da-masked');
    const fixed = await runScenario({ ...d.scenario, kernel: { ...d.scenario.kernel, entry: 'split-exit' } }, { engine: 'sim', seed: d.seed });
    expect(fixed.violations.map((v) => v.id), fixed.replay).not.toContain('preempt-with-da-masked');
  });

  it('puts IPI delays and late panics near the rung deadlines', () => {
    const dl = rungDeadlinesUs(true, true);
    expect(dl).toContain(1_010_000); // 1e6 iterations of udelay(1) at 1010 ns
    let near = 0;
    for (let i = 0; i < 1000; i++) {
      const s = drawRun(opts(), i).scenario;
      const t0 = s.triggers[0]!.atUs;
      const ends = [
        ...s.faults.flatMap((f) => ('ipiDelayUs' in f ? [f.atUs + f.ipiDelayUs] : [])),
        ...s.triggers.slice(1).map((t) => t.atUs),
      ];
      if (ends.some((e) => dl.some((d) => Math.abs(e - t0 - d) < 300))) near++;
    }
    expect(near).toBeGreaterThan(50);
  });
});

describe('sharding', () => {
  it('partitions the run indices', () => {
    for (const n of [1, 2, 3, 7]) {
      for (let i = 0; i < 100; i++) {
        let owners = 0;
        for (let k = 1; k <= n; k++) if (inShard(i, { k, n })) owners++;
        expect(owners).toBe(1);
      }
      let total = 0;
      for (let k = 1; k <= n; k++) total += shardSize(100, { k, n });
      expect(total).toBe(100);
    }
    expect(parseShard('2/4')).toEqual({ k: 2, n: 4 });
  });

  it('two shards together give the campaign', () => {
    expect(cli(['stress', '--seed', '3', '--iterations', '16', '--out', 'whole.jsonl', '--no-progress']).code).not.toBe(2);
    expect(cli(['stress', '--seed', '3', '--iterations', '16', '--shard', '1/2', '--out', 's1.jsonl', '--no-progress']).code).not.toBe(2);
    expect(cli(['stress', '--seed', '3', '--iterations', '16', '--shard', '2/2', '--out', 's2.jsonl', '--no-progress']).code).not.toBe(2);
    const whole = runsOf(join(dir, 'whole.jsonl'));
    const s1 = runsOf(join(dir, 's1.jsonl'));
    const s2 = runsOf(join(dir, 's2.jsonl'));
    expect([...s1.keys()].every((i) => i % 2 === 0)).toBe(true);
    expect([...s2.keys()].every((i) => i % 2 === 1)).toBe(true);
    expect(s1.size + s2.size).toBe(16);
    for (const [i, r] of [...s1, ...s2]) expect(r).toBe(whole.get(i));
  });
});

describe('the result file', () => {
  it('has a header, one line per run and an end line, and replay files per failure', () => {
    const r = cli(['stress', '--kernel', 'sdei-v3', '--seed', '1', '--iterations', '60', '--out', 'v3.jsonl', '--no-progress']);
    // A fixed (master seed, range) known to contain the NULL-regs regression: run 49 of seed 1.
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/null-deref-in-stop-path\s+\d+ runs/);
    const ls = lines(join(dir, 'v3.jsonl'));
    expect(ls[0]!.type).toBe('campaign');
    expect(ls.at(-1)!.type).toBe('end');
    expect(ls.filter((l) => l.type === 'run').length).toBe(60);
    const f = readCampaignFile(join(dir, 'v3.jsonl'));
    expect(f.runs.size).toBe(60);
    const replay = JSON.parse(readFileSync(join(dir, 'v3.null-deref-in-stop-path.replay.json'), 'utf8')) as Record<string, unknown>;
    expect(replay).toMatchObject({ smpstopReplay: 1, expect: 'null-deref-in-stop-path', engine: 'sim' });
    expect(String(replay.command)).toContain('smpstop replay');
    expect(String(replay.run)).toContain('--seed');
  });

  it('refuses to overwrite a campaign unless --force', () => {
    const r = cli(['stress', '--seed', '3', '--iterations', '2', '--out', 'whole.jsonl', '--no-progress']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--out');
  });
});

describe('interruption and --resume', () => {
  it('stops within 2 s of SIGINT with only complete lines, and resuming gives the uninterrupted campaign', async () => {
    const N = 90;
    const args = ['stress', '--seed', '11', '--iterations', String(N), '--jobs', '2', '--no-progress'];
    const file = join(dir, 'int.jsonl');
    const child = spawn(process.execPath, [CLI, ...args, '--out', 'int.jsonl'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    // Wait for some results, then interrupt.
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 15) break;
    }
    const t = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    const stopMs = performance.now() - t;
    expect(stopMs).toBeLessThan(2000);
    expect(code).toBe(130);
    expect(stdout).toContain('interrupted');
    expect(stdout).toContain('--resume');
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const first = lines(file); // throws on a partial line
    const done = first.filter((l) => l.type === 'run').length;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(N);
    expect(first.at(-1)).toMatchObject({ type: 'end', interrupted: true });

    const resumed = cli(['stress', '--resume', 'int.jsonl', '--no-progress']);
    expect([0, 1]).toContain(resumed.code);
    const whole = cli([...args, '--out', 'unint.jsonl']);
    expect([0, 1]).toContain(whole.code);
    const a = runsOf(file);
    const b = runsOf(join(dir, 'unint.jsonl'));
    expect(a.size).toBe(N);
    expect(b.size).toBe(N);
    for (const [i, r] of b) expect(a.get(i)).toBe(r);
  });

  it('refuses a resume whose flags contradict the campaign', () => {
    const r = cli(['stress', '--resume', 'int.jsonl', '--seed', '12']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--seed');
  });
});

describe('bad flags exit 2 with one line naming the flag', () => {
  // | flags | flag named |
  const rows: [Record<string, unknown>, string][] = [
    [{ cpus: '9..2' }, '--cpus'],
    [{ cpus: '0..4' }, '--cpus'],
    [{ cpus: '2..600' }, '--cpus'],
    [{ kernel: 'final,nope' }, '--kernel'],
    [{ kernel: ',' }, '--kernel'],
    [{ shard: '3/2' }, '--shard'],
    [{ shard: 'x' }, '--shard'],
    [{ shard: '0/4' }, '--shard'],
    [{ iterations: '0' }, '--iterations'],
    [{ iterations: '1e3' }, '--iterations'],
    [{ duration: '0s' }, '--duration'],
    [{ duration: '5 parsecs' }, '--duration'],
    [{ duration: 'NaN' }, '--duration'],
    [{ iterations: '5', duration: '5s' }, '--duration'],
    [{ jobs: 'many' }, '--jobs'],
    [{ seed: '-1' }, '--seed'],
    [{ seed: '4294967296' }, '--seed'],
    [{ scheduler: 'dfs' }, '--scheduler'],
    [{ resume: 'missing.jsonl' }, '--resume'],
    [{ 'kernel-module': ['missing.js'] }, '--kernel-module'],
  ];
  it.each(rows)('%j names %s', async (flags, flag) => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const err = await resolveStressArgs({ engine: 'sim', out: 'never.jsonl', ...flags } as StressArgs).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).code).toBe('bad-input');
      expect((err as InputError).message).toContain(flag);
      expect((err as InputError).message).not.toContain('\n');
    } finally {
      process.chdir(cwd);
    }
  });

  it('the CLI prints one line and exits 2', () => {
    for (const [args, flag] of [[['--cpus', '9..2'], '--cpus'], [['--shard', '5/4'], '--shard'], [['--kernel', 'v9'], '--kernel']] as const) {
      const r = cli(['stress', ...args, '--out', 'never.jsonl', '--no-progress']);
      expect(r.code).toBe(2);
      const err = r.stderr.trim().split('\n');
      expect(err).toHaveLength(1);
      expect(err[0]).toContain(flag);
    }
    expect(existsSync(join(dir, 'never.jsonl'))).toBe(false);
  });
});

/**
 * Issue 2's figure: 64 CPUs of the threads engine, all asleep in WFI, woken by
 * one all-but-self SGI (IRM = 1): time from the sender's instruction until
 * every handler's first instruction has run; next to the runtime's limit in
 * the same process, in alternating rounds: one thread notifying 63 workers asleep in Atomics.wait
 * (each on its own word, as each CPU sleeps on its own doorbell), time until
 * the last has woken.
 *
 * The idle figure comes from the same machine: host CPU time of the whole
 * process (every CPU worker, the controller, helpers) over a window in which
 * all 64 CPUs are asleep, per wall time (bench/harness.ts explains how the
 * harness keeps guest time from skipping the window).
 */
import { Worker } from 'node:worker_threads';
import type { BenchConfig } from './config.js';
import { runHeld, peek64 } from './harness.js';
import { BG, BPC } from './programs/bench-programs.js';
import { hostNs, median, processCpuMs, sleepMs } from './host.js';

export interface WakeFigures {
  readonly cpus: number;
  /** Median over the warm rounds of the time until the last handler ran. */
  readonly allHandlersUs: number;
  /** Median over the warm rounds of the median handler's latency. */
  readonly medianHandlerUs: number;
  /** The first round of a fresh machine (each worker runs the IRQ path for the first time). */
  readonly firstRoundUs: number;
  readonly bareFanoutUs: number;
  readonly ratio: number;
  readonly rounds: number;
}

export interface IdleFigures {
  readonly cpus: number;
  readonly windowMs: number;
  /** Host CPU time per wall time while every CPU sleeps, in % of one core. */
  readonly hostCpuPercent: number;
}

/** Settle time after every CPU reached WFI, so each worker is really in Atomics.wait. */
const SETTLE_MS = 100;

export interface WakeRound {
  readonly lastUs: number;
  readonly medianUs: number;
  /** The bare fan-out round run just before it (0 when none). */
  readonly bareUs: number;
}

/**
 * One machine of `cpus` CPUs, `rounds` wake-ups; before each, a bare fan-out
 * round to as many sleeping workers (`fanout`, if given), so both see the same
 * host load. The idle window is measured before the last round (every worker warm
 * and asleep).
 */
export async function wakeAll(cpus: number, rounds: number, idleWindowMs: number, fanout: Fanout | null): Promise<{ rounds: WakeRound[]; idlePercent: number }> {
  let idlePercent = NaN;
  const out: WakeRound[] = [];
  await runHeld(cpus, { bench: 'wake-all', rounds }, async (h) => {
    for (let r = 1; r <= rounds; r++) {
      await h.waitWord(h.L.glob(BG.ASLEEP), (cpus - 1) * r, 60_000);
      await sleepMs(SETTLE_MS);
      if (r === rounds) {
        const c0 = processCpuMs();
        const t0 = hostNs();
        await sleepMs(idleWindowMs);
        const c1 = processCpuMs();
        idlePercent = (100 * (c1 - c0)) / ((hostNs() - t0) / 1e6);
      }
      const bareUs = fanout ? (await fanout.round()) / 1000 : 0;
      if (fanout) await sleepMs(20);
      const before = peek64(h.m, h.L.glob(BG.T_SEND));
      h.pokeAndEvent(h.L.glob(BG.GO), r, 0);
      await h.waitWord(h.L.glob(BG.HANDLED), (cpus - 1) * r, 60_000);
      // CPU 0 stores the send time after the SGI write: wait for it too.
      while (peek64(h.m, h.L.glob(BG.T_SEND)) === before) await sleepMs(1);
      const sent = peek64(h.m, h.L.glob(BG.T_SEND));
      const lat: number[] = [];
      for (let cpu = 1; cpu < cpus; cpu++) lat.push(peek64(h.m, h.L.cpu(cpu, BPC.HANDLER_AT)) - sent);
      out.push({ lastUs: Math.max(...lat) / 1000, medianUs: median(lat) / 1000, bareUs });
    }
    h.pokeAndEvent(h.L.glob(BG.GO), rounds + 1, 0);
  });
  return { rounds: out, idlePercent };
}

/** Fan-out worker: sleeps on its own word; for each round, stamps its wake time and counts itself done. */
const FANOUT_WORKER = `
const { workerData } = require('node:worker_threads');
const { sab, j, n } = workerData;
const words = new Int32Array(sab, 0, n + 3);
const woke = new Float64Array(sab, 8 * Math.ceil((n + 3) / 2), n);
Atomics.add(words, n, 1);
Atomics.notify(words, n);
for (let r = 1; ; r++) {
  for (;;) {
    const cur = Atomics.load(words, j);
    if (cur >= r) break;
    Atomics.wait(words, j, cur);
  }
  if (Atomics.load(words, n + 2) !== 0) break;
  woke[j] = Number(process.hrtime.bigint());
  Atomics.add(words, n + 1, 1);
  Atomics.notify(words, n + 1);
}
`;

/**
 * The bare limit of the wake-all figure: `n` worker threads, each asleep in
 * Atomics.wait on its own word; a round notifies them one by one from this
 * thread and measures until the last has woken.
 */
export class Fanout {
  private readonly words: Int32Array;
  private readonly woke: Float64Array;
  private readonly exits: Promise<void>[] = [];
  private rounds = 0;

  private constructor(private readonly n: number) {
    const head = 8 * Math.ceil((n + 3) / 2);
    const sab = new SharedArrayBuffer(head + 8 * n);
    this.words = new Int32Array(sab, 0, n + 3);
    this.woke = new Float64Array(sab, head, n);
    for (let j = 0; j < n; j++) {
      const w = new Worker(FANOUT_WORKER, { eval: true, workerData: { sab, j, n } });
      this.exits.push(new Promise<void>((res, rej) => {
        w.once('exit', (code) => (code === 0 ? res() : rej(new Error(`fan-out worker exited with ${code}`))));
        w.once('error', rej);
      }));
    }
  }

  static async start(n: number): Promise<Fanout> {
    const f = new Fanout(n);
    await f.waitCount(n, n);
    await sleepMs(SETTLE_MS);
    return f;
  }

  private async waitCount(index: number, target: number): Promise<void> {
    for (;;) {
      const cur = Atomics.load(this.words, index);
      if (cur >= target) return;
      const r = Atomics.waitAsync(this.words, index, cur, 1000);
      if (r.async) await r.value;
    }
  }

  /** One round; returns ns from the first notify until the last worker woke. */
  async round(): Promise<number> {
    const r = ++this.rounds;
    const t0 = hostNs();
    for (let j = 0; j < this.n; j++) {
      Atomics.store(this.words, j, r);
      Atomics.notify(this.words, j);
    }
    await this.waitCount(this.n + 1, r * this.n);
    let last = 0;
    for (let j = 0; j < this.n; j++) last = Math.max(last, this.woke[j]!);
    return last - t0;
  }

  async stop(): Promise<void> {
    Atomics.store(this.words, this.n + 2, 1);
    for (let j = 0; j < this.n; j++) {
      Atomics.store(this.words, j, this.rounds + 1);
      Atomics.notify(this.words, j);
    }
    await Promise.all(this.exits);
  }
}

export async function measureWake(cfg: BenchConfig): Promise<{ wake: WakeFigures; idle: IdleFigures }> {
  const fanout = await Fanout.start(cfg.wakeCpus - 1);
  let run: Awaited<ReturnType<typeof wakeAll>>;
  try {
    run = await wakeAll(cfg.wakeCpus, cfg.wakeRounds, cfg.idleWindowMs, fanout);
  } finally {
    await fanout.stop();
  }
  const warm = run.rounds.length > 1 ? run.rounds.slice(1) : run.rounds;
  const all = median(warm.map((r) => r.lastUs));
  const bare = median(warm.map((r) => r.bareUs));
  return {
    wake: {
      cpus: cfg.wakeCpus,
      allHandlersUs: all,
      medianHandlerUs: median(warm.map((r) => r.medianUs)),
      firstRoundUs: run.rounds[0]!.lastUs,
      bareFanoutUs: bare,
      ratio: all / bare,
      rounds: run.rounds.length,
    },
    idle: { cpus: cfg.wakeCpus, windowMs: cfg.idleWindowMs, hostCpuPercent: run.idlePercent },
  };
}

/**
 * SGI latency in the threads engine, from the sender's instruction (a clock
 * read right before the ICC_SGI1R_EL1 write) to the first instruction of the
 * target's IRQ handler, with the target asleep in WFI or busy retiring NOPs;
 * next to the runtime's limits measured in the same process: a bare
 * Atomics.wait/notify ping-pong between two worker threads, one way, with the
 * same gap before each send so that the receiver has been asleep as long as
 * the SGI target; and for the busy target, the same ping-pong with the
 * receiver spinning on Atomics.load (the cost of moving a cache line from one
 * host core to the other, which no cross-thread signal can beat).
 *
 * Both ends stamp with the same host monotonic clock (the threads engine's
 * guest clock is host time at scale 1, and the sender CPU never sleeps, so no
 * idle skip can fall inside a measured interval).
 */
import { Worker } from 'node:worker_threads';
import type { BenchConfig } from './config.js';
import { runBenchProgram, peek64 } from './harness.js';
import { hostMs, median, quantile } from './host.js';

export interface SgiFigures {
  readonly sleepingMedianUs: number;
  readonly sleepingP99Us: number;
  readonly busyMedianUs: number;
  readonly busyP99Us: number;
  readonly bareFutexOneWayUs: number;
  readonly bareFutexP99Us: number;
  readonly ratioSleeping: number;
  readonly bareSpinOneWayUs: number;
  readonly bareSpinP99Us: number;
  /** busyMedianUs / bareSpinOneWayUs. */
  readonly ratioBusy: number;
  readonly samples: number;
  readonly gapUs: number;
}

/** Guest-measured latencies (ns) of `samples` SGIs to CPU 1, asleep or busy. */
export async function sgiLatenciesNs(kind: 'sleep' | 'busy', samples: number, gapNs: number): Promise<number[]> {
  const { r, L } = await runBenchProgram('threads', 2, { bench: kind === 'sleep' ? 'sgi-sleep' : 'sgi-busy', samples, gapNs });
  const out: number[] = [];
  for (let i = 0; i < samples; i++) out.push(peek64(r.shared, L.sample(1, i)) - peek64(r.shared, L.sample(0, i)));
  return out;
}

/**
 * The ping-pong worker (CommonJS, evaluated), kept running across batches.
 * Round i: the sender spins `gap` ns (the receiver is asleep in Atomics.wait
 * meanwhile), stamps, stores and notifies; the receiver stamps on return from
 * Atomics.wait (or, with `spin`, on seeing the store while spinning). Then the
 * roles swap for the pong. Words: 0 pings, 1 pongs, 2 start barrier, 3 rounds
 * requested so far, 4 rounds done, 5 stop.
 */
const PING_PONG_WORKER = `
const { workerData } = require('node:worker_threads');
const { sab, role, cap, gapNs, spin } = workerData;
const w = new Int32Array(sab, 0, 8);
const sent = new Float64Array(sab, 32, 2);
const lat = new Float64Array(sab, 64, 2 * cap);
const now = () => Number(process.hrtime.bigint());
function send(word, v) {
  const from = now();
  while (now() < from + gapNs) {}
  sent[word] = now();
  Atomics.store(w, word, v);
  Atomics.notify(w, word);
}
function receive(word, v, slot) {
  for (;;) {
    const cur = Atomics.load(w, word);
    if (cur === v) break;
    if (!spin) Atomics.wait(w, word, cur);
  }
  lat[slot] = now() - sent[word];
}
Atomics.add(w, 2, 1);
Atomics.notify(w, 2);
let done = 0;
for (;;) {
  let target = Atomics.load(w, 3);
  while (target === done && Atomics.load(w, 5) === 0) { Atomics.wait(w, 3, target); target = Atomics.load(w, 3); }
  if (Atomics.load(w, 5) !== 0) break;
  for (let i = done + 1; i <= target; i++) {
    if (role === 0) { send(0, i); receive(1, i, 2 * (i - 1) + 1); }
    else { receive(0, i, 2 * (i - 1)); send(1, i); }
  }
  done = target;
  if (role === 0) { Atomics.store(w, 4, done); Atomics.notify(w, 4); }
}
`;

/**
 * Two worker threads ping-ponging with Atomics.wait/notify: the bare limit of the sleeping-SGI
 * latency; with `spin`, receivers spin on Atomics.load instead: the bare limit of the busy one.
 */
export class PingPong {
  private readonly w: Int32Array;
  private readonly lat: Float64Array;
  private readonly exits: Promise<void>[];
  private done = 0;

  private constructor(private readonly cap: number, gapNs: number, spin: boolean) {
    const sab = new SharedArrayBuffer(64 + 16 * cap);
    this.w = new Int32Array(sab, 0, 8);
    this.lat = new Float64Array(sab, 64, 2 * cap);
    this.exits = [0, 1].map((role) => {
      const wk = new Worker(PING_PONG_WORKER, { eval: true, workerData: { sab, role, cap, gapNs, spin } });
      return new Promise<void>((res, rej) => {
        wk.once('exit', (code) => (code === 0 ? res() : rej(new Error(`ping-pong worker exited with ${code}`))));
        wk.once('error', rej);
      });
    });
  }

  /** Starts the two workers; `cap` bounds the rounds over the object's life. */
  static async start(cap: number, gapNs: number, spin = false): Promise<PingPong> {
    const p = new PingPong(cap, gapNs, spin);
    await p.waitWord(2, 2);
    return p;
  }

  private async waitWord(index: number, target: number): Promise<void> {
    for (;;) {
      const cur = Atomics.load(this.w, index);
      if (cur >= target) return;
      const r = Atomics.waitAsync(this.w, index, cur, 1000);
      if (r.async) await r.value;
    }
  }

  /** Runs `n` more rounds; returns their 2n one-way latencies (ns). */
  async rounds(n: number): Promise<number[]> {
    const from = this.done;
    const target = Math.min(this.cap, from + n);
    Atomics.store(this.w, 3, target);
    Atomics.notify(this.w, 3);
    await this.waitWord(4, target);
    this.done = target;
    return Array.from(this.lat.subarray(2 * from, 2 * target));
  }

  async stop(): Promise<void> {
    Atomics.store(this.w, 5, 1);
    // Word 3 changes too: a worker between its stop check and Atomics.wait(w, 3, target) would
    // otherwise sleep through the notify.
    Atomics.store(this.w, 3, -1);
    Atomics.notify(this.w, 3);
    await Promise.all(this.exits);
  }
}

/** The busy-target warm-up: machines of up to 2,000 SGIs until `sgiBusyWarmupRun` are sent or the time cap passes. */
async function warmBusy(cfg: BenchConfig): Promise<void> {
  const t0 = hostMs();
  for (let sent = 0; sent < cfg.sgiBusyWarmupRun && (sent === 0 || hostMs() - t0 < cfg.sgiBusyWarmupSeconds * 1000);) {
    const n = Math.min(2000, cfg.sgiBusyWarmupRun - sent);
    await sgiLatenciesNs('busy', n, cfg.sgiGapNs);
    sent += n;
  }
}

export async function measureSgi(cfg: BenchConfig): Promise<SgiFigures> {
  const n = cfg.sgiSamples;
  const skip = cfg.sgiWarmup;
  const batches = Math.max(1, cfg.sgiBatches);
  const per = Math.ceil(n / batches);
  const pp = await PingPong.start(cfg.sgiWarmupRun + batches * per, cfg.sgiGapNs);
  const bare: number[] = [];
  const spin: number[] = [];
  const sleeping: number[] = [];
  const busy: number[] = [];
  try {
    // Warm-up: the JIT of every path involved, in the very workers measured next (a 2-CPU machine
    // after the 1-CPU instruction runs gets the same two pool workers each time).
    await pp.rounds(cfg.sgiWarmupRun);
    await sgiLatenciesNs('sleep', cfg.sgiWarmupRun, cfg.sgiGapNs);
    await warmBusy(cfg);
    // Batches of each series take turns, so that a change in the host's other load between
    // them does not fall on one series only (the ratio compares like with like).
    for (let b = 0; b < batches; b++) {
      bare.push(...await pp.rounds(per));
      sleeping.push(...(await sgiLatenciesNs('sleep', per + skip, cfg.sgiGapNs)).slice(skip));
      busy.push(...(await sgiLatenciesNs('busy', per + skip, cfg.sgiGapNs)).slice(skip));
    }
  } finally {
    await pp.stop();
  }
  // The spinning pair runs last, on its own: interleaved with the others, its two spinning threads
  // kept the host cores out of their idle states and the next futex batch ran 4 times faster than
  // the rest, which skewed the sleeping ratio.
  const sp = await PingPong.start(skip + batches * per, cfg.sgiGapNs, true);
  try {
    await sp.rounds(skip);
    spin.push(...await sp.rounds(batches * per));
  } finally {
    await sp.stop();
  }
  const us = (x: number): number => x / 1000;
  const bareMedian = us(median(bare));
  const sleepingMedian = us(median(sleeping));
  const spinMedian = us(median(spin));
  const busyMedian = us(median(busy));
  return {
    sleepingMedianUs: sleepingMedian,
    sleepingP99Us: us(quantile(sleeping, 0.99)),
    busyMedianUs: busyMedian,
    busyP99Us: us(quantile(busy, 0.99)),
    bareFutexOneWayUs: bareMedian,
    bareFutexP99Us: us(quantile(bare, 0.99)),
    ratioSleeping: sleepingMedian / bareMedian,
    bareSpinOneWayUs: spinMedian,
    bareSpinP99Us: us(quantile(spin, 0.99)),
    ratioBusy: busyMedian / spinMedian,
    samples: sleeping.length,
    gapUs: cfg.sgiGapNs / 1000,
  };
}

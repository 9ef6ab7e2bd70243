/**
 * Guest time. The model reads time only through a GuestClock (STYLE.md rule 6);
 * this is the one module allowed to read the host clock.
 *
 * - `HostScaledClock` (threads engine): guest ns = (host ns since the epoch) x
 *   scale + offset. The offset grows only through idle skips: when every
 *   powered-on CPU is asleep, the last one to fall asleep moves guest time to
 *   the earliest wake deadline (src/machine/runstate.ts). So a guest that waits
 *   out a 1 s stop timeout with nothing else to do costs no host time, while a
 *   guest that computes sees time pass with the host.
 * - `VirtualClock` (sim engine): guest time advances with retired instructions,
 *   as the scheduler reports them, and jumps to the next deadline when nothing
 *   can run. It never looks at the host.
 */
import { ControlLayout } from './control.js';

export interface GuestClock {
  /** Current guest time in ns. Monotonic. */
  now(): number;
  /** Moves guest time forward to at least `t` (idle skip). Never moves it back. */
  advanceTo(t: number): void;
  /** Host milliseconds until guest time `t` if nothing skips (for Atomics.wait timeouts). */
  hostMsUntil(t: number): number;
}

const C = ControlLayout.fields;

export class HostScaledClock implements GuestClock {
  private readonly i64: BigInt64Array;
  private readonly ctl32: Int32Array;
  private readonly f64: Float64Array;
  /** The epoch as process.hrtime() gives host time: whole seconds and nanoseconds. */
  private readonly epochS: number;
  private readonly epochNs: number;
  private readonly scale: number;
  /** CLOCK_OFFSET as a number, as of generation `gen` (CLOCK_GEN). */
  private offset = 0;
  private gen = -1;

  constructor(control: SharedArrayBuffer) {
    this.i64 = new BigInt64Array(control);
    this.ctl32 = new Int32Array(control);
    this.f64 = new Float64Array(control);
    // Written by the controller before any CPU task starts; the task hand-off orders it.
    const epoch = Atomics.load(this.i64, C.CLOCK_EPOCH.index);
    this.epochS = Number(epoch / 1_000_000_000n);
    this.epochNs = Number(epoch % 1_000_000_000n);
    this.scale = this.f64[C.CLOCK_SCALE.index]!;
  }

  static start(control: SharedArrayBuffer, scale: number): void {
    const i64 = new BigInt64Array(control);
    new Float64Array(control)[C.CLOCK_SCALE.index] = scale;
    Atomics.store(i64, C.CLOCK_OFFSET.index, 0n);
    // The offset changed: a reader keeps its cached offset only while CLOCK_GEN stands still.
    Atomics.add(new Int32Array(control), C.CLOCK_GEN.index, 1);
    Atomics.store(i64, C.CLOCK_EPOCH.index, process.hrtime.bigint());
  }

  /**
   * Perf: every trace record and guest clock read comes here. process.hrtime()
   * and one Int32 load cost about half of hrtime.bigint() with BigInt
   * arithmetic and a BigInt64 load (two heap BigInts a read): the offset is
   * re-read only when CLOCK_GEN says it changed, which is at idle skips.
   */
  now(): number {
    const host = this.hostNs();
    // The generation is read after the host time, and the offset after the generation it goes
    // with: a concurrent skip can only make the result larger, never smaller than an earlier
    // reading (a generation still unchanged is a reading from before the skip's CAS).
    const gen = Atomics.load(this.ctl32, C.CLOCK_GEN.index);
    if (gen !== this.gen) {
      this.gen = gen;
      this.offset = Number(Atomics.load(this.i64, C.CLOCK_OFFSET.index));
    }
    return host * this.scale + this.offset;
  }

  /** Host ns since the epoch. */
  private hostNs(): number {
    const t = process.hrtime();
    return (t[0] - this.epochS) * 1e9 + (t[1] - this.epochNs);
  }

  advanceTo(t: number): void {
    for (;;) {
      // The current time from the offset this CAS replaces (not a reader's kept one), so that a
      // concurrent skip is never counted twice.
      const old = Atomics.load(this.i64, C.CLOCK_OFFSET.index);
      const cur = this.hostNs() * this.scale + Number(old);
      if (cur >= t) return;
      const next = old + BigInt(Math.ceil(t - cur));
      // CAS so that two skippers never lose each other's advance; offset only grows.
      if (Atomics.compareExchange(this.i64, C.CLOCK_OFFSET.index, old, next) === old) {
        // After the CAS: a reader that sees the new generation reads this offset or a later one.
        Atomics.add(this.ctl32, C.CLOCK_GEN.index, 1);
        return;
      }
    }
  }

  hostMsUntil(t: number): number {
    if (t === Infinity) return Infinity;
    const d = (t - this.now()) / this.scale / 1e6;
    return d <= 0 ? 0 : d;
  }
}

export class VirtualClock implements GuestClock {
  /** Guest time at the start of the current quantum. */
  t = 0;
  /** The running CPU's retired count at the start of the quantum, and ns per instruction of it. */
  private counter: { retired: number } | null = null;
  private base = 0;
  private rate = 0;

  /** The sim engine starts a quantum: within it, time advances with `counter.retired`. */
  beginQuantum(counter: { retired: number }, nsPerInstruction: number): void {
    this.counter = counter;
    this.base = counter.retired;
    this.rate = nsPerInstruction;
  }

  /** Ends the quantum, folding its elapsed time into `t`; returns the instructions it retired. */
  endQuantum(): number {
    const c = this.counter;
    if (!c) return 0;
    const n = c.retired - this.base;
    this.t += n * this.rate;
    this.counter = null;
    return n;
  }

  now(): number {
    const c = this.counter;
    return c ? this.t + (c.retired - this.base) * this.rate : this.t;
  }
  advanceTo(t: number): void {
    const now = this.now();
    if (t > now) this.t += t - now;
  }
  hostMsUntil(): number {
    return 0;
  }
}

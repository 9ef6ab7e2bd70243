/**
 * The writer side of a CPU's trace rings, and the reader. One writer per CPU
 * (the CPU's own thread); records are plain stores published by an
 * Atomics.store of the channel's HEAD (a plain store too when one thread runs
 * every CPU: src/machine/access.ts).
 */
import { TraceLayout, TRACE_CHANNELS, TRACE_RECORD_F64, traceRingBytes } from './layout.js';
import { CHANNEL_OF } from './events.js';
import type { GuestClock } from '../machine/clock.js';
import type { MachineShared } from '../machine/shared.js';
import { store32 } from '../machine/access.js';

const H = TraceLayout.fields;
const HEAD = [H.HEAD0.index, H.HEAD1.index] as const;

/** Where a record's numbers sit in its TRACE_RECORD_F64 (in a ring, as TraceWriter.emit stores them, and in a TraceTable row). */
export const REC = { TIME: 0, KIND: 1, A: 2, B: 3, SEQ: 4 } as const;

export class TraceWriter {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly capacity: number;
  /** Per channel: records written; a CPU powered off and on again continues its rings. */
  private readonly head: [number, number];
  private seq: number;
  /** One thread runs every CPU (MachineShared.singleThread): the HEAD publish is a plain store (src/machine/access.ts). */
  private readonly plain: boolean;

  constructor(m: MachineShared, cpu: number, private readonly clock: GuestClock) {
    const records = m.geometry.traceRecords;
    const off = cpu * traceRingBytes(records);
    this.i32 = new Int32Array(m.buffers.trace, off, TraceLayout.size / 4);
    this.f64 = new Float64Array(m.buffers.trace, off + TraceLayout.size, TRACE_CHANNELS * records * TRACE_RECORD_F64);
    this.capacity = records;
    this.i32[H.CAPACITY.index] = records;
    this.head = [Atomics.load(this.i32, HEAD[0]), Atomics.load(this.i32, HEAD[1])];
    this.seq = Atomics.load(this.i32, H.SEQ.index);
    this.plain = m.singleThread;
  }

  emit(kind: number, a: number, b: number): void {
    this.emitAt(this.clock.now(), kind, a, b);
  }

  /**
   * A record stamped `time` rather than the clock's current reading: for the
   * several records of one instruction that must carry its one time (the
   * SGI_SEND records of an SGI register write).
   */
  emitAt(time: number, kind: number, a: number, b: number): void {
    const ch = CHANNEL_OF[kind & 255]!;
    const h = this.head[ch]!;
    const slot = ((ch * this.capacity) + (h % this.capacity)) * TRACE_RECORD_F64;
    const f = this.f64;
    f[slot + REC.TIME] = time;
    f[slot + REC.KIND] = kind;
    f[slot + REC.A] = a;
    f[slot + REC.B] = b;
    f[slot + REC.SEQ] = this.seq++;
    this.head[ch] = h + 1;
    this.i32[H.SEQ.index] = this.seq;
    // Publishes the record above to a reader that loads HEAD.
    store32(this.plain, this.i32, HEAD[ch]!, h + 1);
  }
}

export interface TraceRecord {
  readonly cpu: number;
  /** The CPU's record sequence number (both channels): records of a CPU sort by it. */
  readonly seq: number;
  readonly time: number;
  readonly kind: number;
  readonly a: number;
  readonly b: number;
}


/**
 * A finished run's trace as the rings keep it, without an object per record:
 * per ring (ring x: CPU x >> 1, channel x & 1), the records kept, oldest
 * first, at float64 offsets start[x], start[x] + TRACE_RECORD_F64, ... below
 * end[x] of `rows`; a record's numbers are rows[o + REC.*].
 */
export interface TraceTable {
  readonly rows: Float64Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** Per CPU: the records overwritten on either channel. */
  readonly dropped: number[];
  /** Per CPU: those of channel 0 alone (the stop history). */
  readonly droppedMachine: number[];
}

/**
 * Reads every CPU's rings after the run. When no ring has wrapped (the usual
 * case: a run writes far fewer records than a ring holds), `rows` is the
 * rings' own buffer and nothing is copied, so the table is valid as long as
 * the machine's buffers are: until MachineShared.recycle, which is only for a
 * run nothing reads again. Otherwise the kept records are copied out, each
 * ring's in order. Perf: the copy (a fresh Float64Array and a subarray per
 * ring) was about 40 us of an 8-CPU run's analysis.
 */
export function readTraceTable(m: MachineShared): TraceTable {
  const n = m.geometry.traceRecords;
  const rings = 2 * m.ncpus;
  const start = new Int32Array(rings);
  const end = new Int32Array(rings);
  const dropped: number[] = new Array<number>(m.ncpus).fill(0);
  const droppedMachine: number[] = new Array<number>(m.ncpus).fill(0);
  if (n === 0) return { rows: new Float64Array(0), start, end, dropped, droppedMachine };
  const ringF64 = traceRingBytes(n) / 8;
  const base = (x: number): number => (x >> 1) * ringF64 + TraceLayout.size / 8 + (x & 1) * n * TRACE_RECORD_F64;
  const head = new Array<number>(rings);
  let wrapped = false;
  for (let x = 0; x < rings; x++) {
    head[x] = Atomics.load(m.trace32, ((x >> 1) * traceRingBytes(n)) / 4 + HEAD[x & 1]!);
    if (head[x]! > n) wrapped = true;
  }
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    const f0 = Math.max(0, head[2 * cpu]! - n);
    droppedMachine[cpu] = f0;
    dropped[cpu] = f0 + Math.max(0, head[2 * cpu + 1]! - n);
  }
  if (!wrapped) {
    for (let x = 0; x < rings; x++) {
      start[x] = base(x);
      end[x] = base(x) + head[x]! * TRACE_RECORD_F64;
    }
    return { rows: m.traceF64, start, end, dropped, droppedMachine };
  }
  // Some ring wrapped: copy every ring's kept records (record s is in slot s % n: the kept ones run
  // to the ring's end, then on from slot 0).
  let total = 0;
  for (let x = 0; x < rings; x++) total += Math.min(head[x]!, n);
  const rows = new Float64Array(total * TRACE_RECORD_F64);
  let at = 0;
  for (let x = 0; x < rings; x++) {
    start[x] = at;
    for (let s = Math.max(0, head[x]! - n); s < head[x]!;) {
      const count = Math.min(head[x]! - s, n - (s % n));
      const o = base(x) + (s % n) * TRACE_RECORD_F64;
      rows.set(m.traceF64.subarray(o, o + count * TRACE_RECORD_F64), at);
      at += count * TRACE_RECORD_F64;
      s += count;
    }
    end[x] = at;
  }
  return { rows, start, end, dropped, droppedMachine };
}

/** Records (objects) as rows of a TraceTable, in their order. */
export function rowsOf(records: readonly TraceRecord[]): Float64Array {
  const rows = new Float64Array(records.length * TRACE_RECORD_F64);
  records.forEach((r, k) => {
    const o = k * TRACE_RECORD_F64;
    rows[o + REC.TIME] = r.time; rows[o + REC.KIND] = r.kind; rows[o + REC.A] = r.a; rows[o + REC.B] = r.b; rows[o + REC.SEQ] = r.seq;
  });
  return rows;
}

/**
 * Reads every CPU's rings as records: CPU after CPU, each CPU's two channels
 * merged in emission order (by sequence number; each channel is already in
 * order). `dropped` and `droppedMachine` as in TraceTable.
 */
export function readTrace(m: MachineShared): { records: TraceRecord[]; dropped: number[]; droppedMachine: number[] } {
  const { rows, start, end, dropped, droppedMachine } = readTraceTable(m);
  const W = TRACE_RECORD_F64;
  const records: TraceRecord[] = [];
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    let i = start[2 * cpu]!;
    let j = start[2 * cpu + 1]!;
    const iEnd = end[2 * cpu]!;
    const jEnd = end[2 * cpu + 1]!;
    while (i < iEnd || j < jEnd) {
      const o = j >= jEnd || (i < iEnd && rows[i + REC.SEQ]! < rows[j + REC.SEQ]!) ? (i += W) - W : (j += W) - W;
      records.push({ cpu, seq: rows[o + REC.SEQ]!, time: rows[o + REC.TIME]!, kind: rows[o + REC.KIND]!, a: rows[o + REC.A]!, b: rows[o + REC.B]! });
    }
  }
  return { records, dropped, droppedMachine };
}

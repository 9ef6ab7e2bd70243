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
    const ch = CHANNEL_OF[kind & 255]!;
    const h = this.head[ch]!;
    const slot = ((ch * this.capacity) + (h % this.capacity)) * TRACE_RECORD_F64;
    const f = this.f64;
    f[slot + REC.TIME] = this.clock.now();
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
 * A finished run's trace as the rings keep it, copied out of them without an
 * object per record: per CPU and channel, the records kept, oldest first.
 * Record k's numbers are rows[k * TRACE_RECORD_F64 + REC.*].
 */
export interface TraceTable {
  readonly rows: Float64Array;
  /** The records of CPU c on channel ch are from[2c + ch] to from[2c + ch + 1] - 1. */
  readonly from: Int32Array;
  /** Per CPU: the records overwritten on either channel. */
  readonly dropped: number[];
  /** Per CPU: those of channel 0 alone (the stop history). */
  readonly droppedMachine: number[];
}

/** Reads every CPU's rings after the run (a copy: the table stays valid whatever writes the rings later). */
export function readTraceTable(m: MachineShared): TraceTable {
  const n = m.geometry.traceRecords;
  const rings = 2 * m.ncpus; // ring x: CPU x >> 1, channel x & 1
  const from = new Int32Array(rings + 1);
  if (n === 0) return { rows: new Float64Array(0), from, dropped: new Array(m.ncpus).fill(0), droppedMachine: new Array(m.ncpus).fill(0) };
  const base = (x: number): number => ((x >> 1) * traceRingBytes(n) + TraceLayout.size) / 8 + (x & 1) * n * TRACE_RECORD_F64;
  const head: number[] = [];
  const first: number[] = [];
  for (let x = 0; x < rings; x++) {
    head.push(Atomics.load(m.trace32, ((x >> 1) * traceRingBytes(n)) / 4 + HEAD[x & 1]!));
    first.push(Math.max(0, head[x]! - n));
    from[x + 1] = from[x]! + head[x]! - first[x]!;
  }
  const rows = new Float64Array(from[rings]! * TRACE_RECORD_F64);
  for (let x = 0; x < rings; x++) {
    // Record s is in slot s % n: the kept ones run to the ring's end, then on from slot 0.
    let at = from[x]! * TRACE_RECORD_F64;
    for (let s = first[x]!; s < head[x]!;) {
      const count = Math.min(head[x]! - s, n - (s % n));
      const o = base(x) + (s % n) * TRACE_RECORD_F64;
      rows.set(m.traceF64.subarray(o, o + count * TRACE_RECORD_F64), at);
      at += count * TRACE_RECORD_F64;
      s += count;
    }
  }
  const dropped: number[] = [];
  const droppedMachine: number[] = [];
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    droppedMachine.push(first[2 * cpu]!);
    dropped.push(first[2 * cpu]! + first[2 * cpu + 1]!);
  }
  return { rows, from, dropped, droppedMachine };
}

/** Record k of `rows` (of CPU `cpu`) as an object. */
export function recordAt(rows: Float64Array, k: number, cpu: number): TraceRecord {
  const o = k * TRACE_RECORD_F64;
  return { cpu, seq: rows[o + REC.SEQ]!, time: rows[o + REC.TIME]!, kind: rows[o + REC.KIND]!, a: rows[o + REC.A]!, b: rows[o + REC.B]! };
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
  const { rows, from, dropped, droppedMachine } = readTraceTable(m);
  const seq = (k: number): number => rows[k * TRACE_RECORD_F64 + REC.SEQ]!;
  const records: TraceRecord[] = [];
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    let i = from[2 * cpu]!;
    let j = from[2 * cpu + 1]!;
    const iEnd = j;
    const jEnd = from[2 * cpu + 2]!;
    while (i < iEnd || j < jEnd) records.push(recordAt(rows, j >= jEnd || (i < iEnd && seq(i) < seq(j)) ? i++ : j++, cpu));
  }
  return { records, dropped, droppedMachine };
}

/**
 * The writer side of a CPU's trace rings, and the reader. One writer per CPU
 * (the CPU's own thread); records are plain stores published by an
 * Atomics.store of the channel's HEAD.
 */
import { TraceLayout, TRACE_CHANNELS, TRACE_RECORD_F64, traceRingBytes } from './layout.js';
import { CHANNEL_OF } from './events.js';
import type { GuestClock } from '../machine/clock.js';
import type { MachineShared } from '../machine/shared.js';

const H = TraceLayout.fields;
const HEAD = [H.HEAD0.index, H.HEAD1.index] as const;

export class TraceWriter {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly capacity: number;
  /** Per channel: records written; a CPU powered off and on again continues its rings. */
  private readonly head: [number, number];
  private seq: number;

  constructor(m: MachineShared, cpu: number, private readonly clock: GuestClock) {
    const records = m.geometry.traceRecords;
    const off = cpu * traceRingBytes(records);
    this.i32 = new Int32Array(m.buffers.trace, off, TraceLayout.size / 4);
    this.f64 = new Float64Array(m.buffers.trace, off + TraceLayout.size, TRACE_CHANNELS * records * TRACE_RECORD_F64);
    this.capacity = records;
    this.i32[H.CAPACITY.index] = records;
    this.head = [Atomics.load(this.i32, HEAD[0]), Atomics.load(this.i32, HEAD[1])];
    this.seq = Atomics.load(this.i32, H.SEQ.index);
  }

  emit(kind: number, a: number, b: number): void {
    const ch = CHANNEL_OF[kind & 255]!;
    const h = this.head[ch]!;
    const slot = ((ch * this.capacity) + (h % this.capacity)) * TRACE_RECORD_F64;
    const f = this.f64;
    f[slot] = this.clock.now();
    f[slot + 1] = kind;
    f[slot + 2] = a;
    f[slot + 3] = b;
    f[slot + 4] = this.seq++;
    this.head[ch] = h + 1;
    this.i32[H.SEQ.index] = this.seq;
    // Publishes the record above to a reader that loads HEAD.
    Atomics.store(this.i32, HEAD[ch], h + 1);
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
 * Reads every CPU's rings: per CPU, the records kept on both channels merged
 * in emission order. `dropped[cpu]` counts the records overwritten on either
 * channel; `droppedMachine[cpu]` those of channel 0 alone (the stop history).
 */
export function readTrace(m: MachineShared): { records: TraceRecord[]; dropped: number[]; droppedMachine: number[] } {
  const records: TraceRecord[] = [];
  const dropped: number[] = [];
  const droppedMachine: number[] = [];
  const n = m.geometry.traceRecords;
  if (n === 0) return { records, dropped: new Array(m.ncpus).fill(0), droppedMachine: new Array(m.ncpus).fill(0) };
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    const off = cpu * traceRingBytes(n);
    const i32 = new Int32Array(m.buffers.trace, off, TraceLayout.size / 4);
    const f64 = new Float64Array(m.buffers.trace, off + TraceLayout.size, TRACE_CHANNELS * n * TRACE_RECORD_F64);
    const chans: TraceRecord[][] = [];
    let lost = 0;
    for (let ch = 0; ch < TRACE_CHANNELS; ch++) {
      const head = Atomics.load(i32, HEAD[ch]!);
      const first = Math.max(0, head - n);
      lost += first;
      if (ch === 0) droppedMachine.push(first);
      const rs: TraceRecord[] = [];
      for (let s = first; s < head; s++) {
        const o = (ch * n + (s % n)) * TRACE_RECORD_F64;
        rs.push({ cpu, seq: f64[o + 4]!, time: f64[o]!, kind: f64[o + 1]!, a: f64[o + 2]!, b: f64[o + 3]! });
      }
      chans.push(rs);
    }
    dropped.push(lost);
    // Merge the channels by sequence number (each is already in order).
    const [c0, c1] = chans as [TraceRecord[], TraceRecord[]];
    let i = 0;
    let j = 0;
    while (i < c0.length || j < c1.length) {
      if (j >= c1.length || (i < c0.length && c0[i]!.seq < c1[j]!.seq)) records.push(c0[i++]!);
      else records.push(c1[j++]!);
    }
  }
  return { records, dropped, droppedMachine };
}

/**
 * The writer side of a CPU's trace ring. One writer per ring (the CPU's own
 * thread); records are plain stores published by an Atomics.store of HEAD.
 */
import { TraceLayout, TRACE_RECORD_F64, traceRingBytes } from './layout.js';
import type { GuestClock } from '../machine/clock.js';
import type { MachineShared } from '../machine/shared.js';

const H = TraceLayout.fields;

export class TraceWriter {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly recBase: number;
  private readonly capacity: number;
  private head: number;

  constructor(m: MachineShared, cpu: number, private readonly clock: GuestClock) {
    const records = m.geometry.traceRecords;
    const off = cpu * traceRingBytes(records);
    this.i32 = new Int32Array(m.buffers.trace, off, TraceLayout.size / 4);
    this.f64 = new Float64Array(m.buffers.trace, off + TraceLayout.size, records * TRACE_RECORD_F64);
    this.recBase = 0;
    this.capacity = records;
    this.i32[H.CAPACITY.index] = records;
    this.head = Atomics.load(this.i32, H.HEAD.index);
  }

  emit(kind: number, a: number, b: number): void {
    const slot = (this.head % this.capacity) * TRACE_RECORD_F64 + this.recBase;
    const f = this.f64;
    f[slot] = this.clock.now();
    f[slot + 1] = kind;
    f[slot + 2] = a;
    f[slot + 3] = b;
    this.head++;
    // Publishes the record above to a reader that loads HEAD.
    Atomics.store(this.i32, H.HEAD.index, this.head);
  }
}

export interface TraceRecord {
  readonly cpu: number;
  readonly seq: number;
  readonly time: number;
  readonly kind: number;
  readonly a: number;
  readonly b: number;
}

/** Reads every CPU's ring (oldest retained record first). */
export function readTrace(m: MachineShared): { records: TraceRecord[]; dropped: number[] } {
  const records: TraceRecord[] = [];
  const dropped: number[] = [];
  const n = m.geometry.traceRecords;
  if (n === 0) return { records, dropped: new Array(m.ncpus).fill(0) };
  for (let cpu = 0; cpu < m.ncpus; cpu++) {
    const off = cpu * traceRingBytes(n);
    const i32 = new Int32Array(m.buffers.trace, off, TraceLayout.size / 4);
    const f64 = new Float64Array(m.buffers.trace, off + TraceLayout.size, n * TRACE_RECORD_F64);
    const head = Atomics.load(i32, H.HEAD.index);
    const first = Math.max(0, head - n);
    dropped.push(first);
    for (let s = first; s < head; s++) {
      const o = (s % n) * TRACE_RECORD_F64;
      records.push({ cpu, seq: s, time: f64[o]!, kind: f64[o + 1]!, a: f64[o + 2]!, b: f64[o + 3]! });
    }
  }
  return { records, dropped };
}

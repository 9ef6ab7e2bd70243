/**
 * Per-CPU trace rings in shared memory. Each CPU writes only its own ring
 * (plain stores of the record, then an Atomics.store of HEAD that publishes
 * it); the controller reads the rings after the run. A ring keeps the newest
 * `records` entries: for a shutdown race the end of the run matters most.
 *
 * A record is four float64 words: guest time (ns), kind (TraceKind), and two
 * integer arguments whose meaning depends on the kind (src/trace/events.ts).
 */
import { defineLayout } from '../machine/layout.js';

export const TraceLayout = defineLayout('trace-ring-header', {
  HEAD: { type: 'i32', owner: 'cpu', doc: 'records written since the start of the run (publishes the record below it)' },
  CAPACITY: { type: 'i32', owner: 'controller' },
});

export const TRACE_RECORD_F64 = 4;
export const TRACE_RECORD_BYTES = TRACE_RECORD_F64 * 8;

export function traceRingBytes(records: number): number {
  return TraceLayout.size + records * TRACE_RECORD_BYTES;
}

export function traceBytes(ncpus: number, records: number): number {
  return Math.max(8, ncpus * traceRingBytes(records));
}

/**
 * Per-CPU trace rings in shared memory. Each CPU writes only its own rings
 * (plain stores of the record, then an Atomics.store of the ring's HEAD that
 * publishes it); the controller reads them after the run. A ring keeps the
 * newest `records` entries: for a shutdown race the end of the run matters most.
 *
 * Each CPU has two rings, its channels. Channel 0 holds the machine's and the
 * stop paths' events (exceptions, SDEI, PSCI, traced calls, panics, crash
 * saves); channel 1 holds the high-volume entry-code, scheduler and pipeline
 * records (src/trace/events.ts CHANNEL_OF). A CPU that keeps taking exceptions
 * or idling after it was stopped (or oopsed) can overwrite its own channel-1
 * history many times without evicting the stop history that the checkers
 * classify from.
 *
 * A record is five float64 words: guest time (ns), kind (TraceKind), two
 * integer arguments whose meaning depends on the kind, and the CPU's record
 * sequence number (counted across both channels, so the two merge in
 * emission order).
 */
import { defineLayout } from '../machine/layout.js';

export const TraceLayout = defineLayout('trace-ring-header', {
  HEAD0: { type: 'i32', owner: 'cpu', doc: 'channel 0: records written since the start of the run (publishes the record below it)' },
  HEAD1: { type: 'i32', owner: 'cpu', doc: 'channel 1: records written since the start of the run' },
  SEQ: { type: 'i32', owner: 'cpu', doc: 'records written on both channels (the next record\'s sequence number)' },
  CAPACITY: { type: 'i32', owner: 'controller', doc: 'records per channel' },
});

export const TRACE_CHANNELS = 2;
export const TRACE_RECORD_F64 = 5;
export const TRACE_RECORD_BYTES = TRACE_RECORD_F64 * 8;

/** Bytes of one CPU's header and channels (`records` per channel). */
export function traceRingBytes(records: number): number {
  return TraceLayout.size + TRACE_CHANNELS * records * TRACE_RECORD_BYTES;
}

export function traceBytes(ncpus: number, records: number): number {
  return Math.max(8, ncpus * traceRingBytes(records));
}

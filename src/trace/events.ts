/**
 * Trace event kinds written into the per-CPU rings (src/trace/layout.ts).
 * Each record is (time, kind, a, b); the table says what a and b mean.
 */
export const T = {
  EXC_ENTRY: 1, // a = vector offset (0x200 sync, 0x280 IRQ, ...), b = ELR
  ERET: 2, // a = target PC, b = target EL
  EL3_ENTRY: 3, // a = SMC function id, or -1 for an FIQ to EL3; b = ELR_EL3
  EL3_EXIT: 4, // a = x0 returned (SMC) or 0, b = target PC
  CALL: 5, // a = function id (traced functions only), b = caller PC
  RETURN: 6, // a = function id
  SGI_SEND: 7, // a = INTID, b = target CPU
  IRQ_ACK: 8, // a = INTID (via IAR1), b = running priority after
  EOI: 9, // a = INTID
  SLEEP: 10, // a = wait kind, b = PC
  WAKE: 11, // a = wait kind
  SDEI_SIGNAL: 12, // a = event, b = target CPU
  SDEI_DISPATCH: 13, // a = event, b = interrupted PC
  SDEI_COMPLETE: 14, // a = event, b = 1 for COMPLETE_AND_RESUME
  PSCI: 15, // a = function id, b = target (CPU_ON) or 0
  POWER_OFF: 16, // a = 0
  POWER_ON: 17, // a = entry
  LOG: 18, // a = kernel log record index, b = log level
  PANIC: 19, // a = 0 panic start / 1 won panic_cpu / 2 self-stop
  STOP: 20, // a = how stopped (StopKind), b = 0
  DATA_ABORT: 21, // a = FAR, b = ELR
  MARK: 22, // a = user value, b = user value
  FIQ_EL3: 23, // a = INTID acknowledged at EL3
  RUN_END: 24, // a = outcome code
  // Entry-code, scheduler and interrupt-pipeline models (issue 6; src/kernel/entry-common.ts, sched.ts, pipeline.ts).
  ENTRY: 40, // a = entry-state step (STEP in src/kernel/entry-common.ts), b = its value (delta, path id)
  SCHED_SWITCH: 41, // a = pid switched from, b = pid switched to (before cpu_switch_to)
  SCHED_SAMPLE: 42, // a = (where << 24) | pid (SAMPLE_* in src/kernel/sched.ts), b = PSTATE there
  INJECT: 43, // a = 1 SError raised, 2 breakpoint armed, 3 watchpoint armed; b = address
  DEBUG_EXC: 44, // a = kind (1 breakpoint, 2 watchpoint) | 0x10 if taken (0: PSTATE.D masked it) | exception depth << 8; b = address
  SERROR: 45, // a = 1 pending but masked by PSTATE.A, 2 taken | exception depth << 8; b = PSTATE
  PIPELINE: 46, // a = pipeline event (PIPE in src/kernel/pipeline.ts), b = INTID or value
} as const;

export type TraceKind = (typeof T)[keyof typeof T];

export const TRACE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k.toLowerCase()]));

/**
 * The trace channel (src/trace/layout.ts) of each kind: 1 for the high-volume
 * entry-state, scheduler and pipeline records, 0 for everything else, so that
 * they cannot evict the stop history from the CPU's ring.
 */
export const CHANNEL_OF: Uint8Array = (() => {
  const c = new Uint8Array(256);
  for (const k of [T.ENTRY, T.SCHED_SWITCH, T.SCHED_SAMPLE, T.PIPELINE]) c[k] = 1;
  return c;
})();

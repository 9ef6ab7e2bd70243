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
} as const;

export type TraceKind = (typeof T)[keyof typeof T];

export const TRACE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k.toLowerCase()]));

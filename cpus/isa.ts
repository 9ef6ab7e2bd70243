/**
 * The guest instruction set, seen from guest code.
 *
 * Guest functions are generator functions. Every `yield` retires exactly one
 * instruction: guest code calls an instruction method on the CPU core (which
 * carries the instruction out atomically) and yields the opcode the method
 * returns. The value of the `yield` expression is the instruction's result
 * (a loaded value, the old value of an atomic, x0 after an SMC, a callee's
 * return value after BL):
 *
 *     const v = yield c.ldr(addr);        // one LDR
 *     yield c.str(addr, v + 1);           // one STR
 *     const r = yield c.bl(fn, a0, a1);   // BL: runs fn as a new frame
 *
 * Between two yields the core checks, as hardware does at every instruction
 * boundary, whether an exception must be taken. Code between yields is the
 * work of a single instruction and must not touch shared state except through
 * the instruction method it yields.
 *
 * Small helpers that Linux inlines (local_daif_mask, set_cpu_online) are
 * plain generators run with `yield*`: they have no frame and their
 * instructions count at the caller's PC, as inlined code does. A hot helper of
 * exactly one instruction may instead be a plain function that returns that
 * instruction's opcode for the caller to `yield` (the entry steps of
 * src/kernel/entry-common.ts): the instruction is the same, but no generator
 * is created per call and no `yield*` delegation runs per resumption.
 */

/** Opcodes returned by instruction methods (what the core must do after the instruction). */
export const OP_NONE = 0; // retired, nothing else to do
export const OP_CALL = 1; // BL: push a frame for the pending call
export const OP_WAIT = 2; // WFI / WFE / timed wait: the CPU may sleep
export const OP_SMC = 3; // SMC: enter EL3
export const OP_ERET = 4; // ERET at EL1
export const OP_EXC = 5; // the instruction raised a synchronous exception (did not retire)
export const OP_HALT = 6; // the instruction ended the machine run
export const OP_SWITCH = 7; // cpu_switch_to: the core swaps the task's frame stack (CpuCore.switchStacks)

/** Wait kinds (CpuLayout WAIT_KIND). */
export const WAIT_NONE = 0;
export const WAIT_WFI = 1; // wake when an interrupt is signalled to the PE, even if masked
export const WAIT_WFE = 2; // wake on the event register, an unmasked interrupt, or the deadline
export const WAIT_EL3 = 3; // stuck at EL3 until the deadline (firmware wedge)
export const WAIT_OFF = 4; // powered off, until CPU_ON

export const WAIT_NAMES = ['running', 'wfi', 'wfe', 'el3', 'off'] as const;

/** A guest function body: generator over opcodes, receiving instruction results. */
export type Guest<R = number | void> = Generator<number, R, number>;

/**
 * A guest function before placement: a name (the kernel function it models),
 * a body, and its size in 4-byte instructions, which bounds the PC offsets.
 * Arguments arrive in x0-x3 (AAPCS64) and are also passed to the body.
 */
export interface GuestFunction<Ctx = any> {
  readonly name: string;
  readonly body: (ctx: Ctx, a0: number, a1: number, a2: number, a3: number) => Guest;
  readonly size: number;
  /** Emit a trace slice for each call (stop-path functions). */
  readonly traced: boolean;
}

/** A guest function placed in a kernel image. */
export interface PlacedFn<Ctx = any> extends GuestFunction<Ctx> {
  readonly base: number;
  readonly end: number;
  readonly id: number;
}

export interface GuestFnOptions {
  /** Size in instructions (default 64). PC offsets of longer bodies saturate at the last slot. */
  readonly size?: number;
  readonly traced?: boolean;
}

export function guestFn<Ctx>(
  name: string,
  body: (ctx: Ctx, a0: number, a1: number, a2: number, a3: number) => Guest,
  opts: GuestFnOptions = {},
): GuestFunction<Ctx> {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error(`bad guest function name '${name}'`);
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < 4 || size > 0x4000) throw new Error(`${name}: size ${size} out of range 4..16384`);
  return { name, body, size, traced: opts.traced ?? false };
}

/** Prologue instructions the core performs as part of BL (stp x29, x30; mov x29, sp). */
export const PROLOGUE_SLOTS = 2;

/**
 * Typed errors with stable codes (STYLE.md rule 7). Every error smpstop raises
 * on purpose derives from SmpstopError; callers match on `code`, never on text.
 */
export type ErrorCode =
  | 'bad-input' // a CLI flag, scenario or replay field failed validation (exit code 2)
  | 'model' // the model reached a state it does not implement (a bug in smpstop or in user guest code)
  | 'guest-code' // user guest code misbehaved (returned from an entry function, ERET to nowhere)
  | 'worker' // a CPU worker died
  | 'internal';

export class SmpstopError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmpstopError';
    this.code = code;
  }
}

/** A model invariant was broken while a CPU executed: the run ends with outcome `fault`. */
export class ModelError extends SmpstopError {
  readonly cpu: number;
  readonly pc: number;
  constructor(cpu: number, pc: number, message: string, code: ErrorCode = 'model') {
    super(code, `cpu${cpu} pc=0x${pc.toString(16)}: ${message}`);
    this.name = 'ModelError';
    this.cpu = cpu;
    this.pc = pc;
  }
}

/** Invalid external input: the message names the field and what is accepted. */
export class InputError extends SmpstopError {
  readonly field: string;
  /** `message` is prefixed with the field unless `raw` (the text already names it). */
  constructor(field: string, message: string, raw = false) {
    super('bad-input', raw ? message : `${field}: ${message}`);
    this.name = 'InputError';
    this.field = field;
  }
}

/**
 * The arm64 NT_PRSTATUS note and the per-CPU crash_notes buffer that
 * crash_save_cpu() fills: the single source of truth for their sizes and
 * offsets (reference linux-stop-paths.md 4.1 to 4.3).
 *
 * Sources: linux include/linux/elfcore.h (struct elf_prstatus, LP64),
 * arch/arm64/include/asm/elf.h (ELF_NGREG = 34), arch/arm64/include/uapi/asm/ptrace.h
 * (struct user_pt_regs), include/linux/vmcore_info.h (CRASH_CORE_NOTE_BYTES),
 * kernel/crash_core.c crash_save_cpu(); binutils bfd/elfxx-aarch64.c, which
 * accepts descsz 392, pr_pid at 32 and 272 bytes of registers at 112.
 *
 * All fields are little-endian. 64-bit registers are written from JS numbers,
 * which the model keeps exact (|v| < 2^53, cpus/layout.ts): a negative one
 * (a firmware error code in x0, say) is its 64-bit two's complement, as the
 * model's 64-bit loads and stores keep it in guest memory.
 */
import { SmpstopError } from '../errors.js';
import { NHDR_SIZE, align4, walkNotes, viewOf } from './elf.js';

/** Note type of the register note (linux include/uapi/linux/elf.h). */
export const NT_PRSTATUS = 1;
/** The note name crash_save_cpu() uses (NN_PRSTATUS, formerly CRASH_CORE_NOTE_NAME). */
export const CORE_NOTE_NAME = 'CORE';
/** n_namesz: strlen("CORE") + 1. */
export const CORE_NOTE_NAMESZ = 5;
/** "CORE\0" padded to 4 bytes. */
export const CORE_NOTE_NAME_BYTES = align4(CORE_NOTE_NAMESZ);
/** "CORE" as one little-endian 32-bit word (the name's first four bytes; the next word is 0). */
export const CORE_NOTE_NAME_LE32 = 0x4552_4f43;
/** Elf64_Nhdr: n_namesz, n_descsz, n_type. */
export const NOTE_HEADER_BYTES = NHDR_SIZE;

// --- struct elf_prstatus (arm64, LP64) ------------------------------------
export const ELF_PRSTATUS_SIZE = 392;
export const PRSTATUS_PR_CURSIG = 12; // short
export const PRSTATUS_PR_PID = 32; // pid_t
export const PRSTATUS_PR_PPID = 36;
export const PRSTATUS_PR_REG = 112; // elf_gregset_t = user_pt_regs
export const PRSTATUS_PR_FPVALID = 384; // int; then 4 bytes of tail padding
/** ELF_NGREG: x0..x30, sp, pc, pstate, 8 bytes each. */
export const ELF_NGREG = 34;
export const PR_REG_BYTES = ELF_NGREG * 8;
/** Register indices inside pr_reg (user_pt_regs.regs[31], then sp, pc, pstate). */
export const PR_REG_X30 = 30;
export const PR_REG_SP = 31;
export const PR_REG_PC = 32;
export const PR_REG_PSTATE = 33;

// --- one crash note and the note_buf_t that holds it -----------------------
/** Header + "CORE\0" padded + prstatus: 12 + 8 + 392. */
export const NOTE_BYTES = NOTE_HEADER_BYTES + CORE_NOTE_NAME_BYTES + ELF_PRSTATUS_SIZE;
/** CRASH_CORE_NOTE_BYTES = 2 x 12 + 8 + 392: the note plus final_note()'s zero header. */
export const CRASH_NOTE_BYTES = NOTE_BYTES + NOTE_HEADER_BYTES;

/**
 * Byte offsets inside one CPU's crash_notes buffer, for guest code that
 * writes the note with stores (crash_save_cpu) and for readers.
 */
export const CRASH_NOTE = {
  N_NAMESZ: 0, // u32 = CORE_NOTE_NAMESZ; 0 while the CPU never saved
  N_DESCSZ: 4, // u32 = ELF_PRSTATUS_SIZE
  N_TYPE: 8, // u32 = NT_PRSTATUS
  NAME: NOTE_HEADER_BYTES, // "CORE\0\0\0\0"
  DESC: NOTE_HEADER_BYTES + CORE_NOTE_NAME_BYTES, // struct elf_prstatus
  PR_PID: NOTE_HEADER_BYTES + CORE_NOTE_NAME_BYTES + PRSTATUS_PR_PID,
  PR_REG: NOTE_HEADER_BYTES + CORE_NOTE_NAME_BYTES + PRSTATUS_PR_REG,
  PR_FPVALID: NOTE_HEADER_BYTES + CORE_NOTE_NAME_BYTES + PRSTATUS_PR_FPVALID,
  TERMINATOR: NOTE_BYTES, // final_note(): 12 zero bytes
  SIZE: CRASH_NOTE_BYTES,
} as const;

/** Offset of pr_reg[i] inside the crash_notes buffer. */
export function crashNoteRegOffset(i: number): number {
  return CRASH_NOTE.PR_REG + 8 * i;
}

/** struct user_pt_regs: what elf_core_copy_regs() copies into pr_reg. */
export interface UserPtRegs {
  /** x0..x30 (31 values). */
  readonly x: readonly number[];
  readonly sp: number;
  readonly pc: number;
  readonly pstate: number;
}

export interface SavedPrstatus {
  readonly pid: number;
  readonly regs: UserPtRegs;
}

const TWO32 = 0x1_0000_0000;

/** `reg`: the register's name, or n for xn (the name is built only for the error: notes are read after every run). */
function get64(dv: DataView, off: number, reg: string | number): number {
  const lo = dv.getUint32(off, true);
  const hi = dv.getUint32(off + 4, true);
  if (hi < 0x20_0000) return hi * TWO32 + lo;
  // Two's complement of a value above -2^53 (bits 63 to 53 all set, and not exactly -2^53).
  if (hi >= 0xffe0_0000 && (hi !== 0xffe0_0000 || lo !== 0)) return (hi - TWO32) * TWO32 + lo;
  const what = typeof reg === 'number' ? `x${reg}` : reg;
  throw new SmpstopError('model', `prstatus ${what} = 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is not within 2^53 of 0; the model keeps registers within it`);
}

/**
 * Checks that `v` is a register value the note can hold exactly (a safe
 * integer: |v| < 2^53, a negative one as its two's complement); `reg` names
 * it in the error.
 */
function check64(v: number, reg: string | number): void {
  if (!Number.isSafeInteger(v)) {
    throw new SmpstopError('model', `prstatus ${typeof reg === 'number' ? `x${reg}` : reg} = ${v} is not an exact 64-bit value within 2^53 of 0`);
  }
}

/** 32-bit words of one CPU's crash_notes buffer (CRASH_NOTE_BYTES / 4). */
export const CRASH_NOTE_WORDS = CRASH_NOTE_BYTES / 4;

/**
 * One CPU's crash_notes buffer as crash_save_cpu() leaves it, as its
 * CRASH_NOTE_WORDS little-endian 32-bit words (int32 values): the
 * NT_PRSTATUS note (every prstatus field zero except pr_pid and pr_reg)
 * followed by the 12-byte zero terminator. crash_save_cpu stores these words
 * during the run. Perf: a plain array, so the run allocates no ArrayBuffer per
 * note (one of 424 bytes lives off the V8 heap and cost about 3 us per CPU).
 */
export function prstatusNoteWords(regs: UserPtRegs, pid: number): number[] {
  if (regs.x.length !== 31) throw new SmpstopError('model', `user_pt_regs needs x0..x30 (31 values), got ${regs.x.length}`);
  if (!Number.isInteger(pid) || pid < -0x8000_0000 || pid > 0x7fff_ffff) throw new SmpstopError('model', `pr_pid ${pid} is not a pid_t`);
  const w: number[] = new Array<number>(CRASH_NOTE_WORDS).fill(0);
  w[CRASH_NOTE.N_NAMESZ >> 2] = CORE_NOTE_NAMESZ;
  w[CRASH_NOTE.N_DESCSZ >> 2] = ELF_PRSTATUS_SIZE;
  w[CRASH_NOTE.N_TYPE >> 2] = NT_PRSTATUS;
  w[CRASH_NOTE.NAME >> 2] = CORE_NOTE_NAME_LE32;
  w[CRASH_NOTE.PR_PID >> 2] = pid | 0;
  const put = (i: number, v: number, reg: string | number): void => {
    check64(v, reg);
    const at = crashNoteRegOffset(i) >> 2;
    w[at] = (v % TWO32) | 0;
    w[at + 1] = Math.floor(v / TWO32) | 0;
  };
  for (let i = 0; i < 31; i++) put(i, regs.x[i]!, i);
  put(PR_REG_SP, regs.sp, 'sp');
  put(PR_REG_PC, regs.pc, 'pc');
  put(PR_REG_PSTATE, regs.pstate, 'pstate');
  return w;
}

/**
 * One CPU's crash_notes buffer as crash_save_cpu() leaves it (prstatusNoteWords
 * as bytes). Returns CRASH_NOTE_BYTES (424) bytes.
 */
export function encodePrstatusNote(regs: UserPtRegs, pid: number): Uint8Array {
  const words = prstatusNoteWords(regs, pid);
  const out = new Uint8Array(CRASH_NOTE_BYTES);
  const dv = viewOf(out);
  for (let i = 0; i < words.length; i++) dv.setInt32(4 * i, words[i]!, true);
  return out;
}

/** Decodes pid and user_pt_regs from an NT_PRSTATUS descriptor at `descOffset`. */
export function decodePrstatus(bytes: Uint8Array, descOffset: number): SavedPrstatus {
  const dv = viewOf(bytes);
  const reg = descOffset + PRSTATUS_PR_REG;
  const x: number[] = [];
  for (let i = 0; i <= PR_REG_X30; i++) x.push(get64(dv, reg + 8 * i, i));
  return {
    pid: dv.getInt32(descOffset + PRSTATUS_PR_PID, true),
    regs: {
      x,
      sp: get64(dv, reg + 8 * PR_REG_SP, 'sp'),
      pc: get64(dv, reg + 8 * PR_REG_PC, 'pc'),
      pstate: get64(dv, reg + 8 * PR_REG_PSTATE, 'pstate'),
    },
  };
}

/** True for a note that BFD turns into a `.reg/<pid>` section: "CORE", NT_PRSTATUS, 392 bytes. */
export function isArm64Prstatus(n: { name: string; type: number; descsz: number }): boolean {
  return n.name === CORE_NOTE_NAME && n.type === NT_PRSTATUS && n.descsz === ELF_PRSTATUS_SIZE;
}

/**
 * Reads one CPU's crash_notes buffer (CRASH_NOTE_BYTES long, or longer) the
 * way linux fs/proc/vmcore.c walks a PT_NOTE: notes until one with
 * n_namesz == 0 or one that would pass the end. Returns the first arm64
 * NT_PRSTATUS note's pid and registers, or null when the CPU never saved
 * (n_namesz == 0 at the start) or holds no such note.
 */
export function parseCrashNoteBuffer(bytes: Uint8Array): SavedPrstatus | null {
  // Fast path, the buffer as crash_save_cpu leaves it: the first note is "CORE\0", NT_PRSTATUS, 392
  // bytes, which the walk below would return first. It reads through a DataView, which a view of
  // guest RAM (a SharedArrayBuffer) allows, so the caller need not copy the buffer out.
  if (bytes.length >= NOTE_BYTES) {
    const dv = viewOf(bytes);
    if (dv.getUint32(CRASH_NOTE.N_NAMESZ, true) === CORE_NOTE_NAMESZ && dv.getUint32(CRASH_NOTE.N_DESCSZ, true) === ELF_PRSTATUS_SIZE
      && dv.getUint32(CRASH_NOTE.N_TYPE, true) === NT_PRSTATUS && dv.getUint32(CRASH_NOTE.NAME, true) === CORE_NOTE_NAME_LE32
      && bytes[CRASH_NOTE.NAME + 4] === 0) {
      return decodePrstatus(bytes, CRASH_NOTE.DESC);
    }
  }
  // The walk decodes note names with a TextDecoder, which refuses views of shared memory.
  if (bytes.buffer instanceof SharedArrayBuffer) bytes = bytes.slice();
  for (const n of walkNotes(bytes, 0, bytes.length)) {
    if (isArm64Prstatus(n)) return decodePrstatus(bytes, n.descOffset);
  }
  return null;
}

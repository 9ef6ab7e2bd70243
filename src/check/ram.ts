/**
 * Guest RAM of a finished run, read a block at a time. No CPU writes it any
 * more, so plain loads through one view do (MachineResult.peek32 is an
 * Atomics.load and a range check per word). The views share the machine's
 * buffers: read them before the buffers serve another run
 * (MachineShared.recycle).
 */
import type { MachineResult } from '../machine/machine.js';

function ramOffset(r: MachineResult, addr: number, bytes: number, align: number): number {
  const { ramBase, ramBytes } = r.shared.map;
  const off = addr - ramBase;
  if (off < 0 || off + bytes > ramBytes || off % align !== 0) throw new RangeError(`0x${addr.toString(16)} (${bytes} bytes) is not in guest RAM`);
  return off;
}

/** `bytes` bytes of guest RAM at `addr`. */
export function ramBytes(r: MachineResult, addr: number, bytes: number): Uint8Array {
  const off = ramOffset(r, addr, bytes, 1);
  return r.shared.ramU8.subarray(off, off + bytes);
}

/** `bytes` bytes of guest RAM at `addr` as Latin-1 text (one character per byte: how printk stores it). */
export function ramLatin1(r: MachineResult, addr: number, bytes: number): string {
  const b = ramBytes(r, addr, bytes);
  // Perf: a log line is short; String.fromCharCode over the bytes skips the Buffer object and the
  // native call that Buffer#toString('latin1') makes (about 2 us a line in a run's analysis).
  if (b.length <= 1024) return String.fromCharCode.apply(null, b as unknown as number[]);
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

/** The words of guest RAM from `addr` (word aligned) for `bytes` bytes: word(w, off) and dword(w, off) read them. */
export function ramWords(r: MachineResult, addr: number, bytes: number): Int32Array {
  const off = ramOffset(r, addr, bytes, 4);
  return r.shared.ram32.subarray(off >> 2, (off + bytes + 3) >> 2);
}

/** The 32-bit word at byte offset `off` of `w` (as MachineResult.peek32 reads it). */
export const word = (w: Int32Array, off: number): number => w[off >> 2]!;

/** The 64-bit little-endian value at byte offset `off` of `w`, as a number (MachineResult.peek64). */
export const dword = (w: Int32Array, off: number): number => (w[off >> 2]! >>> 0) + w[(off >> 2) + 1]! * 0x1_0000_0000;

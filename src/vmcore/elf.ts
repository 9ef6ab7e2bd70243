/**
 * Small ELF64 little-endian helpers: the header, program and section header,
 * symbol and note encodings that the vmcore and symbol-file writers need, and
 * the matching readers used to check what was written.
 *
 * Field layouts follow the System V gABI ("ELF-64 Object File Format" 1.5 and
 * the generic ABI chapter 4/5); only what smpstop writes is covered. 64-bit
 * fields are written from a number (which must be an exact non-negative
 * integer) or a bigint, and read back as bigint, so a real kernel's
 * 0xffff8000_xxxxxxxx addresses parse exactly.
 */
import { SmpstopError } from '../errors.js';

// --- e_ident (gABI 4.1) --------------------------------------------------
export const ELFMAG = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;
export const EI_NIDENT = 16;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const EV_CURRENT = 1;
export const ELFOSABI_NONE = 0;

// --- e_type, e_machine ---------------------------------------------------
export const ET_EXEC = 2;
export const ET_CORE = 4;
export const EM_AARCH64 = 183;

// --- p_type, p_flags -----------------------------------------------------
export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;
export const PF_RWX = PF_R | PF_W | PF_X;

// --- sh_type, sh_flags, special indices ----------------------------------
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOTE = 7;
export const SHF_WRITE = 1;
export const SHF_ALLOC = 2;
export const SHF_EXECINSTR = 4;
export const SHN_UNDEF = 0;

// --- symbols (st_info = bind << 4 | type) --------------------------------
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STV_DEFAULT = 0;

// --- structure sizes (ELF64) ---------------------------------------------
export const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;
export const SHDR_SIZE = 64;
export const SYM_SIZE = 24;
/** Elf64_Nhdr: n_namesz, n_descsz, n_type, 4 bytes each. */
export const NHDR_SIZE = 12;

export const PAGE_SIZE = 0x1000;

/** A value for a 64-bit field: an exact non-negative integer. */
export type U64 = number | bigint;

/** A file that is not the ELF64 little-endian file a reader expected. */
export class ElfFormatError extends SmpstopError {
  constructor(message: string) {
    super('bad-input', message);
    this.name = 'ElfFormatError';
  }
}

export function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** The 4-byte rounding every note field gets (gABI 5 "Note Section"). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

const TWO32 = 0x1_0000_0000;

export function setU64(dv: DataView, off: number, v: U64): void {
  if (typeof v === 'bigint') {
    dv.setBigUint64(off, BigInt.asUintN(64, v), true);
    return;
  }
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new SmpstopError('internal', `64-bit ELF field at ${off}: ${v} is not an exact non-negative integer`);
  }
  dv.setUint32(off, v % TWO32, true);
  dv.setUint32(off + 4, Math.floor(v / TWO32), true);
}

export function getU64(dv: DataView, off: number): bigint {
  return dv.getBigUint64(off, true);
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// --- Elf64_Ehdr ----------------------------------------------------------

export interface Elf64Ehdr<T extends U64 = U64> {
  readonly type: number;
  readonly machine: number;
  readonly entry: T;
  readonly phoff: T;
  readonly shoff: T;
  readonly flags: number;
  readonly phnum: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

/** Writes the ELF header at offset 0 (e_ehsize 64; e_phentsize/e_shentsize 0 when there are none, as Linux does). */
export function writeEhdr(dv: DataView, h: Elf64Ehdr): void {
  ELFMAG.forEach((b, i) => dv.setUint8(i, b));
  dv.setUint8(EI_CLASS, ELFCLASS64);
  dv.setUint8(EI_DATA, ELFDATA2LSB);
  dv.setUint8(EI_VERSION, EV_CURRENT);
  dv.setUint8(EI_OSABI, ELFOSABI_NONE);
  for (let i = EI_OSABI + 1; i < EI_NIDENT; i++) dv.setUint8(i, 0);
  dv.setUint16(16, h.type, true);
  dv.setUint16(18, h.machine, true);
  dv.setUint32(20, EV_CURRENT, true);
  setU64(dv, 24, h.entry);
  setU64(dv, 32, h.phoff);
  setU64(dv, 40, h.shoff);
  dv.setUint32(48, h.flags, true);
  dv.setUint16(52, EHDR_SIZE, true);
  dv.setUint16(54, h.phnum > 0 ? PHDR_SIZE : 0, true);
  dv.setUint16(56, h.phnum, true);
  dv.setUint16(58, h.shnum > 0 ? SHDR_SIZE : 0, true);
  dv.setUint16(60, h.shnum, true);
  dv.setUint16(62, h.shstrndx, true);
}

/** Reads and checks the ELF64 little-endian header. */
export function readEhdr(bytes: Uint8Array): Elf64Ehdr<bigint> {
  if (bytes.length < EHDR_SIZE) throw new ElfFormatError(`${bytes.length} bytes is too short for an ELF64 header`);
  if (!ELFMAG.every((b, i) => bytes[i] === b)) throw new ElfFormatError('no ELF magic (7f 45 4c 46)');
  if (bytes[EI_CLASS] !== ELFCLASS64) throw new ElfFormatError(`EI_CLASS ${bytes[EI_CLASS]}: not ELFCLASS64`);
  if (bytes[EI_DATA] !== ELFDATA2LSB) throw new ElfFormatError(`EI_DATA ${bytes[EI_DATA]}: not little-endian`);
  const dv = viewOf(bytes);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum > 0 && phentsize !== PHDR_SIZE) throw new ElfFormatError(`e_phentsize ${phentsize}, expected ${PHDR_SIZE}`);
  return {
    type: dv.getUint16(16, true),
    machine: dv.getUint16(18, true),
    entry: getU64(dv, 24),
    phoff: getU64(dv, 32),
    shoff: getU64(dv, 40),
    flags: dv.getUint32(48, true),
    phnum,
    shnum: dv.getUint16(60, true),
    shstrndx: dv.getUint16(62, true),
  };
}

// --- Elf64_Phdr ----------------------------------------------------------

export interface Elf64Phdr<T extends U64 = U64> {
  readonly type: number;
  readonly flags: number;
  readonly offset: T;
  readonly vaddr: T;
  readonly paddr: T;
  readonly filesz: T;
  readonly memsz: T;
  readonly align: T;
}

export function writePhdr(dv: DataView, off: number, p: Elf64Phdr): void {
  dv.setUint32(off, p.type, true);
  dv.setUint32(off + 4, p.flags, true);
  setU64(dv, off + 8, p.offset);
  setU64(dv, off + 16, p.vaddr);
  setU64(dv, off + 24, p.paddr);
  setU64(dv, off + 32, p.filesz);
  setU64(dv, off + 40, p.memsz);
  setU64(dv, off + 48, p.align);
}

export function readPhdrs(bytes: Uint8Array, h: Elf64Ehdr<bigint>): Elf64Phdr<bigint>[] {
  const dv = viewOf(bytes);
  const base = Number(h.phoff);
  if (base + h.phnum * PHDR_SIZE > bytes.length) throw new ElfFormatError(`program headers at ${base} pass the end of the file`);
  const out: Elf64Phdr<bigint>[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const off = base + i * PHDR_SIZE;
    out.push({
      type: dv.getUint32(off, true),
      flags: dv.getUint32(off + 4, true),
      offset: getU64(dv, off + 8),
      vaddr: getU64(dv, off + 16),
      paddr: getU64(dv, off + 24),
      filesz: getU64(dv, off + 32),
      memsz: getU64(dv, off + 40),
      align: getU64(dv, off + 48),
    });
  }
  return out;
}

// --- Elf64_Shdr ----------------------------------------------------------

export interface Elf64Shdr<T extends U64 = U64> {
  readonly name: number;
  readonly type: number;
  readonly flags: T;
  readonly addr: T;
  readonly offset: T;
  readonly size: T;
  readonly link: number;
  readonly info: number;
  readonly addralign: T;
  readonly entsize: T;
}

export function writeShdr(dv: DataView, off: number, s: Elf64Shdr): void {
  dv.setUint32(off, s.name, true);
  dv.setUint32(off + 4, s.type, true);
  setU64(dv, off + 8, s.flags);
  setU64(dv, off + 16, s.addr);
  setU64(dv, off + 24, s.offset);
  setU64(dv, off + 32, s.size);
  dv.setUint32(off + 40, s.link, true);
  dv.setUint32(off + 44, s.info, true);
  setU64(dv, off + 48, s.addralign);
  setU64(dv, off + 56, s.entsize);
}

// --- Elf64_Sym -----------------------------------------------------------

export interface Elf64Sym {
  readonly name: number;
  readonly bind: number;
  readonly type: number;
  readonly shndx: number;
  readonly value: U64;
  readonly size: U64;
}

export function writeSym(dv: DataView, off: number, s: Elf64Sym): void {
  dv.setUint32(off, s.name, true);
  dv.setUint8(off + 4, (s.bind << 4) | (s.type & 0xf));
  dv.setUint8(off + 5, STV_DEFAULT);
  dv.setUint16(off + 6, s.shndx, true);
  setU64(dv, off + 8, s.value);
  setU64(dv, off + 16, s.size);
}

/** A string table: index 0 is the empty string; equal names share one entry. */
export class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private readonly index = new Map<string, number>([['', 0]]);
  private length = 1;

  add(name: string): number {
    const known = this.index.get(name);
    if (known !== undefined) return known;
    const at = this.length;
    const enc = new TextEncoder().encode(`${name}\0`);
    this.parts.push(enc);
    this.length += enc.length;
    this.index.set(name, at);
    return at;
  }

  get size(): number {
    return this.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

// --- Notes (gABI 5 "Note Section"; 4-byte aligned fields) -----------------

/** Bytes one note takes: header, name and descriptor, each field rounded up to 4. */
export function noteBytes(namesz: number, descsz: number): number {
  return NHDR_SIZE + align4(namesz) + align4(descsz);
}

/** One note: {n_namesz = strlen(name)+1, n_descsz, n_type}, the name with its NUL, the descriptor; padding zero. */
export function encodeNote(name: string, type: number, desc: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(`${name}\0`);
  const out = new Uint8Array(noteBytes(nameBytes.length, desc.length));
  const dv = viewOf(out);
  dv.setUint32(0, nameBytes.length, true);
  dv.setUint32(4, desc.length, true);
  dv.setUint32(8, type >>> 0, true);
  out.set(nameBytes, NHDR_SIZE);
  out.set(desc, NHDR_SIZE + align4(nameBytes.length));
  return out;
}

/** A note found in a buffer; offsets are relative to the buffer walked. */
export interface NoteRef {
  readonly offset: number;
  /** Bytes the note occupies, padding included. */
  readonly size: number;
  readonly namesz: number;
  readonly descsz: number;
  readonly type: number;
  /** The name without its terminating NUL. */
  readonly name: string;
  readonly descOffset: number;
}

/**
 * Walks the notes in bytes[start, end) the way linux fs/proc/vmcore.c
 * update_note_header_size_elf64() does: stop at a header with n_namesz == 0,
 * or when the next note would pass the end (the kernel warns and drops it).
 * Returns the notes found; their total size is what the kernel sets p_memsz to.
 */
const LATIN1 = new TextDecoder('latin1');

export function walkNotes(bytes: Uint8Array, start = 0, end = bytes.length): NoteRef[] {
  const dv = viewOf(bytes);
  const limit = Math.min(end, bytes.length);
  const out: NoteRef[] = [];
  let off = start;
  while (off + NHDR_SIZE <= limit) {
    const namesz = dv.getUint32(off, true);
    if (namesz === 0) break;
    const descsz = dv.getUint32(off + 4, true);
    const size = noteBytes(namesz, descsz);
    if (off + size > limit) break;
    let nameLen = namesz;
    while (nameLen > 0 && bytes[off + NHDR_SIZE + nameLen - 1] === 0) nameLen--;
    const name = LATIN1.decode(bytes.subarray(off + NHDR_SIZE, off + NHDR_SIZE + nameLen));
    out.push({ offset: off, size, namesz, descsz, type: dv.getUint32(off + 8, true), name, descOffset: off + NHDR_SIZE + align4(namesz) });
    off += size;
  }
  return out;
}

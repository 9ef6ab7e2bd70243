/**
 * The symbol file for the synthetic kernel image: an ELF64 EM_AARCH64 ET_EXEC
 * (a stand-in for vmlinux) that gdb loads with `file` next to a vmcore, so a
 * saved PC prints as `default_idle_call+40` and frame-pointer frames unwind.
 *
 * Contents:
 * - .text at image.textBase, one PT_LOAD for it, filled with instruction
 *   words that say what the model does: every function entered by BL starts
 *   with the prologue the core performs as part of BL (cpus/core.ts doCall),
 *   `stp x29, x30, [sp, #-16]!` then `mov x29, sp`, so gdb's AArch64 prologue
 *   analyzer finds the frame record; then NOPs, and `ret` in the last slot.
 *   Exception-vector entries (and any function named in `frameless`) get no
 *   prologue, since nothing pushes a frame record for them;
 * - .symtab/.strtab: one STT_FUNC GLOBAL symbol per function (st_value =
 *   base, st_size = end - base) and `vectors` (STT_NOTYPE, as Linux's
 *   SYM_CODE_START leaves it), all in .text;
 * - .shstrtab.
 *
 * Instruction encodings: Arm DDI0487 C6.2 (STP pre-index, MOV (to/from SP) =
 * ADD #0, NOP, RET, ERET).
 */
import type { KernelImage } from '../../cpus/image.js';
import { PROLOGUE_SLOTS } from '../../cpus/isa.js';
import { SmpstopError } from '../errors.js';
import {
  EHDR_SIZE, PHDR_SIZE, SHDR_SIZE, SYM_SIZE, PAGE_SIZE, ET_EXEC, EM_AARCH64, PT_LOAD, PF_R, PF_X,
  SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHF_ALLOC, SHF_EXECINSTR, STB_GLOBAL, STT_FUNC, STT_NOTYPE,
  StringTable, roundUp, viewOf, writeEhdr, writePhdr, writeShdr, writeSym,
} from './elf.js';

/** stp x29, x30, [sp, #-16]! */
export const A64_STP_FP_LR_PRE16 = 0xa9bf_7bfd;
/** mov x29, sp (add x29, sp, #0) */
export const A64_MOV_FP_SP = 0x9100_03fd;
export const A64_NOP = 0xd503_201f;
export const A64_RET = 0xd65f_03c0;
export const A64_ERET = 0xd69f_03e0;

export interface SymbolFileOptions {
  /**
   * Functions entered other than by BL (CPU_ON or ERET entry points), which
   * get no prologue. Exception-vector entries are always frameless.
   */
  readonly frameless?: readonly string[];
  /** e_entry; defaults to image.textBase. */
  readonly entry?: number;
}

function vectorRange(image: KernelImage): [number, number] | null {
  const v = image.symbols.find((s) => s.name === 'vectors');
  return v ? [v.addr, v.addr + v.size] : null;
}

/**
 * The instruction words of .text, image.textBase to image.textEnd, as bytes.
 * Guest code may also load these into guest RAM at textBase (as a boot loader
 * loads a kernel image) so that a vmcore carries the same text.
 */
export function encodeText(image: KernelImage, opts: SymbolFileOptions = {}): Uint8Array {
  const size = image.textEnd - image.textBase;
  const out = new Uint8Array(size);
  const dv = viewOf(out);
  for (let off = 0; off < size; off += 4) dv.setUint32(off, A64_NOP, true); // alignment padding, as the assembler pads code
  const vectors = vectorRange(image);
  const frameless = new Set(opts.frameless ?? []);
  for (const name of frameless) if (!image.has(name)) throw new SmpstopError('bad-input', `symbol file: no function '${name}' in the image`);
  for (const f of image.fns) {
    const at = f.base - image.textBase;
    const slots = (f.end - f.base) / 4;
    const isVector = vectors !== null && f.base >= vectors[0] && f.base < vectors[1];
    if (!isVector && !frameless.has(f.name) && slots > PROLOGUE_SLOTS) {
      dv.setUint32(at, A64_STP_FP_LR_PRE16, true);
      dv.setUint32(at + 4, A64_MOV_FP_SP, true);
    }
    dv.setUint32(at + 4 * (slots - 1), isVector ? A64_ERET : A64_RET, true);
  }
  return out;
}

/** Builds the ELF symbol file for `image`; see the file comment. */
export function buildSymbolFile(image: KernelImage, opts: SymbolFileOptions = {}): Uint8Array {
  const text = encodeText(image, opts);
  const vectors = vectorRange(image);

  const shstr = new StringTable();
  const nText = shstr.add('.text');
  const nSymtab = shstr.add('.symtab');
  const nStrtab = shstr.add('.strtab');
  const nShstrtab = shstr.add('.shstrtab');
  const SEC_TEXT = 1;

  const str = new StringTable();
  const syms = image.symbols.map((s) => ({
    name: str.add(s.name),
    bind: STB_GLOBAL,
    type: vectors !== null && s.name === 'vectors' ? STT_NOTYPE : STT_FUNC,
    shndx: SEC_TEXT,
    value: s.addr,
    size: s.size,
  }));

  // File layout: headers | .text (congruent to its address modulo the page size) | .symtab | .strtab | .shstrtab | section headers.
  const textOffset = roundUp(EHDR_SIZE + PHDR_SIZE, PAGE_SIZE) + (image.textBase % PAGE_SIZE);
  const symtabOffset = roundUp(textOffset + text.length, 8);
  const symtabSize = (syms.length + 1) * SYM_SIZE;
  const strtabOffset = symtabOffset + symtabSize;
  const strBytes = str.bytes();
  const shstrtabOffset = strtabOffset + strBytes.length;
  const shstrBytes = shstr.bytes();
  const shoff = roundUp(shstrtabOffset + shstrBytes.length, 8);
  const shnum = 5;
  const out = new Uint8Array(shoff + shnum * SHDR_SIZE);
  const dv = viewOf(out);

  writeEhdr(dv, { type: ET_EXEC, machine: EM_AARCH64, entry: opts.entry ?? image.textBase, phoff: EHDR_SIZE, shoff, flags: 0, phnum: 1, shnum, shstrndx: 4 });
  writePhdr(dv, EHDR_SIZE, {
    type: PT_LOAD, flags: PF_R | PF_X, offset: textOffset, vaddr: image.textBase, paddr: image.textBase,
    filesz: text.length, memsz: text.length, align: PAGE_SIZE,
  });
  out.set(text, textOffset);
  syms.forEach((s, i) => writeSym(dv, symtabOffset + (i + 1) * SYM_SIZE, s)); // entry 0 stays the null symbol
  out.set(strBytes, strtabOffset);
  out.set(shstrBytes, shstrtabOffset);

  const sh = (i: number): number => shoff + i * SHDR_SIZE;
  writeShdr(dv, sh(0), { name: 0, type: SHT_NULL, flags: 0, addr: 0, offset: 0, size: 0, link: 0, info: 0, addralign: 0, entsize: 0 });
  writeShdr(dv, sh(1), {
    name: nText, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addr: image.textBase, offset: textOffset,
    size: text.length, link: 0, info: 0, addralign: 16, entsize: 0,
  });
  // sh_link: the string table; sh_info: index of the first global symbol (no locals besides the null entry).
  writeShdr(dv, sh(2), {
    name: nSymtab, type: SHT_SYMTAB, flags: 0, addr: 0, offset: symtabOffset, size: symtabSize, link: 3, info: 1, addralign: 8, entsize: SYM_SIZE,
  });
  writeShdr(dv, sh(3), { name: nStrtab, type: SHT_STRTAB, flags: 0, addr: 0, offset: strtabOffset, size: strBytes.length, link: 0, info: 0, addralign: 1, entsize: 0 });
  writeShdr(dv, sh(4), { name: nShstrtab, type: SHT_STRTAB, flags: 0, addr: 0, offset: shstrtabOffset, size: shstrBytes.length, link: 0, info: 0, addralign: 1, entsize: 0 });
  return out;
}

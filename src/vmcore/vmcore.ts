/**
 * The vmcore writer: an ELF64 EM_AARCH64 ET_CORE file built from guest
 * memory, shaped like the /proc/vmcore a capture kernel exports (reference
 * linux-stop-paths.md 4.5 and 4.6, and the golden headers in
 * reference/kdump-golden/).
 *
 * Steps, as linux fs/proc/vmcore.c does them:
 *   1. read each possible CPU's crash_notes buffer (CRASH_NOTE_BYTES) from
 *      guest RAM and walk its notes (merge_note_headers_elf64 /
 *      update_note_header_size_elf64): a CPU that never saved contributes
 *      nothing, not an empty note;
 *   2. concatenate them in CPU order, then the VMCOREINFO note, into one
 *      PT_NOTE placed first, at the first page after the headers (p_align 4,
 *      p_flags 0, vaddr = paddr = 0, no terminating note);
 *   3. one PT_LOAD for guest RAM at the next page after the notes rounded up
 *      to a page (p_flags RWX, p_align 0), p_vaddr = p_paddr = guest address:
 *      the model runs flat, so there is no linear-map offset to apply.
 *
 * The note bytes are copied from guest memory as they are, exactly as the
 * capture kernel copies them. The one exception is the opt-in `uniquePids`
 * rewrite, which is not kernel behaviour and is reported as such.
 */
import { SmpstopError } from '../errors.js';
import {
  EHDR_SIZE, PHDR_SIZE, PAGE_SIZE, ET_CORE, EM_AARCH64, PT_NOTE, PT_LOAD, PF_RWX,
  encodeNote, readEhdr, readPhdrs, roundUp, viewOf, walkNotes, writeEhdr, writePhdr,
  type Elf64Phdr,
} from './elf.js';
import {
  CRASH_NOTE_BYTES, PRSTATUS_PR_PID, PRSTATUS_PR_REG, PR_REG_PC, PR_REG_PSTATE, PR_REG_SP,
  isArm64Prstatus,
} from './prstatus.js';

/** Note name and type of the VMCOREINFO note (linux include/linux/vmcore_info.h). */
export const VMCOREINFO_NOTE_NAME = 'VMCOREINFO';
export const VMCOREINFO_NOTE_TYPE = 0;

export interface CrashNotesRef {
  readonly cpu: number;
  /** Guest physical address of that CPU's CRASH_NOTE_BYTES buffer. */
  readonly addr: number;
}

export interface VmcoreInput {
  /** Guest RAM, starting at ramBase (a whole number of pages). */
  readonly ram: Uint8Array;
  readonly ramBase: number;
  /** Every possible CPU's crash_notes buffer, in CPU order. */
  readonly crashNotes: readonly CrashNotesRef[];
  /** VMCOREINFO text ("KEY=value\n" lines); written as is, without a NUL. */
  readonly vmcoreinfo: string;
  /**
   * EXT: give every idle CPU (saved pr_pid 0) a distinct pr_pid so that gdb
   * shows one thread per CPU. Not kernel behaviour; flagged in `warnings`.
   */
  readonly uniquePids: boolean;
}

export interface VmcoreNoteInfo {
  readonly cpu: number;
  /** pr_pid as the guest saved it. */
  readonly savedPid: number;
  /** pr_pid as written to the vmcore (differs only with uniquePids). */
  readonly pid: number;
}

export interface VmcoreBuild {
  readonly bytes: Uint8Array;
  /** One entry per NT_PRSTATUS note written, in file (CPU) order. */
  readonly notes: readonly VmcoreNoteInfo[];
  /** Possible CPUs whose crash_notes held no note (the kernel would warn "Zero PT_NOTE entries found"). */
  readonly missing: readonly number[];
  /** Ways in which this file differs from what a kernel would produce; the CLI prints them. */
  readonly warnings: readonly string[];
}

function checkInput(input: VmcoreInput): CrashNotesRef[] {
  const { ram, ramBase } = input;
  if (!Number.isSafeInteger(ramBase) || ramBase < 0 || ramBase % PAGE_SIZE !== 0) {
    throw new SmpstopError('internal', `vmcore: RAM base 0x${ramBase.toString(16)} is not page aligned`);
  }
  if (ram.length === 0 || ram.length % PAGE_SIZE !== 0) {
    throw new SmpstopError('internal', `vmcore: RAM size ${ram.length} is not a whole number of pages`);
  }
  const refs = [...input.crashNotes].sort((a, b) => a.cpu - b.cpu);
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i]!;
    if (i > 0 && refs[i - 1]!.cpu === r.cpu) throw new SmpstopError('internal', `vmcore: CPU ${r.cpu} has two crash_notes buffers`);
    if (r.addr < ramBase || r.addr + CRASH_NOTE_BYTES > ramBase + ram.length) {
      throw new SmpstopError('internal', `vmcore: CPU ${r.cpu} crash_notes at 0x${r.addr.toString(16)} is not inside guest RAM`);
    }
  }
  return refs;
}

interface CollectedNote {
  readonly cpu: number;
  readonly bytes: Uint8Array; // a copy of the note as found in guest memory
  readonly prstatusDesc: number; // offset of the prstatus inside `bytes`, or -1
}

/** Step 1: every note in every CPU's buffer, in CPU order, copied out of guest RAM. */
function collectCpuNotes(input: VmcoreInput, refs: readonly CrashNotesRef[]): { notes: CollectedNote[]; missing: number[] } {
  const notes: CollectedNote[] = [];
  const missing: number[] = [];
  for (const r of refs) {
    const start = r.addr - input.ramBase;
    const buf = input.ram.slice(start, start + CRASH_NOTE_BYTES);
    const found = walkNotes(buf);
    if (found.length === 0) missing.push(r.cpu);
    for (const n of found) {
      const bytes = buf.slice(n.offset, n.offset + n.size);
      notes.push({ cpu: r.cpu, bytes, prstatusDesc: isArm64Prstatus(n) ? n.descOffset - n.offset : -1 });
    }
  }
  return { notes, missing };
}

/** EXT: pr_pid 0 becomes cpu+1, or the next pid no other note uses if that one is taken. */
function assignUniquePids(notes: readonly CollectedNote[]): { info: VmcoreNoteInfo[]; rewritten: string[] } {
  const info: VmcoreNoteInfo[] = [];
  const rewritten: string[] = [];
  const taken = new Set<number>();
  const saved = notes.map((n) => (n.prstatusDesc < 0 ? null : viewOf(n.bytes).getInt32(n.prstatusDesc + PRSTATUS_PR_PID, true)));
  for (const p of saved) if (p !== null && p !== 0) taken.add(p);
  notes.forEach((n, i) => {
    const savedPid = saved[i];
    if (savedPid === null || savedPid === undefined) return;
    let pid = savedPid;
    if (pid === 0) {
      pid = n.cpu + 1;
      while (taken.has(pid)) pid = Math.max(...taken) + 1;
      taken.add(pid);
      viewOf(n.bytes).setInt32(n.prstatusDesc + PRSTATUS_PR_PID, pid, true);
      rewritten.push(`cpu${n.cpu}->${pid}`);
    }
    info.push({ cpu: n.cpu, savedPid, pid });
  });
  return { info, rewritten };
}

/** Builds the vmcore from guest memory; see the file comment for the layout. */
export function buildVmcore(input: VmcoreInput): VmcoreBuild {
  const refs = checkInput(input);
  const { notes, missing } = collectCpuNotes(input, refs);
  const warnings: string[] = [];
  let info: VmcoreNoteInfo[];
  if (input.uniquePids) {
    const u = assignUniquePids(notes);
    info = u.info;
    if (u.rewritten.length > 0) {
      warnings.push(
        `pr_pid rewritten for idle CPUs (${u.rewritten.join(', ')}) so that gdb shows one thread per CPU; ` +
          'a real kernel writes pr_pid 0 for every idle CPU (not kernel behaviour)',
      );
    }
  } else {
    info = notes
      .filter((n) => n.prstatusDesc >= 0)
      .map((n) => {
        const pid = viewOf(n.bytes).getInt32(n.prstatusDesc + PRSTATUS_PR_PID, true);
        return { cpu: n.cpu, savedPid: pid, pid };
      });
  }
  const vmcoreinfo = encodeNote(VMCOREINFO_NOTE_NAME, VMCOREINFO_NOTE_TYPE, new TextEncoder().encode(input.vmcoreinfo));

  // Step 2: layout of the merged file.
  const loads = 1;
  const phnum = 1 + loads;
  const notesSize = notes.reduce((s, n) => s + n.bytes.length, 0) + vmcoreinfo.length;
  const notesOffset = roundUp(EHDR_SIZE + phnum * PHDR_SIZE, PAGE_SIZE);
  const ramOffset = notesOffset + roundUp(notesSize, PAGE_SIZE);
  const out = new Uint8Array(ramOffset + input.ram.length);
  const dv = viewOf(out);
  writeEhdr(dv, { type: ET_CORE, machine: EM_AARCH64, entry: 0, phoff: EHDR_SIZE, shoff: 0, flags: 0, phnum, shnum: 0, shstrndx: 0 });
  writePhdr(dv, EHDR_SIZE, { type: PT_NOTE, flags: 0, offset: notesOffset, vaddr: 0, paddr: 0, filesz: notesSize, memsz: notesSize, align: 4 });
  let at = notesOffset;
  for (const n of notes) {
    out.set(n.bytes, at);
    at += n.bytes.length;
  }
  out.set(vmcoreinfo, at);

  // Step 3: guest RAM.
  writePhdr(dv, EHDR_SIZE + PHDR_SIZE, {
    type: PT_LOAD, flags: PF_RWX, offset: ramOffset, vaddr: input.ramBase, paddr: input.ramBase,
    filesz: input.ram.length, memsz: input.ram.length, align: 0,
  });
  out.set(input.ram, ramOffset);
  return { bytes: out, notes: info, missing, warnings };
}

// =====================================================================
// Reading a vmcore back
// =====================================================================

export interface VmcoreNoteSummary {
  readonly name: string;
  readonly type: number;
  readonly descsz: number;
  /** Offset of the descriptor in the file. */
  readonly descOffset: number;
}

export interface VmcorePrstatusSummary {
  /** Index among all notes of the file. */
  readonly note: number;
  readonly pid: number;
  readonly pc: bigint;
  readonly sp: bigint;
  readonly pstate: bigint;
  /** True when every prstatus byte outside pr_pid and pr_reg is zero, as crash_save_cpu() leaves it. */
  readonly otherFieldsZero: boolean;
}

export interface VmcoreSummary {
  readonly type: number;
  readonly machine: number;
  readonly phdrs: readonly Elf64Phdr<bigint>[];
  readonly notes: readonly VmcoreNoteSummary[];
  readonly prstatus: readonly VmcorePrstatusSummary[];
  readonly vmcoreinfo: string | null;
  readonly loads: readonly Elf64Phdr<bigint>[];
}

/**
 * Parses an ELF core (ours or a real /proc/vmcore; a truncated file is fine
 * as long as its headers and notes are present): program headers, every note
 * of every PT_NOTE, and pid/pc/sp/pstate of each arm64 NT_PRSTATUS.
 */
export function vmcoreSummary(bytes: Uint8Array): VmcoreSummary {
  const h = readEhdr(bytes);
  const phdrs = readPhdrs(bytes, h);
  const dv = viewOf(bytes);
  const notes: VmcoreNoteSummary[] = [];
  const prstatus: VmcorePrstatusSummary[] = [];
  let vmcoreinfo: string | null = null;
  for (const p of phdrs) {
    if (p.type !== PT_NOTE) continue;
    const start = Number(p.offset);
    for (const n of walkNotes(bytes, start, start + Number(p.filesz))) {
      const index = notes.length;
      notes.push({ name: n.name, type: n.type, descsz: n.descsz, descOffset: n.descOffset });
      if (isArm64Prstatus(n)) {
        const reg = n.descOffset + PRSTATUS_PR_REG;
        let otherFieldsZero = true;
        for (let i = 0; i < n.descsz; i++) {
          const inPid = i >= PRSTATUS_PR_PID && i < PRSTATUS_PR_PID + 4;
          const inReg = i >= PRSTATUS_PR_REG && i < PRSTATUS_PR_REG + 8 * (PR_REG_PSTATE + 1);
          if (!inPid && !inReg && bytes[n.descOffset + i] !== 0) otherFieldsZero = false;
        }
        prstatus.push({
          note: index,
          pid: dv.getInt32(n.descOffset + PRSTATUS_PR_PID, true),
          sp: dv.getBigUint64(reg + 8 * PR_REG_SP, true),
          pc: dv.getBigUint64(reg + 8 * PR_REG_PC, true),
          pstate: dv.getBigUint64(reg + 8 * PR_REG_PSTATE, true),
          otherFieldsZero,
        });
      } else if (n.name === VMCOREINFO_NOTE_NAME && n.type === VMCOREINFO_NOTE_TYPE && vmcoreinfo === null) {
        vmcoreinfo = new TextDecoder().decode(bytes.subarray(n.descOffset, n.descOffset + n.descsz));
      }
    }
  }
  return { type: h.type, machine: h.machine, phdrs, notes, prstatus, vmcoreinfo, loads: phdrs.filter((p) => p.type === PT_LOAD) };
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/**
 * A short text form of a summary for the CLI: one line per PT_LOAD and per
 * note. `symbolize` (e.g. KernelImage.symbolize) names saved PCs; `cpus`
 * (VmcoreBuild.notes) labels each NT_PRSTATUS note with its CPU, which the
 * file itself does not record.
 */
export function formatVmcoreSummary(s: VmcoreSummary, opts: { symbolize?: (addr: number) => string; cpus?: readonly VmcoreNoteInfo[] } = {}): string[] {
  const lines: string[] = [];
  const type = s.type === ET_CORE ? 'ET_CORE' : `e_type ${s.type}`;
  const machine = s.machine === EM_AARCH64 ? 'EM_AARCH64' : `e_machine ${s.machine}`;
  lines.push(`${type} ${machine}, ${s.notes.length} notes, ${s.loads.length} PT_LOAD`);
  for (const l of s.loads) lines.push(`  PT_LOAD ${hex(l.paddr)}-${hex(l.paddr + l.memsz)} at file offset ${hex(l.offset)}`);
  let k = 0;
  s.notes.forEach((n, i) => {
    const pr = s.prstatus.find((p) => p.note === i);
    if (pr) {
      const cpu = opts.cpus?.[k++];
      const pc = Number(pr.pc);
      const sym = opts.symbolize && Number.isSafeInteger(pc) ? ` ${opts.symbolize(pc)}` : '';
      lines.push(`  ${cpu ? `cpu${cpu.cpu} ` : ''}${n.name} NT_PRSTATUS pid ${pr.pid} pc ${hex(pr.pc)}${sym} sp ${hex(pr.sp)} pstate ${hex(pr.pstate)}`);
    } else {
      lines.push(`  ${n.name} type ${n.type} (${n.descsz} bytes)`);
    }
  });
  return lines;
}

/**
 * struct pt_regs as arm64 Linux lays it out on the stack at exception entry
 * (linux arch/arm64/include/asm/ptrace.h). The first 34 words are the
 * user_pt_regs that crash_save_cpu copies into an NT_PRSTATUS note.
 */
export const PT_REGS = {
  X0: 0x000, // regs[0..30], 8 bytes each
  SP: 0x0f8,
  PC: 0x100,
  PSTATE: 0x108,
  ORIG_X0: 0x110,
  SYSCALLNO: 0x118, // s32
  PMR: 0x11c, // u32 ICC_PMR_EL1 at entry (pseudo-NMI)
  SDEI_TTBR1: 0x120,
  STACKFRAME: 0x128, // struct frame_record_meta
  SIZE: 0x150, // PT_REGS_SIZE (S_FRAME_SIZE)
} as const;

/** The user_pt_regs part copied into elf_prstatus.pr_reg: x0-x30, sp, pc, pstate. */
export const USER_PT_REGS_BYTES = 34 * 8;

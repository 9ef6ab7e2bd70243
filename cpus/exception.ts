/**
 * Exception vector offsets (Arm DDI0487 D1.10.2; reference section 5.2):
 * VBAR_ELx + 0x000 current EL with SP_EL0, 0x200 current EL with SP_ELx,
 * 0x400 lower EL AArch64, 0x600 lower EL AArch32; plus 0x000 synchronous,
 * 0x080 IRQ, 0x100 FIQ, 0x180 SError.
 */
export const VEC_SYNC = 0x000;
export const VEC_IRQ = 0x080;
export const VEC_FIQ = 0x100;
export const VEC_SERROR = 0x180;

export const VEC_CUR_SP0 = 0x000;
export const VEC_CUR_SPX = 0x200;
export const VEC_LOWER_A64 = 0x400;
export const VEC_LOWER_A32 = 0x600;

/** Linux's names for the EL1h entries (arch/arm64/kernel/entry.S kernel_ventry). */
export const VECTOR_NAMES: Record<number, string> = {
  0x200: 'el1h_64_sync',
  0x280: 'el1h_64_irq',
  0x300: 'el1h_64_fiq',
  0x380: 'el1h_64_error',
  0x400: 'el0t_64_sync',
  0x480: 'el0t_64_irq',
};

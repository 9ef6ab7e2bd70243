/**
 * PSTATE as the model keeps it: in SPSR_ELx format (Arm DDI0487 C5.2.18), so
 * that saving it on exception entry and restoring it on ERET is a copy.
 *
 * Modelled bits: M[3:0] (exception level and stack pointer select), F, I, A, D
 * at bits 6-9 (linux arch/arm64/include/uapi/asm/ptrace.h), ALLINT at bit 13
 * (FEAT_NMI). NZCV, SS, IL, PAN, SSBS and BTYPE are not modelled: no guest
 * behaviour in smpstop depends on them.
 */

export const PSR_F = 0x40;
export const PSR_I = 0x80;
export const PSR_A = 0x100;
export const PSR_D = 0x200;
export const PSR_DAIF = PSR_D | PSR_A | PSR_I | PSR_F;
export const PSR_ALLINT = 0x2000;

export const PSR_MODE_MASK = 0xf;
export const PSR_MODE_EL0T = 0b0000;
export const PSR_MODE_EL1T = 0b0100;
export const PSR_MODE_EL1H = 0b0101;
export const PSR_MODE_EL2H = 0b1001;
export const PSR_MODE_EL3H = 0b1101;

/** Linux presets (arch/arm64/include/asm/daifflags.h). */
export const DAIF_PROCCTX = 0;
export const DAIF_PROCCTX_NOIRQ = PSR_I | PSR_F;
export const DAIF_ERRCTX = PSR_A | PSR_I | PSR_F;
export const DAIF_MASK = PSR_DAIF;

/** Current exception level encoded in M[3:2]. */
export function pstateEl(pstate: number): number {
  return (pstate >> 2) & 3;
}

/**
 * The 4-bit immediate of `MSR DAIFSet/DAIFClr, #imm` maps D=bit3, A=bit2,
 * I=bit1, F=bit0; shifted left by 6 it lands on the PSTATE positions.
 */
export function daifImmToBits(imm: number): number {
  return (imm & 0xf) << 6;
}

export function describePstate(pstate: number): string {
  const mode = pstate & PSR_MODE_MASK;
  const modeName =
    mode === PSR_MODE_EL1H ? 'EL1h' : mode === PSR_MODE_EL1T ? 'EL1t' : mode === PSR_MODE_EL3H ? 'EL3h' :
    mode === PSR_MODE_EL0T ? 'EL0t' : mode === PSR_MODE_EL2H ? 'EL2h' : `M=${mode}`;
  const daif = (pstate & PSR_D ? 'D' : 'd') + (pstate & PSR_A ? 'A' : 'a') + (pstate & PSR_I ? 'I' : 'i') + (pstate & PSR_F ? 'F' : 'f');
  return `${modeName} ${daif}${pstate & PSR_ALLINT ? ' ALLINT' : ''}`;
}

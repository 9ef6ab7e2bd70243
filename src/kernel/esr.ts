/**
 * arch/arm64/include/asm/esr.h: the SError ISS fields the RAS handling
 * reads, and arm64_is_fatal_ras_serror (arch/arm64/kernel/traps.c).
 */

/** ESR_ELx ISS of an SError: DFSC 0b010001 (asynchronous SError), AET in bits 12:10. */
export const ESR_ELX_FSC_SERROR = 0x11;
export const ESR_ELX_AET_SHIFT = 10;
export const ESR_ELX_AET_UC = 0;
export const ESR_ELX_AET_UEU = 1;
export const ESR_ELX_AET_UEO = 2;
export const ESR_ELX_AET_UER = 3;
export const ESR_ELX_AET_CE = 6;

/**
 * arm64_is_fatal_ras_serror: a corrected (CE) or restartable (UEO) error
 * lets the CPU make progress; UEU/UER cannot; anything else is an
 * uncontainable error.
 */
export function arm64_is_fatal_ras_serror(esr: number): boolean {
  if ((esr & 0x3f) !== ESR_ELX_FSC_SERROR) return true; // not a RAS SError
  const aet = (esr >>> ESR_ELX_AET_SHIFT) & 7;
  return !(aet === ESR_ELX_AET_CE || aet === ESR_ELX_AET_UEO);
}

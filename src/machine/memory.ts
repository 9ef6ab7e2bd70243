/**
 * The guest physical address map, modelled on QEMU's `virt` board.
 *
 * The guest runs flat (as a kernel with the MMU off would): guest addresses are
 * physical addresses below 4 GiB, so every address and pointer is an exact
 * JavaScript number. Everything that is neither RAM nor a device is unmapped;
 * in particular page 0 is, so a NULL dereference is a synchronous data abort.
 *
 * Memory accesses are sequentially consistent (every RAM access is an Atomics
 * operation). That is stronger than the Arm memory model; barriers are kept as
 * instructions so their position is visible in traces, but they order nothing
 * extra. The README says so.
 */

export const GICD_BASE = 0x0800_0000;
export const GICD_SIZE = 0x1_0000;
export const GICR_BASE = 0x080a_0000;
/** Each redistributor has an RD frame and an SGI frame of 64 KiB each. */
export const GICR_STRIDE = 0x2_0000;
export const GICR_SGI_OFFSET = 0x1_0000;
export const RAM_BASE = 0x4000_0000;
export const PAGE_SIZE = 0x1000;

export interface MemoryMap {
  readonly ramBase: number;
  readonly ramBytes: number;
  readonly ramEnd: number;
  readonly gicrEnd: number;
}

export function memoryMap(ncpus: number, ramBytes: number): MemoryMap {
  if (ramBytes % PAGE_SIZE !== 0) throw new Error(`RAM size ${ramBytes} is not a whole number of pages`);
  if (RAM_BASE + ramBytes > 0x1_0000_0000) throw new Error(`RAM of ${ramBytes} bytes does not fit below 4 GiB`);
  return { ramBase: RAM_BASE, ramBytes, ramEnd: RAM_BASE + ramBytes, gicrEnd: GICR_BASE + ncpus * GICR_STRIDE };
}

/** ESR_ELx encodings (Arm DDI0487 D17.2.37). */
export const ESR_EC_SHIFT = 26;
export const ESR_IL = 1 << 25;
export const EC_UNKNOWN = 0x00;
export const EC_WFX = 0x01;
export const EC_SVC64 = 0x15;
export const EC_SMC64 = 0x17;
export const EC_IABT_CUR = 0x21;
export const EC_PC_ALIGN = 0x22;
export const EC_DABT_CUR = 0x25;
export const EC_SERROR = 0x2f;
export const EC_BREAKPT_CUR = 0x31;
export const EC_SOFTSTP_CUR = 0x33;
export const EC_WATCHPT_CUR = 0x35;
export const EC_BRK64 = 0x3c;
/** Data abort ISS: WnR (bit 6), DFSC translation fault level 0 (0b000100). */
export const ISS_WNR = 1 << 6;
export const DFSC_TRANSLATION_L0 = 0b000100;
export const DFSC_ALIGNMENT = 0b100001;

export function esrDataAbort(write: boolean, dfsc: number): number {
  return ((EC_DABT_CUR << ESR_EC_SHIFT) | ESR_IL | (write ? ISS_WNR : 0) | dfsc) >>> 0;
}

export function esrEc(esr: number): number {
  return (esr >>> ESR_EC_SHIFT) & 0x3f;
}

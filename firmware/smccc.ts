/**
 * SMC Calling Convention (Arm DEN0028; reference/firmware-and-gic.md section 1).
 *
 * w0 bit 31: fast call; bit 30: SMC64; bits 29:24: owning entity; 15:0: function.
 * Results in x0 (x1-x3 where defined); x4-x17 are preserved (SMCCC >= 1.1),
 * which the model gets for free because EL3 code only writes what it returns.
 */
export const SMCCC_VERSION = 0x8000_0000;
export const SMCCC_ARCH_FEATURES = 0x8000_0001;
export const SMCCC_VERSION_1_5 = 0x0001_0005;
/** w0 bit 16 (SMCCC >= 1.3): SVE live state need not be preserved; not part of the function id. */
export const SMCCC_SVE_HINT = 0x0001_0000;

export const SMC_UNK = -1; // NOT_SUPPORTED, as all ones
export const SMCCC_RET_NOT_REQUIRED = -2;
export const SMCCC_RET_INVALID_PARAMETER = -3;

export const OEN_ARCH = 0;
export const OEN_STD = 4;

export interface DecodedFid {
  readonly fid: number;
  readonly fast: boolean;
  readonly smc64: boolean;
  readonly oen: number;
  readonly func: number;
  readonly reservedOk: boolean;
}

export function decodeFid(x0: number): DecodedFid {
  const fid = Number(BigInt.asUintN(32, BigInt(Math.trunc(x0)))); // w0
  return {
    fid,
    fast: (fid >>> 31) === 1,
    smc64: ((fid >>> 30) & 1) === 1,
    oen: (fid >>> 24) & 0x3f,
    func: fid & 0xffff,
    // bits 23:17 must be zero for fast calls (bit 16 is the SVE hint in SMCCC >= 1.3)
    reservedOk: ((fid >>> 17) & 0x7f) === 0,
  };
}

/** For an SMC32 call, arguments are 32-bit: the upper halves are ignored. */
export function arg32(v: number): number {
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(v))));
}

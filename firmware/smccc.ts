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

const TWO32 = 0x1_0000_0000;

/**
 * The affinity fields of MPIDR value `v` (Aff3 in bits 39:32, Aff2..Aff0 in
 * 23:0; BigInt.asUintN(64) of the value masked with 0xff00ffffff), without a
 * BigInt for the values registers hold (integers 0 to 2^53 - 1).
 */
export function mpidrAffinityBits(v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) return Number(BigInt.asUintN(64, BigInt(Math.trunc(v))) & 0xff00ffffffn);
  return (Math.floor(v / TWO32) & 0xff) * TWO32 + ((v % TWO32) & 0xffffff);
}

export function decodeFid(x0: number): DecodedFid {
  const fid = arg32(x0); // w0
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

/**
 * w<n> of register value `v`: its low 32 bits, unsigned (BigInt.asUintN(32) of
 * the truncated value). For an SMC32 call, arguments are 32-bit: the upper
 * halves are ignored. Perf: ToUint32 (`>>> 0`) is that same modulo for every
 * finite number, without a BigInt per SMC; a non-finite value throws, as
 * BigInt() does.
 */
export function arg32(v: number): number {
  if (!Number.isFinite(v)) return Number(BigInt.asUintN(32, BigInt(Math.trunc(v))));
  return v >>> 0;
}

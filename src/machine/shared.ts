/**
 * All shared memory of one machine run, and typed views over it.
 *
 * A run's state is a handful of SharedArrayBuffers (control block, CPU
 * regions, GIC, firmware, guest RAM, trace rings). The controller allocates
 * them; every CPU worker attaches to the same buffers with `attach`. Nothing in
 * here is per-thread except the views themselves.
 */
import { CpuLayout } from '../../cpus/layout.js';
import { ControlLayout } from './control.js';
import { DistributorLayout, RedistributorLayout } from '../gic/layout.js';
import { FirmwareLayout, firmwareBytes } from '../../firmware/layout.js';
import { memoryMap, type MemoryMap } from './memory.js';
import { TraceLayout, traceBytes, traceRingBytes } from '../trace/layout.js';

export const MAX_CPUS = 512;

export interface MachineGeometry {
  readonly ncpus: number;
  readonly ramBytes: number;
  /** Trace records per CPU ring (0 disables tracing). */
  readonly traceRecords: number;
}

export interface MachineBuffers {
  readonly control: SharedArrayBuffer;
  readonly cpus: SharedArrayBuffer;
  readonly gic: SharedArrayBuffer;
  readonly firmware: SharedArrayBuffer;
  readonly ram: SharedArrayBuffer;
  /**
   * One byte per 256-byte chunk of `ram` (RAM_DIRTY_SHIFT), padded to whole
   * 32-bit words: non-zero once anything may have written the chunk
   * (recycling zeroes only those).
   */
  readonly ramDirty: SharedArrayBuffer;
  readonly trace: SharedArrayBuffer;
}

/**
 * log2 of the guest RAM chunk one `ramDirty` byte tracks. Perf: a run writes
 * scattered words (pt_regs frames, per-CPU data, crash notes): at 4 KiB pages
 * recycling zeroed 120 KB for about 34 KB written in an 8-CPU run, and 3 MB in
 * a 256-CPU run; 256-byte chunks keep every aligned access of up to 8 bytes in
 * one chunk, as pages did.
 */
export const RAM_DIRTY_SHIFT = 8;

/** Per-CPU strides in elements. */
export const CPU_I32 = CpuLayout.size / 4;
export const CPU_F64 = CpuLayout.size / 8;
export const GICR_I32 = RedistributorLayout.size / 4;

export class MachineShared {
  readonly geometry: MachineGeometry;
  readonly buffers: MachineBuffers;
  readonly map: MemoryMap;
  readonly ncpus: number;

  readonly ctl32: Int32Array;
  readonly ctlF64: Float64Array;
  readonly cpu32: Int32Array;
  readonly cpuF64: Float64Array;
  /** Distributor words at [0, DistributorLayout.size/4), redistributor of PE n after it. */
  readonly gic32: Int32Array;
  readonly gicU8: Uint8Array;
  readonly gicrBase32: number;
  readonly fw32: Int32Array;
  readonly fwF64: Float64Array;
  readonly ram32: Int32Array;
  readonly ramU8: Uint8Array;
  /**
   * Dirty map of guest RAM, one byte per page. Every writer of RAM marks the
   * pages it writes (the core's stores, host-side helpers through
   * `noteRamWrite`), so a recycled machine zeroes only those. Plain stores of
   * 1 from any thread; read only after the run has ended (the end of the run
   * orders them).
   */
  readonly ramDirty: Uint8Array;
  readonly trace32: Int32Array;
  readonly traceF64: Float64Array;
  /**
   * True while one thread runs every CPU of this machine (the sim engine sets
   * it before it builds the cores): the hot paths may then use plain accesses
   * for shared words (src/machine/access.ts). False for a worker's attached
   * view and for the threads engine.
   */
  singleThread = false;
  /**
   * Sim engine only (null otherwise): told, in the one thread, of every CPU a
   * wake moves to RUNNING (runstate.ts claim), so the scheduler keeps its
   * runnable list without scanning every CPU.
   */
  onWake: ((cpu: number) => void) | null = null;

  private constructor(geometry: MachineGeometry, buffers: MachineBuffers) {
    this.geometry = geometry;
    this.buffers = buffers;
    this.ncpus = geometry.ncpus;
    this.map = memoryMap(geometry.ncpus, geometry.ramBytes);
    this.ctl32 = new Int32Array(buffers.control);
    this.ctlF64 = new Float64Array(buffers.control);
    this.cpu32 = new Int32Array(buffers.cpus);
    this.cpuF64 = new Float64Array(buffers.cpus);
    this.gic32 = new Int32Array(buffers.gic);
    this.gicU8 = new Uint8Array(buffers.gic);
    this.gicrBase32 = DistributorLayout.size / 4;
    this.fw32 = new Int32Array(buffers.firmware);
    this.fwF64 = new Float64Array(buffers.firmware);
    this.ram32 = new Int32Array(buffers.ram);
    this.ramU8 = new Uint8Array(buffers.ram);
    this.ramDirty = new Uint8Array(buffers.ramDirty);
    this.trace32 = new Int32Array(buffers.trace);
    this.traceF64 = new Float64Array(buffers.trace);
  }

  static allocate(geometry: MachineGeometry): MachineShared {
    const { ncpus } = geometry;
    if (!Number.isInteger(ncpus) || ncpus < 1 || ncpus > MAX_CPUS) {
      throw new RangeError(`cpus must be an integer from 1 to ${MAX_CPUS}, got ${ncpus}`);
    }
    const recycled = takeRecycled(geometry);
    if (recycled) return new MachineShared(geometry, recycled);
    const buffers: MachineBuffers = {
      control: new SharedArrayBuffer(ControlLayout.size),
      cpus: new SharedArrayBuffer(CpuLayout.size * ncpus),
      gic: new SharedArrayBuffer(DistributorLayout.size + RedistributorLayout.size * ncpus),
      firmware: new SharedArrayBuffer(firmwareBytes(ncpus)),
      ram: new SharedArrayBuffer(geometry.ramBytes),
      ramDirty: new SharedArrayBuffer(ramDirtyBytes(geometry.ramBytes)),
      trace: new SharedArrayBuffer(traceBytes(ncpus, geometry.traceRecords)),
    };
    return new MachineShared(geometry, buffers);
  }

  static attach(geometry: MachineGeometry, buffers: MachineBuffers): MachineShared {
    return new MachineShared(geometry, buffers);
  }

  /**
   * Hands this machine's buffers to the next machine of the same geometry
   * (they are zeroed when taken). Only for a finished run that nothing will
   * read again, and whose threads have all returned. The threads engine
   * wants it: each CPU worker receives its own handle on every run's
   * buffers, and an isolate frees those only at a major GC, which a worker
   * with a small heap seldom does, so fresh buffers per run pile up (a
   * 5,000-run soak grew RSS by half). A sim run wants it too: a fresh
   * 5 MB set costs a run about 0.5-1 ms (the allocator zeroes it, then every
   * page the run touches faults in), while a recycled set is zeroed only where
   * the run wrote (the RAM dirty map, the trace ring headers).
   */
  recycle(): void {
    const key = geometryKey(this.geometry);
    const list = pool.get(key) ?? [];
    const bytes = bytesOf(this.buffers);
    if (list.includes(this.buffers) || list.length >= POOL_PER_GEOMETRY || bytes > POOL_MAX_BYTES) return;
    // The geometry recycled last is the one the next run most likely wants: make room by dropping
    // the sets of the geometries recycled longest ago. Perf: a process that ran smaller machines
    // first (the bench's scaling rows, a test file, a library user sweeping CPU counts) otherwise
    // keeps their sets and refuses a 256-CPU set (95 MB), so every 256-CPU run allocated fresh
    // buffers: 10% of its host CPU, paired.
    pool.delete(key);
    for (const [k, l] of pool) {
      if (pooledBytes + bytes <= POOL_MAX_BYTES) break;
      for (const b of l) pooledBytes -= bytesOf(b);
      pool.delete(k);
    }
    if (pooledBytes + bytes > POOL_MAX_BYTES) {
      if (list.length > 0) pool.set(key, list);
      return;
    }
    list.push(this.buffers);
    pool.set(key, list); // last in the map's order: recycled most recently
    pooledBytes += bytes;
  }

  /** Marks guest RAM bytes [off, off + bytes) (offsets into `ram`) as written: host-side writers must call it. */
  noteRamWrite(off: number, bytes: number): void {
    if (bytes <= 0) return;
    const last = (off + bytes - 1) >>> RAM_DIRTY_SHIFT;
    for (let p = off >>> RAM_DIRTY_SHIFT; p <= last; p++) this.ramDirty[p] = 1;
  }

  /** Index of CPU field `index` (an i32 element index from CpuLayout) for `cpu`. */
  cpuI(cpu: number, index: number): number {
    return cpu * CPU_I32 + index;
  }
  cpuF(cpu: number, index: number): number {
    return cpu * CPU_F64 + index;
  }
  /** i32 index of redistributor field `index` of PE `pe`. */
  gicrI(pe: number, index: number): number {
    return this.gicrBase32 + pe * GICR_I32 + index;
  }
  /** Byte index of the stored priority of INTID 0-31 at PE `pe`. */
  gicrPrioByte(pe: number, intid: number): number {
    return (this.gicrBase32 + pe * GICR_I32 + RedistributorLayout.fields.IPRIORITYR.index) * 4 + intid;
  }
  gicdPrioByte(spi: number): number {
    return DistributorLayout.fields.IPRIORITYR.index * 4 + spi;
  }
}

export { ControlLayout, CpuLayout, DistributorLayout, RedistributorLayout, FirmwareLayout, TraceLayout };

// ---------------------------------------------------------------------------
// Recycled buffers: per geometry, a few sets, zeroed when taken.
// ---------------------------------------------------------------------------

const POOL_PER_GEOMETRY = 2;
/**
 * Bytes of buffers the pool keeps, counted as allocated. Only the pages a run
 * touched are resident (a fresh SharedArrayBuffer is mapped lazily, and a
 * recycled one is zeroed only where it was written): a pooled 256-CPU set
 * (95 MB) holds about 10 MB of RSS after the bench scenario. A set the pool
 * drops stays allocated until the isolate's next major GC, so a pool smaller
 * than the sets a process alternates between costs more memory, not less: the
 * bench's interleaved scaling sweeps (2 to 256 CPUs, 192 MB of sets) left
 * 1.9 GB of dropped sets behind with 128 MB here (RSS 437 MB against 244).
 */
const POOL_MAX_BYTES = 256 * 1024 * 1024;
/** Per geometry, its recycled sets; the map's order is that of the geometries' last recycle (oldest first). */
const pool = new Map<string, MachineBuffers[]>();
let pooledBytes = 0;

const geometryKey = (g: MachineGeometry): string => `${g.ncpus}/${g.ramBytes}/${g.traceRecords}`;
const bytesOf = (b: MachineBuffers): number =>
  b.control.byteLength + b.cpus.byteLength + b.gic.byteLength + b.firmware.byteLength + b.ram.byteLength + b.ramDirty.byteLength + b.trace.byteLength;
/** Bytes of `ramDirty` for `ramBytes` of RAM: one per chunk, rounded up to whole 32-bit words (scanned and cleared as words). */
const ramDirtyBytes = (ramBytes: number): number => 4 * Math.ceil(Math.ceil(ramBytes / (1 << RAM_DIRTY_SHIFT)) / 4);

/** Zeroes a whole buffer (Int32Array.fill: Uint8Array.fill on a SharedArrayBuffer takes a slow path, about 4x). */
function zero(sab: SharedArrayBuffer): void {
  const words = sab.byteLength >> 2;
  new Int32Array(sab, 0, words).fill(0);
  if (sab.byteLength & 3) new Uint8Array(sab, words << 2).fill(0);
}

/** Recycled buffers for `g`, in the state fresh ones have, or null. */
function takeRecycled(g: MachineGeometry): MachineBuffers | null {
  const b = pool.get(geometryKey(g))?.pop();
  if (!b) return null;
  pooledBytes -= bytesOf(b);
  for (const sab of [b.control, b.cpus, b.gic, b.firmware]) zero(sab);
  // Guest RAM: only the chunks some writer marked, consecutive ones in one fill; the marks are
  // scanned a word (four chunks) at a time, as most are clear.
  const dirty32 = new Int32Array(b.ramDirty);
  const dirty = new Uint8Array(b.ramDirty);
  const ram32 = new Int32Array(b.ram);
  const chunkWords = (1 << RAM_DIRTY_SHIFT) >> 2;
  let runFrom = 0;
  let runTo = 0; // chunks [runFrom, runTo) to zero, not yet zeroed
  for (let w = 0; w < dirty32.length; w++) {
    if (dirty32[w] === 0) continue;
    for (let c = 4 * w; c < 4 * w + 4; c++) {
      if (dirty[c] === 0) continue;
      if (c !== runTo) {
        if (runTo > runFrom) ram32.fill(0, runFrom * chunkWords, Math.min(ram32.length, runTo * chunkWords));
        runFrom = c;
      }
      runTo = c + 1;
    }
  }
  if (runTo > runFrom) ram32.fill(0, runFrom * chunkWords, Math.min(ram32.length, runTo * chunkWords));
  dirty32.fill(0);
  // Trace rings: only the headers say what is in them (a reader never looks past HEAD).
  if (g.traceRecords > 0) {
    const ringBytes = traceRingBytes(g.traceRecords);
    const trace32 = new Int32Array(b.trace);
    const ringWords = ringBytes / 4;
    for (let cpu = 0; cpu < g.ncpus; cpu++) trace32.fill(0, cpu * ringWords, cpu * ringWords + TraceLayout.size / 4);
  }
  return b;
}

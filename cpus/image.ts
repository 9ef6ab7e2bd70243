/**
 * The synthetic kernel image: every guest function gets an address range in a
 * text section, so a PC is always an address that symbolizes
 * (`cpu_park_loop+0x8`), an ERET or CPU_ON entry point names a function, and
 * a vmcore can be symbolized with the ELF symbol file built from this table.
 *
 * Placement is deterministic: functions are laid out in the order given, each
 * aligned to 16 bytes; the exception vector table (2 KiB aligned, VBAR_EL1)
 * comes first with its entries at their architectural offsets.
 */
import type { GuestFunction, PlacedFn } from './isa.js';

export interface VectorEntry {
  readonly offset: number;
  readonly fn: GuestFunction;
}

export interface ImageSpec {
  readonly textBase: number;
  /** Exception vectors, placed at textBase (which must be 2 KiB aligned). */
  readonly vectors?: readonly VectorEntry[];
  readonly functions: readonly GuestFunction[];
}

export interface Symbol {
  readonly name: string;
  readonly addr: number;
  readonly size: number;
}

/**
 * A placed function. Perf: every one has the same shape (fields assigned in
 * one order, nothing else), so the core's loads of `body`, `size`, `base` and
 * `traced` at each BL stay monomorphic; objects spread from the definitions
 * had gone megamorphic at those sites.
 */
class PlacedFunction<Ctx> implements PlacedFn<Ctx> {
  constructor(
    readonly name: string,
    readonly body: GuestFunction<Ctx>['body'],
    readonly size: number,
    readonly traced: boolean,
    readonly base: number,
    readonly end: number,
    readonly id: number,
  ) {}
}

function place<Ctx>(f: GuestFunction<Ctx>, size: number, base: number, id: number): PlacedFn<Ctx> {
  return new PlacedFunction(f.name, f.body, size, f.traced, base, base + size * 4, id);
}

export class KernelImage {
  readonly textBase: number;
  readonly textEnd: number;
  readonly vbar: number;
  readonly fns: readonly PlacedFn[];
  readonly symbols: readonly Symbol[];
  private readonly byName = new Map<string, PlacedFn>();
  private readonly byEntry = new Map<number, PlacedFn>();
  private readonly sortedBase: number[];

  constructor(spec: ImageSpec) {
    if (spec.textBase % 0x800 !== 0) throw new Error('text base must be 2 KiB aligned for VBAR_EL1');
    const placed: PlacedFn[] = [];
    const symbols: Symbol[] = [];
    let addr = spec.textBase;
    this.vbar = spec.textBase;
    if (spec.vectors && spec.vectors.length > 0) {
      symbols.push({ name: 'vectors', addr, size: 0x800 });
      for (const v of spec.vectors) {
        if (v.offset % 0x80 !== 0 || v.offset >= 0x800) throw new Error(`vector offset 0x${v.offset.toString(16)} invalid`);
        const size = Math.min(v.fn.size, 0x80 / 4);
        placed.push(place(v.fn, size, addr + v.offset, placed.length));
      }
      addr += 0x800;
    }
    for (const f of spec.functions) {
      addr = Math.ceil(addr / 16) * 16;
      placed.push(place(f, f.size, addr, placed.length));
      addr += f.size * 4;
    }
    for (const p of placed) {
      if (this.byName.has(p.name)) throw new Error(`guest function '${p.name}' defined twice in one image`);
      this.byName.set(p.name, p);
      this.byEntry.set(p.base, p);
      symbols.push({ name: p.name, addr: p.base, size: p.end - p.base });
    }
    symbols.sort((a, b) => a.addr - b.addr || (a.name === 'vectors' ? -1 : 1));
    this.textBase = spec.textBase;
    this.textEnd = Math.ceil(addr / 0x1000) * 0x1000;
    this.fns = placed;
    this.symbols = symbols;
    this.sortedBase = placed.map((p) => p.base);
    const order = placed.map((_, i) => i).sort((a, b) => placed[a]!.base - placed[b]!.base);
    this.sortedFns = order.map((i) => placed[i]!);
    this.sortedBase = this.sortedFns.map((p) => p.base);
  }

  private readonly sortedFns: PlacedFn[];

  fn(name: string): PlacedFn {
    const f = this.byName.get(name);
    if (!f) throw new Error(`no guest function '${name}' in the image`);
    return f;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The function whose entry point is `addr`, or undefined. */
  entryAt(addr: number): PlacedFn | undefined {
    return this.byEntry.get(addr);
  }

  /** The function containing `addr`, or undefined. */
  fnAt(addr: number): PlacedFn | undefined {
    let lo = 0;
    let hi = this.sortedBase.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.sortedBase[mid]! <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    const f = this.sortedFns[hi];
    return f && addr < f.end ? f : undefined;
  }

  /** `name+0xoff`, or the hex address when it is outside every function. */
  symbolize(addr: number): string {
    const f = this.fnAt(addr);
    if (!f) return `0x${addr.toString(16)}`;
    const off = addr - f.base;
    return off === 0 ? f.name : `${f.name}+0x${off.toString(16)}`;
  }
}

/**
 * Declarative SharedArrayBuffer layouts.
 *
 * Every shared-memory region in smpstop (a CPU's architectural state, a
 * redistributor, the firmware's per-PE SDEI state, ...) is declared once as a
 * table of named fields with a type, a count and an owner. Offsets are computed
 * here, never written by hand, and everything else indexes shared memory
 * through the names this module returns (STYLE.md rule 4).
 *
 * Owners document who may write a field:
 *  - `cpu`: only the thread running that CPU (plain stores are fine; other
 *    threads read it only after a synchronising Atomics operation);
 *  - `any`: any thread, always through Atomics;
 *  - `firmware`: EL3 code, which runs on the calling CPU's thread but may act
 *    on another PE's state (CPU_ON, EVENT_SIGNAL), so through Atomics;
 *  - `controller`: the thread that owns the Machine.
 */

export type FieldType = 'i32' | 'u32' | 'f64' | 'i64';
export type Owner = 'cpu' | 'any' | 'firmware' | 'controller';

export interface FieldSpec {
  readonly type: FieldType;
  /** Number of consecutive elements (default 1). */
  readonly count?: number;
  readonly owner: Owner;
  readonly doc?: string;
}

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly count: number;
  readonly owner: Owner;
  /** Byte offset from the start of the region. */
  readonly offset: number;
  /** Element index in a typed array of this field's element size over the region. */
  readonly index: number;
  readonly bytes: number;
  readonly doc: string;
}

export interface Layout<K extends string> {
  readonly name: string;
  /** Region size in bytes, a multiple of 8. */
  readonly size: number;
  readonly fields: { readonly [P in K]: Field };
  readonly list: readonly Field[];
}

const WIDTH: Record<FieldType, number> = { i32: 4, u32: 4, f64: 8, i64: 8 };

/**
 * Lays out the fields in declaration order, each aligned to its element size.
 * The region size is rounded up to 8 bytes so regions can be packed in arrays.
 */
export function defineLayout<const T extends Record<string, FieldSpec>>(
  name: string,
  spec: T,
): Layout<Extract<keyof T, string>> {
  let offset = 0;
  const list: Field[] = [];
  for (const [fname, f] of Object.entries(spec)) {
    const width = WIDTH[f.type];
    const count = f.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`layout ${name}.${fname}: bad count ${count}`);
    offset = Math.ceil(offset / width) * width;
    const field: Field = {
      name: fname,
      type: f.type,
      count,
      owner: f.owner,
      offset,
      index: offset / width,
      bytes: width * count,
      doc: f.doc ?? '',
    };
    list.push(field);
    offset += field.bytes;
  }
  const size = Math.ceil(offset / 8) * 8;
  // Perf: built in one step, the table keeps fast properties. Stored one key at a time, a table of
  // more than 16 fields (CpuLayout has 38) went to dictionary mode, and every `F.X.index` in the
  // model's optimized code became a hash lookup through the generic LoadIC (3% of a sim run's samples).
  const fields = Object.fromEntries(list.map((f) => [f.name, f])) as { [P in Extract<keyof T, string>]: Field };
  return { name, size, fields, list };
}

/** Returns the pairs of fields whose byte ranges overlap (used by the layout test). */
export function overlaps(layout: Layout<string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const l = layout.list;
  for (let i = 0; i < l.length; i++) {
    for (let j = i + 1; j < l.length; j++) {
      const a = l[i]!;
      const b = l[j]!;
      if (a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes) out.push([a.name, b.name]);
    }
  }
  return out;
}

/** Typed views over one instance of a layout inside a larger buffer. */
export interface RegionViews {
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
}

export function regionViews(buffer: SharedArrayBuffer, byteOffset: number, size: number): RegionViews {
  if (byteOffset % 8 !== 0) throw new Error(`region offset ${byteOffset} not 8-aligned`);
  return {
    i32: new Int32Array(buffer, byteOffset, size / 4),
    u32: new Uint32Array(buffer, byteOffset, size / 4),
    f64: new Float64Array(buffer, byteOffset, size / 8),
    i64: new BigInt64Array(buffer, byteOffset, size / 8),
  };
}

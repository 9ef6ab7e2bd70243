/**
 * Typed access to the firmware's shared state (firmware/layout.ts) for EL3
 * code running on some CPU's thread.
 */
import {
  EventStateLayout, DispatchLayout, PeFirmwareLayout, FirmwareLayout,
  sharedEventOffset, privateEventOffset, dispatchOffset, peBlockOffset, MAX_DISPATCH,
} from './layout.js';
import { PRIVATE_EVENTS, SHARED_EVENTS, type EventDef } from './sdei/events.js';
import type { MachineShared } from '../src/machine/shared.js';
import type { FirmwareConfig, Quirk } from './quirks.js';
import type { CpuCore } from '../cpus/core.js';

const E = EventStateLayout.fields;
const DL = DispatchLayout.fields;
const P = PeFirmwareLayout.fields;
const G = FirmwareLayout.fields;

/** An event instance: a shared event, or a private event on one PE. */
export class EventInstance {
  constructor(
    private readonly fw: FirmwareState,
    readonly def: EventDef,
    /** Index in PRIVATE_EVENTS or SHARED_EVENTS. */
    readonly index: number,
    /** PE for a private instance, -1 for a shared event. */
    readonly pe: number,
    private readonly byteOff: number,
  ) {}
  private i(f: { index: number; type: string }): number {
    return this.byteOff / 4 + f.index;
  }
  private d(f: { index: number }): number {
    return this.byteOff / 8 + f.index;
  }
  get state(): number { return Atomics.load(this.fw.m.fw32, this.i(E.STATE)); }
  set state(v: number) { Atomics.store(this.fw.m.fw32, this.i(E.STATE), v); }
  get entry(): number { return this.fw.m.fwF64[this.d(E.ENTRY)]!; }
  set entry(v: number) { this.fw.m.fwF64[this.d(E.ENTRY)] = v; }
  get arg(): number { return this.fw.m.fwF64[this.d(E.ARG)]!; }
  set arg(v: number) { this.fw.m.fwF64[this.d(E.ARG)] = v; }
  get routeMode(): number { return Atomics.load(this.fw.m.fw32, this.i(E.ROUTE_MODE)); }
  set routeMode(v: number) { Atomics.store(this.fw.m.fw32, this.i(E.ROUTE_MODE), v); }
  get routeAff(): number { return Atomics.load(this.fw.m.fw32, this.i(E.ROUTE_AFF)); }
  set routeAff(v: number) { Atomics.store(this.fw.m.fw32, this.i(E.ROUTE_AFF), v); }
  get ownerPe(): number { return Atomics.load(this.fw.m.fw32, this.i(E.OWNER_PE)); }
  set ownerPe(v: number) { Atomics.store(this.fw.m.fw32, this.i(E.OWNER_PE), v); }
  /** The INTID backing the event: static binding, or the dynamic binding (-1 if unbound). */
  get intid(): number {
    return this.def.dynamic ? this.fw.boundIntid(this.def) : this.def.intid;
  }
}

/** A dispatch record (TF-A sdei_dispatch_context_t) of one PE. */
export class DispatchRecord {
  constructor(private readonly m: MachineShared, private readonly byteOff: number) {}
  x(n: number): number { return this.m.fwF64[this.byteOff / 8 + DL.X.index + n]!; }
  setX(n: number, v: number): void { this.m.fwF64[this.byteOff / 8 + DL.X.index + n] = v; }
  get elr(): number { return this.m.fwF64[this.byteOff / 8 + DL.ELR.index]!; }
  set elr(v: number) { this.m.fwF64[this.byteOff / 8 + DL.ELR.index] = v; }
  private gi(f: { index: number }): number { return this.byteOff / 4 + f.index; }
  get spsr(): number { return this.m.fw32[this.gi(DL.SPSR)]!; }
  set spsr(v: number) { this.m.fw32[this.gi(DL.SPSR)] = v; }
  get event(): number { return this.m.fw32[this.gi(DL.EVENT)]!; }
  set event(v: number) { this.m.fw32[this.gi(DL.EVENT)] = v; }
  get intid(): number { return this.m.fw32[this.gi(DL.INTID)]!; }
  set intid(v: number) { this.m.fw32[this.gi(DL.INTID)] = v; }
  get critical(): boolean { return this.m.fw32[this.gi(DL.CRITICAL)] === 1; }
  set critical(v: boolean) { this.m.fw32[this.gi(DL.CRITICAL)] = v ? 1 : 0; }
  get context(): number { return this.m.fw32[this.gi(DL.CONTEXT)]!; }
  set context(v: number) { this.m.fw32[this.gi(DL.CONTEXT)] = v; }
}

export class FirmwareState {
  readonly quirks: ReadonlySet<Quirk>;
  constructor(readonly m: MachineShared, readonly config: FirmwareConfig) {
    this.quirks = new Set(config.quirks);
  }

  quirk(q: Quirk): boolean {
    return this.quirks.has(q);
  }

  private peI(pe: number, f: { index: number }): number {
    return peBlockOffset(this.m.ncpus, pe) / 4 + f.index;
  }
  private peD(pe: number, f: { index: number }): number {
    return peBlockOffset(this.m.ncpus, pe) / 8 + f.index;
  }

  psciEntry(pe: number): number { return this.m.fwF64[this.peD(pe, P.PSCI_ENTRY)]!; }
  psciContext(pe: number): number { return this.m.fwF64[this.peD(pe, P.PSCI_CONTEXT)]!; }
  setPsciOn(pe: number, entry: number, ctx: number): void {
    this.m.fwF64[this.peD(pe, P.PSCI_ENTRY)] = entry;
    this.m.fwF64[this.peD(pe, P.PSCI_CONTEXT)] = ctx;
  }
  wedgedUntil(pe: number): number { return this.m.fwF64[this.peD(pe, P.WEDGED_UNTIL)]!; }
  setWedgedUntil(pe: number, t: number): void { this.m.fwF64[this.peD(pe, P.WEDGED_UNTIL)] = t; }

  suspendKind(pe: number): number { return this.m.fw32[this.peI(pe, P.SUSPEND)]!; }
  suspendEntry(pe: number): number { return this.m.fwF64[this.peD(pe, P.SUSPEND_ENTRY)]!; }
  suspendCtx(pe: number): number { return this.m.fwF64[this.peD(pe, P.SUSPEND_CTX)]!; }
  setSuspend(pe: number, kind: number, entry = 0, ctx = 0): void {
    this.m.fw32[this.peI(pe, P.SUSPEND)] = kind;
    this.m.fwF64[this.peD(pe, P.SUSPEND_ENTRY)] = entry;
    this.m.fwF64[this.peD(pe, P.SUSPEND_CTX)] = ctx;
  }
  /** CPU_SUSPEND: WFI at EL3 until an interrupt is signalled. */
  beginSuspend(core: CpuCore, powerDown: boolean, entry: number, ctx: number): void {
    this.setSuspend(core.cpu, powerDown ? 2 : 1, entry, ctx);
    core.el3StayUntil(Infinity, true);
  }

  masked(pe: number): boolean { return Atomics.load(this.m.fw32, this.peI(pe, P.SDEI_MASKED)) !== 0; }
  /** Sets the PE mask; returns the previous value. */
  setMasked(pe: number, v: boolean): boolean {
    return Atomics.exchange(this.m.fw32, this.peI(pe, P.SDEI_MASKED), v ? 1 : 0) !== 0;
  }
  depth(pe: number): number { return Atomics.load(this.m.fw32, this.peI(pe, P.SDEI_DEPTH)); }
  setDepth(pe: number, d: number): void { Atomics.store(this.m.fw32, this.peI(pe, P.SDEI_DEPTH), d); }
  reenable(pe: number): number { return Atomics.load(this.m.fw32, this.peI(pe, P.SDEI_REENABLE)); }
  setReenable(pe: number, bits: number): void { Atomics.store(this.m.fw32, this.peI(pe, P.SDEI_REENABLE), bits); }

  dispatch(pe: number, depth: number): DispatchRecord {
    if (depth < 0 || depth >= MAX_DISPATCH) throw new Error(`dispatch depth ${depth}`);
    return new DispatchRecord(this.m, dispatchOffset(pe, depth));
  }

  privateEvent(pe: number, i: number): EventInstance {
    return new EventInstance(this, PRIVATE_EVENTS[i]!, i, pe, privateEventOffset(pe, i));
  }
  sharedEvent(i: number): EventInstance {
    return new EventInstance(this, SHARED_EVENTS[i]!, i, -1, sharedEventOffset(i));
  }
  /** The instance a call from PE `pe` acts on for event number `num`, or null if no such event. */
  event(pe: number, num: number): EventInstance | null {
    let i = PRIVATE_EVENTS.findIndex((e) => e.num === num);
    if (i >= 0) return this.privateEvent(pe, i);
    i = SHARED_EVENTS.findIndex((e) => e.num === num);
    if (i >= 0) return this.sharedEvent(i);
    return null;
  }

  private bindSlot(def: EventDef): number {
    const pi = PRIVATE_EVENTS.indexOf(def);
    return pi >= 0 ? pi : PRIVATE_EVENTS.length + SHARED_EVENTS.indexOf(def);
  }
  boundIntid(def: EventDef): number {
    return Atomics.load(this.m.fw32, G.BIND_MAP.index + this.bindSlot(def));
  }
  setBound(def: EventDef, intid: number): void {
    Atomics.store(this.m.fw32, G.BIND_MAP.index + this.bindSlot(def), intid);
  }

  /** The event instance (for PE `pe`) backed by `intid`, or null. */
  eventForIntid(pe: number, intid: number): EventInstance | null {
    for (let i = 0; i < PRIVATE_EVENTS.length; i++) {
      const e = this.privateEvent(pe, i);
      if (e.intid === intid) return e;
    }
    for (let i = 0; i < SHARED_EVENTS.length; i++) {
      const e = this.sharedEvent(i);
      if (e.intid === intid) return e;
    }
    return null;
  }

  /**
   * A short host-level mutex for the shared-event table. Held only inside one
   * atomic EL3 call, never across guest waiting; a contender sleeps in
   * Atomics.wait rather than spinning.
   */
  lock<R>(fn: () => R): R {
    const i = G.LOCK.index;
    const a = this.m.fw32;
    while (Atomics.compareExchange(a, i, 0, 1) !== 0) Atomics.wait(a, i, 1, 5);
    try {
      return fn();
    } finally {
      Atomics.store(a, i, 0);
      Atomics.notify(a, i, 1);
    }
  }
}
